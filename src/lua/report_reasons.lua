-- report_reasons: contact reasons and outcomes recorded at wrap-up.
-- @key  reasons  report:reasons
-- @rest days     YYYY-MM-DD; none: all time
-- Returns: { { reason, count, ... }, { outcome, count, ... } }
local reasons = {}
if #REST == 0 then
  reasons = redis.call('ZREVRANGE', K.reasons, 0, -1, 'WITHSCORES')
else
  local sum = {}
  for _, day in ipairs(REST) do
    local r = redis.call('ZRANGE', P .. 'report:reasons:' .. day, 0, -1, 'WITHSCORES')
    for k = 1, #r, 2 do sum[r[k]] = (sum[r[k]] or 0) + tonumber(r[k + 1]) end
  end
  for k, v in pairs(sum) do reasons[#reasons + 1] = k; reasons[#reasons + 1] = tostring(v) end
end
return { reasons, redis.call('ZREVRANGE', P .. 'report:outcomes', 0, -1, 'WITHSCORES') }
