-- chat_seen: what an agent's "seen" needs, in one round trip (read only):
-- the conversation's agent, status and address, and whether the message
-- is the customer's in it.
-- @key  conv    conv:{conversation}
-- @key  msg     msg:{message}
-- @arg  conversation str
-- @arg  message str
-- @reply agent   str
-- @reply status  str
-- @reply channel str
-- @reply address str
-- @reply thread  str
-- @reply msg_conversation str
-- @reply direction str
-- @readonly
local c = redis.call('HMGET', K.conv, 'agent', 'status', 'channel', 'address', 'thread')
local m = redis.call('HMGET', K.msg, 'conversation', 'direction')
return { c[1] or '', c[2] or '', c[3] or '', c[4] or '', c[5] or '', m[1] or '', m[2] or '' }
