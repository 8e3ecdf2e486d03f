-- offers_due: offers whose time is up (any node may expire them).
-- @key  offers  offers
-- @arg  max     int
-- @time
-- Returns: { offer id, ... }
-- @readonly
return redis.call('ZRANGEBYSCORE', K.offers, '-inf', NOW, 'LIMIT', 0, A.max)
