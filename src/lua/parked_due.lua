-- parked_due: the parked conversations whose time came (read only);
-- unpark.lua brings each back once, whichever node asks first.
-- @key  snoozed snoozed
-- @arg  limit   int   at most this many a call
-- @time
-- @reply due    any   { conversation ids }
-- @readonly
return { redis.call('ZRANGEBYSCORE', K.snoozed, '-inf', NOW, 'LIMIT', 0, A.limit) }
