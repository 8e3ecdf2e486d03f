-- kpi_state: for GET /metrics, the site's queues and agents in one call:
-- per queue what queues_state.lua counts for the admin API (waiting,
-- oldest queued_at, today's answers and those within the service level,
-- today being Redis' UTC day: report.lib T.sla), per agent the state a
-- wallboard shows. Reads only.
-- @key  queues  queues
-- @arg  nqueues int   how many of the names are queues (the rest: agents)
-- @rest names   queue names, then agent ids
-- @time
-- @lib  report
-- @reply now    int   Redis' clock (ms)
-- @reply queues any   { { waiting, oldest queued_at (0: none), answered, in_sla }, ... }
--                     in the order of the queue names
-- @reply agents any   { state, ... } in the order of the agent ids: 0 offline
--                     (or no session), 1 away, 2 available with no
--                     conversation, 3 available with one or more (busy)
-- @readonly
local queues, agents, names = {}, {}, {}
for i = 1, A.nqueues do names[i] = REST[i] end
local sla = T.sla(names)
for i = 1, A.nqueues do
  local qkey = P .. 'queue:' .. REST[i]
  local oldest = 0
  for _, id in ipairs(redis.call('ZRANGE', qkey, 0, 999)) do
    local at = tonumber(redis.call('HGET', P .. 'conv:' .. id, 'queued_at') or '0')
    if at > 0 and (oldest == 0 or at < oldest) then oldest = at end
  end
  queues[i] = { redis.call('ZCARD', qkey), oldest, sla[i][1], sla[i][2] }
end
for i = A.nqueues + 1, #REST do
  local akey = P .. 'agent:' .. REST[i]
  local a = redis.call('HMGET', akey, 'presence', 'sessions')
  local state = 0
  if tonumber(a[2] or '0') > 0 then
    if a[1] == 'available' then
      state = redis.call('SCARD', akey .. ':convs') > 0 and 3 or 2
    elseif a[1] == 'away' then
      state = 1
    end
  end
  agents[#agents + 1] = state
end
return { NOW, queues, agents }
