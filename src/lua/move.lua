-- move: a waiting conversation goes to another queue (overflow, escalation,
-- or a new decision after a reload), keeping its age.
-- ARGV: 1 prefix  2 conversation  3 from queue  4 to queue  5 new score
--       6 now  7 note JSON (appended to 'escalations')  8 fields JSON
--       (routing, skills, priority, language to set; '{}' none)
-- Returns: 1 moved, 0 not waiting there any more
local P, conv, from, to = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ckey = P .. 'conv:' .. conv
local c = redis.call('HMGET', ckey, 'status', 'queue')
if c[1] ~= 'queued' or c[2] ~= from then return 0 end
redis.call('ZREM', P .. 'queue:' .. from, conv)
redis.call('ZADD', P .. 'queue:' .. to, ARGV[5], conv)
redis.call('SADD', P .. 'queues', to)
redis.call('HSET', ckey, 'queue', to, 'score', ARGV[5], 'updated_at', ARGV[6])
for k, v in pairs(cjson.decode(ARGV[8])) do
  if type(v) == 'table' then v = cjson.encode(v) end
  redis.call('HSET', ckey, k, tostring(v))
end
if ARGV[7] ~= '' then
  local list = cjson.decode(redis.call('HGET', ckey, 'escalations') or '[]')
  list[#list + 1] = cjson.decode(ARGV[7])
  redis.call('HSET', ckey, 'escalations', cjson.encode(list))
end
return 1
