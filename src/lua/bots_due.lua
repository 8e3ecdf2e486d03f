-- bots_due: conversations whose bot turn is past its deadline.
-- @key  waiting  bot:waiting
-- @arg  most     int
-- @time
-- Returns: { conversation, ... }
-- @readonly
return redis.call('ZRANGEBYSCORE', K.waiting, '-inf', NOW, 'LIMIT', 0, A.most)
