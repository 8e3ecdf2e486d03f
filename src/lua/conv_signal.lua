-- conv_signal: what a web chat visitor's page tells without a message
-- (docs/channels/webchat.md#typing-and-seen): "typing" names the agent
-- of the open conversation of the thread, to be told; "seen" marks one of
-- the agent's messages of that conversation read (statuses only move
-- forward, as msg_status.lua does), never a message of another
-- conversation or one the customer wrote.
-- @key  open    open:{channel}:{thread}
-- @key  outbox  outbox
-- @arg  channel str
-- @arg  thread  str
-- @arg  signal  str   typing | seen
-- @arg  message str   seen: the message id ('' for typing)
-- @time
-- @reply tag    str   'ok' | 'none' (no open conversation with an agent, or
--                     not a message of it, or seen already)
-- @reply conversation str
-- @reply agent  str
-- @reply hash   any   seen: the message hash
local conv = redis.call('GET', K.open)
if not conv then return { 'none' } end
local c = redis.call('HMGET', P .. 'conv:' .. conv, 'status', 'agent')
if (c[1] ~= 'assigned' and c[1] ~= 'wrapup') or not c[2] or c[2] == '' then
  return { 'none' }
end
if A.signal == 'typing' then return { 'ok', conv, c[2] } end
local key = P .. 'msg:' .. A.message
local m = redis.call('HMGET', key, 'conversation', 'direction', 'status')
if m[1] ~= conv or m[2] ~= 'out' then return { 'none' } end
if m[3] == 'read' then return { 'none' } end
redis.call('HSET', key, 'status', 'read', 'status_at', NOW)
redis.call('ZREM', K.outbox, A.message)
return { 'ok', conv, c[2], redis.call('HGETALL', key) }
