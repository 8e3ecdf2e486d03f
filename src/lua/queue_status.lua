-- queue_status: waiting customers of a queue who are due for a position
-- update, with what an estimate needs.
-- @key  queue    queue:{queue}
-- @arg  queue    str
-- @arg  interval int   ms between updates of one position
-- @arg  max      int   waiting customers looked at
-- @rest agents   agent ids eligible for the queue
-- @time
-- @reply due      any  { { conversation, channel, address, thread, position }, ... }
-- @reply aht      int  average handling time (ms, 0: none yet)
-- @reply available int agents available
local ids = redis.call('ZRANGE', K.queue, 0, A.max - 1)
local due = {}
for i, id in ipairs(ids) do
  local ckey = P .. 'conv:' .. id
  local c = redis.call('HMGET', ckey, 'channel', 'address', 'thread', 'status_at', 'status_pos',
    'status')
  local last = tonumber(c[4] or '0')
  if c[6] == 'queued' and (NOW - last >= A.interval or tonumber(c[5] or '0') ~= i) then
    due[#due + 1] = { id, c[1] or '', c[2] or '', c[3] or '', i }
    redis.call('HSET', ckey, 'status_at', NOW, 'status_pos', i)
  end
end
local aht, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', K.queue .. ':aht', 0, -1)) do
  aht = aht + tonumber(v); n = n + 1
end
if n > 0 then aht = math.floor(aht / n) end
local avail = 0
for _, id in ipairs(REST) do
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'presence', 'sessions')
  if a[1] == 'available' and tonumber(a[2] or '0') > 0 then avail = avail + 1 end
end
return { due, aht, avail }
