-- queues_state: for the admin API, per queue: waiting count, oldest wait,
-- answers today and within the SLA, average handling time, agents available.
-- @key  queues  queues
-- @arg  day     str   no longer read: today is Redis' (report.lib T.sla)
-- @rest queues  per queue: name, number of eligible agents, their ids
-- @time
-- @lib  report
-- @reply now    int   Redis' clock (ms)
-- @reply queues any   { { name, waiting, oldest queued_at (0: none), answered,
--                         in_sla, aht, available }, ... }
-- @readonly
local names, i = {}, 1
while i <= #REST do
  names[#names + 1] = REST[i]
  i = i + 2 + tonumber(REST[i + 1])
end
local sla = T.sla(names)
local out = {}
i = 1
while i <= #REST do
  local q = REST[i]
  local na = tonumber(REST[i + 1])
  local qkey = P .. 'queue:' .. q
  local waiting = redis.call('ZCARD', qkey)
  local oldest = 0
  for _, id in ipairs(redis.call('ZRANGE', qkey, 0, 999)) do
    local at = tonumber(redis.call('HGET', P .. 'conv:' .. id, 'queued_at') or '0')
    if at > 0 and (oldest == 0 or at < oldest) then oldest = at end
  end
  local st = sla[#out + 1]
  local aht, n = 0, 0
  for _, v in ipairs(redis.call('LRANGE', qkey .. ':aht', 0, -1)) do aht = aht + tonumber(v); n = n + 1 end
  if n > 0 then aht = math.floor(aht / n) end
  local avail = 0
  for k = 1, na do
    local a = redis.call('HMGET', P .. 'agent:' .. REST[i + 1 + k], 'presence', 'sessions')
    if a[1] == 'available' and tonumber(a[2] or '0') > 0 then avail = avail + 1 end
  end
  out[#out + 1] = { q, waiting, oldest, tonumber(st[1] or '0'), tonumber(st[2] or '0'), aht, avail }
  i = i + 2 + na
end
return { NOW, out }
