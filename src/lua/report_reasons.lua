-- report_reasons: contact reasons and outcomes recorded at wrap-up.
-- ARGV: 1 prefix  2.. days (YYYY-MM-DD); none: all time
-- Returns: { { reason, count, ... }, { outcome, count, ... } }
local P = ARGV[1]
local reasons = {}
if #ARGV < 2 then
  reasons = redis.call('ZREVRANGE', P .. 'report:reasons', 0, -1, 'WITHSCORES')
else
  local sum = {}
  for i = 2, #ARGV do
    local r = redis.call('ZRANGE', P .. 'report:reasons:' .. ARGV[i], 0, -1, 'WITHSCORES')
    for k = 1, #r, 2 do sum[r[k]] = (sum[r[k]] or 0) + tonumber(r[k + 1]) end
  end
  for k, v in pairs(sum) do reasons[#reasons + 1] = k; reasons[#reasons + 1] = tostring(v) end
end
return { reasons, redis.call('ZREVRANGE', P .. 'report:outcomes', 0, -1, 'WITHSCORES') }
