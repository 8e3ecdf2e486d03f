-- report_get: the figures of some UTC days for the historical reports
-- (report.lib), per day or per 15-minute bucket. A day that is over (by
-- Redis' clock, a minute past its end) is read from stats:<day>, which the
-- first report to ask for it makes from the day's 96 buckets and keeps as
-- long as they would have been kept; today is summed from its buckets so
-- far. Days whose buckets have expired, and days to come, are empty. One
-- call reads at most about a day's worth of buckets that hold anything
-- (96) and answers how many of the days asked it did: the caller asks
-- again for the rest, so that no call holds Redis long.
-- @key  site    queues
-- @arg  detail  int   0: per day; 1: per bucket (the buckets that hold anything)
-- @arg  only    str   the kinds of field wanted, by their first letter ('qs':
--                     queues and service level); '': all
-- @arg  low     int   balances below this are at risk
-- @arg  risk    int   also count the customers at risk and list this many of
--                     the lowest; 0: not
-- @rest days    day numbers (days since 1970-01-01, UTC)
-- @time
-- @lib  report
-- @reply now    int   Redis' clock (ms)
-- @reply days   any   per day asked (detail 0): { day, { field, value, ... } };
--                     per bucket (detail 1): { bucket start (ms), { field, value, ... } }
-- @reply at_risk int  customers whose balance is below low (risk > 0)
-- @reply lowest any   { customer, balance, name, ... } the lowest balances below low
-- @reply done   int   how many of the days asked are answered (the first ones)
local DAY = 86400000
local keep = {}
for ch in string.gmatch(A.only, '.') do keep[ch] = true end

-- the wanted fields of a flat { field, value, ... } as strings
local function wanted(h)
  local r = {}
  for i = 1, #h, 2 do
    if h[i] ~= '_' and (A.only == '' or keep[string.sub(h[i], 1, 1)]) then
      r[#r + 1] = h[i]
      r[#r + 1] = tostring(h[i + 1])
    end
  end
  return r
end

local BUDGET = 96
local out, done, read = {}, 0, 0
for _, d in ipairs(REST) do
  if read >= BUDGET then break end
  done = done + 1
  local day = math.floor(tonumber(d) or 0)
  local start = day * DAY
  local last = math.min(start + DAY - 1, NOW)
  local alive = start + T.TTL * 1000 > NOW
  if A.detail == 1 then
    for b = start, alive and last or start - 1, T.BUCKET do
      local h = redis.call('HGETALL', P .. T.bucket(b))
      if #h > 0 then
        read = read + 1
        out[#out + 1] = { b, wanted(h) }
      end
    end
  else
    local h = {}
    local dkey = P .. 'stats:' .. T.civil(day)
    local over = NOW >= start + DAY + 60000
    if alive and over and redis.call('EXISTS', dkey) == 1 then
      h = redis.call('HGETALL', dkey)
    elseif alive and start <= NOW then
      local sum = {}
      for b = start, last, T.BUCKET do
        local bh = redis.call('HGETALL', P .. T.bucket(b))
        if #bh > 0 then read = read + 1 end
        for i = 1, #bh, 2 do sum[bh[i]] = (sum[bh[i]] or 0) + (tonumber(bh[i + 1]) or 0) end
      end
      for k, v in pairs(sum) do
        h[#h + 1] = k
        h[#h + 1] = v
      end
      if over then
        -- the day no longer changes: kept whole ('_' marks a day with
        -- nothing), in pieces that Lua's unpack takes
        local args = { '_', 1 }
        for i = 1, #h, 2 do
          args[#args + 1] = h[i]
          args[#args + 1] = h[i + 1]
          if #args >= 1000 then
            redis.call('HSET', dkey, unpack(args))
            args = {}
          end
        end
        if #args > 0 then redis.call('HSET', dkey, unpack(args)) end
        redis.call('EXPIREAT', dkey, math.floor(start / 1000) + T.TTL)
      end
    end
    out[#out + 1] = { day, wanted(h) }
  end
end

local count, lowest = 0, {}
if A.risk > 0 then
  local key = P .. 'balances:negative'
  count = redis.call('ZCOUNT', key, '-inf', '(' .. A.low)
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. A.low, 'WITHSCORES',
    'LIMIT', 0, A.risk)) do
    lowest[#lowest + 1] = c
  end
  -- { customer, balance, name, ... }
  local named = {}
  for i = 1, #lowest, 2 do
    named[#named + 1] = lowest[i]
    named[#named + 1] = lowest[i + 1]
    named[#named + 1] = redis.call('HGET', P .. 'cust:' .. lowest[i], 'name') or ''
  end
  lowest = named
end
return { NOW, out, count, lowest, done }
