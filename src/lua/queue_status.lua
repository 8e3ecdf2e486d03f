-- queue_status: waiting customers of a queue who are due for a position
-- update, with what an estimate needs.
-- ARGV: 1 prefix  2 queue  3 now (ms)  4 interval (ms)  5 max entries
--       6.. agent ids eligible for the queue
-- Returns: { { conversation, channel, address, thread, position }, ... },
--          average handling time (ms, 0: none yet), agents available
local P, queue, now, interval = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGE', P .. 'queue:' .. queue, 0, tonumber(ARGV[5]) - 1)
local due = {}
for i, id in ipairs(ids) do
  local ckey = P .. 'conv:' .. id
  local c = redis.call('HMGET', ckey, 'channel', 'address', 'thread', 'status_at', 'status_pos',
    'status')
  local last = tonumber(c[4] or '0')
  if c[6] == 'queued' and (now - last >= interval or tonumber(c[5] or '0') ~= i) then
    due[#due + 1] = { id, c[1] or '', c[2] or '', c[3] or '', i }
    redis.call('HSET', ckey, 'status_at', now, 'status_pos', i)
  end
end
local aht, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', P .. 'queue:' .. queue .. ':aht', 0, -1)) do
  aht = aht + tonumber(v); n = n + 1
end
if n > 0 then aht = math.floor(aht / n) end
local avail = 0
for i = 6, #ARGV do
  local a = redis.call('HMGET', P .. 'agent:' .. ARGV[i], 'presence', 'sessions')
  if a[1] == 'available' and tonumber(a[2] or '0') > 0 then avail = avail + 1 end
end
return { due, aht, avail }
