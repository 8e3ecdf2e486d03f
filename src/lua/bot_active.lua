-- bot_active: the customer wrote in a conversation with the bot (or a
-- parked one): it closes after the idle time without another message
-- (bot_idle.lua).
-- @key  idle    bot:idle
-- @arg  conversation str
-- @time
-- Returns: 1
redis.call('ZADD', K.idle, NOW, A.conversation)
return 1
