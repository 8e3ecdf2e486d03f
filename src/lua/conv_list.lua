-- conv_list: newest conversations first, optionally of one channel and/or
-- status. Scans at most ARGV[5] entries so a query cannot stall Redis.
-- ARGV: 1 prefix  2 channel or ''  3 status or ''  4 limit  5 scan cap
--       6 before (created_at ms, exclusive) or ''
-- Returns: { { conv hash }, ... }
local P, ch, st = ARGV[1], ARGV[2], ARGV[3]
local limit, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
local idx = P .. 'convs'
if ch ~= '' then idx = P .. 'convs:ch:' .. ch end
local max = '+inf'
if ARGV[6] ~= '' then max = '(' .. ARGV[6] end
local out, scanned, offset = {}, 0, 0
while #out < limit and scanned < cap do
  local ids = redis.call('ZREVRANGEBYSCORE', idx, max, '-inf', 'LIMIT', offset, 100)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    if st == '' or redis.call('HGET', P .. 'conv:' .. id, 'status') == st then
      out[#out + 1] = redis.call('HGETALL', P .. 'conv:' .. id)
      if #out >= limit then break end
    end
  end
end
return out
