-- offers_due: offers whose time is up (any node may expire them).
-- ARGV: 1 prefix  2 now (ms)  3 max
-- Returns: { offer id, ... }
return redis.call('ZRANGEBYSCORE', ARGV[1] .. 'offers', '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
