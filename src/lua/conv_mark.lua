-- conv_mark: record on a waiting conversation that something happened to
-- it (an escalation step, the max-wait action), once.
-- ARGV: 1 prefix  2 conversation  3 field  4 value  5 note JSON  6 tag ('' none)
-- Returns: 1 if recorded now, 0 if it already was (or the conversation moved on)
local P, conv, field, value = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ckey = P .. 'conv:' .. conv
if redis.call('HGET', ckey, 'status') ~= 'queued' then return 0 end
if redis.call('HGET', ckey, field) == value then return 0 end
redis.call('HSET', ckey, field, value)
if ARGV[5] ~= '' then
  local list = cjson.decode(redis.call('HGET', ckey, 'escalations') or '[]')
  list[#list + 1] = cjson.decode(ARGV[5])
  redis.call('HSET', ckey, 'escalations', cjson.encode(list))
end
if ARGV[6] ~= '' then
  local tags = cjson.decode(redis.call('HGET', ckey, 'tags') or '[]')
  tags[#tags + 1] = ARGV[6]
  redis.call('HSET', ckey, 'tags', cjson.encode(tags))
end
return 1
