-- bot_deadline: a turn given to the bot must be answered by a deadline
-- (bot:waiting, on Redis' clock so that any node can act on it); cleared
-- when the bot answers or the conversation leaves the bot.
-- @key  waiting  bot:waiting
-- @arg  conversation str
-- @arg  timeout  int   ms from now; 0: clear the deadline
-- @time
-- Returns: 1
if A.timeout > 0 then
  redis.call('ZADD', K.waiting, NOW + A.timeout, A.conversation)
else
  redis.call('ZREM', K.waiting, A.conversation)
end
return 1
