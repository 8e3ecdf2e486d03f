-- outbox_due: outbound messages stored (or last tried, or renewed by the
-- node still sending them) longer ago than `after`: due for a resend.
-- @key  outbox  outbox
-- @arg  after   int   ms
-- @arg  most    int
-- @time
-- Returns: { message id, ... }
-- @readonly
return redis.call('ZRANGEBYSCORE', K.outbox, '-inf', NOW - A.after, 'LIMIT', 0, A.most)
