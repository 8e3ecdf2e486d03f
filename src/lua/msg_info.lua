-- msg_info: a stored message with its conversation's routing state, for
-- pushing it to the agent who has the conversation.
-- ARGV: 1 prefix  2 conversation  3 message
-- Returns: { status, agent, msg hash, bot } or {}
local P = ARGV[1]
local c = redis.call('HMGET', P .. 'conv:' .. ARGV[2], 'status', 'agent', 'bot')
if not c[1] then return {} end
return { c[1], c[2] or '', redis.call('HGETALL', P .. 'msg:' .. ARGV[3]), c[3] or '' }
