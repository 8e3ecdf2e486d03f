-- queue_status: waiting customers of a queue who are due for a position
-- update, with what an estimate needs. A customer is due when their band
-- of positions (1 to 10 each, then up to 20, 50, 100, 200, 500, then by
-- 500) or the band of their estimate in minutes changed since they were
-- last told, or when they have not been told for interval ms. What each was
-- told is kept in queue:{queue}:told (conversation -> band:minutes:when),
-- so a pass reads one hash, not one per customer; Q.rem forgets it.
-- @key  queue    queue:{queue}
-- @arg  queue    str
-- @arg  interval int   ms between updates of one position
-- @arg  max      int   waiting customers looked at
-- @arg  default_aht int average handling time (ms) before there is one
-- @arg  counted bool  the agents are counted (not sent when nobody waited
--                     at the last pass: then -1 asks for them)
-- @rest agents   agent ids eligible for the queue
-- @time
-- @lib  queue
-- @reply due      any  { { conversation, channel, address, thread, position }, ... }
-- @reply aht      int  average handling time (ms, 0: none yet)
-- @reply available int agents available (-1: call again with the agents)
-- @reply waiting  int  customers looked at (0: nobody waits)
local aht, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', K.queue .. ':aht', 0, -1)) do
  aht = aht + tonumber(v); n = n + 1
end
if n > 0 then aht = math.floor(aht / n) end
local ids = redis.call('ZRANGE', K.queue, 0, A.max - 1)
-- nobody waits: nothing to tell, and no agent to count; somebody waits
-- but the agents were not sent (nobody waited last time): ask for them
if #ids == 0 then return { {}, aht, 0, 0 } end
if #REST == 0 and A.counted then return { {}, aht, -1, #ids } end
local avail = 0
for _, id in ipairs(REST) do
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'presence', 'sessions')
  if a[1] == 'available' and tonumber(a[2] or '0') > 0 then avail = avail + 1 end
end
-- x itself up to `exact`, then the first of steps it fits under, then
-- whole multiples of `every`
local function banded(x, exact, steps, every)
  if x <= exact then return x end
  for _, b in ipairs(steps) do
    if x <= b then return b end
  end
  return math.ceil(x / every) * every
end
local function band(pos) return banded(pos, 10, { 20, 50, 100, 200, 500 }, 500) end
-- the estimate as omr_route_eta computes it, in whole minutes, banded
-- too (each minute to 10, then 15, 20, 30, 45, 60, 90, 120, then hours):
-- a long wait does not change with every place gained
local per = n > 0 and aht or A.default_aht
local function minutes(pos)
  return banded(math.ceil(pos * per / math.max(avail, 1) / 60000), 10,
    { 15, 20, 30, 45, 60, 90, 120 }, 60)
end
local told = K.queue .. ':told'
local due = {}
local was = redis.call('HMGET', told, unpack(ids))
for i, id in ipairs(ids) do
  local b0, m0, at = string.match(was[i] or '', '^(%d+):(%d+):(%d+)$')
  local b, m = band(i), minutes(i)
  if tonumber(b0) ~= b or tonumber(m0) ~= m or NOW - tonumber(at or '0') >= A.interval then
    local c = redis.call('HMGET', P .. 'conv:' .. id, 'channel', 'address', 'thread', 'status')
    if c[4] == 'queued' then
      due[#due + 1] = { id, c[1] or '', c[2] or '', c[3] or '', i }
      redis.call('HSET', told, id, b .. ':' .. m .. ':' .. NOW)
    end
  end
end
return { due, aht, avail, #ids }
