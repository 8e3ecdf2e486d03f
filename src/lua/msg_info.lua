-- msg_info: a stored message with its conversation's routing state, for
-- pushing it to the agent who has the conversation.
-- @key  conv    conv:{conversation}
-- @key  msg     msg:{message}
-- @arg  conversation str
-- @arg  message str
-- @reply status  str  the conversation's status (nil: gone)
-- @reply agent   str  '' none
-- @reply message any  the message hash
-- @reply bot     str  '' none
-- @reply language str '' unknown
-- @readonly
local c = redis.call('HMGET', K.conv, 'status', 'agent', 'bot', 'language')
if not c[1] then return {} end
return { c[1], c[2] or '', redis.call('HGETALL', K.msg), c[3] or '', c[4] or '' }
