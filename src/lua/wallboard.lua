-- wallboard: what the supervisors' screen shows, in one call (reads only):
-- per queue the waiting conversations (the first few, with when they were
-- queued and why they are in the queue), today's service level and bot
-- results; per agent the state, since when, the conversations and the
-- load per channel. Today is Redis' UTC day (report.lib).
-- @key  queues  queues
-- @arg  nqueues  int  how many of the names are queues (the rest: agents)
-- @arg  list     int  at most this many waiting conversations per queue
-- @arg  channels str  the channels, comma separated (today's bot results)
-- @arg  totals   bool today's service level and bot results too (they
--                     read every bucket of the day: asked for now and then)
-- @rest names    queue names, then agent ids
-- @time
-- @lib  report
-- @reply now    int   Redis' clock (ms)
-- @reply queues any   per queue: { name, waiting, oldest queued_at among the
--                     first 200 (0: none), answered, in_sla, bot_contained,
--                     (those four 0 without totals)
--                     bot_handoffs, { { id, channel, queued_at, priority,
--                     customer name, routing JSON }, ... } }
-- @reply agents any   per agent: { id, presence, sessions, presence_at, missed,
--                     { conversation ids }, { 'load:<channel>', n, ... } }
-- @readonly
local names, chans = {}, {}
for i = 1, A.nqueues do names[i] = REST[i] end
for c in string.gmatch(A.channels, '[^,]+') do chans[#chans + 1] = c end
local sla = {}
if A.totals then
  sla = T.sla(names)
else
  for i = 1, #names do sla[i] = { 0, 0 } end
end

-- today's bot results per queue: one HMGET per bucket of today
local bot, fields = {}, {}
for i, q in ipairs(names) do
  bot[i] = { 0, 0 }
  for _, c in ipairs(chans) do
    fields[#fields + 1] = 'q|' .. q .. '|' .. c .. '|bot_contained'
    fields[#fields + 1] = 'q|' .. q .. '|' .. c .. '|bot_handoffs'
  end
end
if #fields > 0 and A.totals then
  for at = NOW - NOW % 86400000, NOW, T.BUCKET do
    local v = redis.call('HMGET', P .. T.bucket(at), unpack(fields))
    for i = 1, #names do
      for k = 1, #chans do
        local j = ((i - 1) * #chans + k - 1) * 2
        bot[i][1] = bot[i][1] + (tonumber(v[j + 1]) or 0)
        bot[i][2] = bot[i][2] + (tonumber(v[j + 2]) or 0)
      end
    end
  end
end

local queues = {}
for i = 1, A.nqueues do
  local qkey = P .. 'queue:' .. REST[i]
  local list, oldest = {}, 0
  for n, id in ipairs(redis.call('ZRANGE', qkey, 0, math.max(A.list, 200) - 1)) do
    local queued
    if n <= A.list then
      local c = redis.call('HMGET', P .. 'conv:' .. id, 'queued_at', 'channel', 'priority',
        'customer', 'routing')
      local name = c[4] and redis.call('HGET', P .. 'cust:' .. c[4], 'name') or false
      list[#list + 1] = { id, c[2] or '', tonumber(c[1] or '0') or 0, tonumber(c[3] or '0') or 0,
        name or '', c[5] or '' }
      queued = c[1]
    else
      queued = redis.call('HGET', P .. 'conv:' .. id, 'queued_at')
    end
    local at = tonumber(queued or '0') or 0
    if at > 0 and (oldest == 0 or at < oldest) then oldest = at end
  end
  queues[i] = { REST[i], redis.call('ZCARD', qkey), oldest, sla[i][1], sla[i][2], bot[i][1],
    bot[i][2], list }
end

local agents = {}
for i = A.nqueues + 1, #REST do
  local akey = P .. 'agent:' .. REST[i]
  local a = redis.call('HMGET', akey, 'presence', 'sessions', 'presence_at', 'missed')
  local load = {}
  local h = redis.call('HGETALL', akey)
  for k = 1, #h, 2 do
    if string.sub(h[k], 1, 5) == 'load:' then
      load[#load + 1] = h[k]
      load[#load + 1] = h[k + 1]
    end
  end
  agents[#agents + 1] = { REST[i], a[1] or 'offline', tonumber(a[2] or '0') or 0,
    tonumber(a[3] or '0') or 0, tonumber(a[4] or '0') or 0,
    redis.call('SMEMBERS', akey .. ':convs'), load }
end
return { NOW, queues, agents }
