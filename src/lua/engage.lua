-- engage: move a customer's engagement balance, within [min, max], and keep
-- the last changes for agents and the admin API.
-- ARGV: 1 prefix  2 customer  3 points (+/-)  4 event  5 conversation
--       6 now (ms)  7 min  8 max
-- Returns: the new balance
local P, cust, pts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = P .. 'cust:' .. cust
if redis.call('EXISTS', key) == 0 then return 0 end
local b = tonumber(redis.call('HGET', key, 'balance') or '0') + pts
b = math.max(tonumber(ARGV[7]), math.min(tonumber(ARGV[8]), b))
redis.call('HSET', key, 'balance', b)
redis.call('LPUSH', key .. ':engagement', cjson.encode({ at = tonumber(ARGV[6]), event = ARGV[4],
  points = pts, balance = b, conversation = ARGV[5] }))
redis.call('LTRIM', key .. ':engagement', 0, 19)
return b
