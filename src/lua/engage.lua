-- engage: move a customer's engagement balance, within [min, max], and keep
-- the last changes for agents and the admin API.
-- @key  cust   cust:{customer}
-- @arg  customer str
-- @arg  points int   +/-
-- @arg  event  str
-- @arg  conversation str
-- @arg  min    int
-- @arg  max    int
-- @time
-- Returns: the new balance
local key = K.cust
if redis.call('EXISTS', key) == 0 then return 0 end
local b = tonumber(redis.call('HGET', key, 'balance') or '0') + A.points
b = math.max(A.min, math.min(A.max, b))
redis.call('HSET', key, 'balance', b)
redis.call('LPUSH', key .. ':engagement', cjson.encode({ at = NOW, event = A.event,
  points = A.points, balance = b, conversation = A.conversation }))
redis.call('LTRIM', key .. ':engagement', 0, 19)
return b
