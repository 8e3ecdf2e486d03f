-- conv_mark: record on a waiting conversation that something happened to
-- it (an escalation step, the max-wait action), once.
-- @key  conv   conv:{conversation}
-- @arg  conversation str
-- @arg  field  str
-- @arg  value  str
-- @arg  note   str   JSON appended to 'escalations' ('' none)
-- @arg  tag    str   '' none
-- @time
-- Returns: 1 if recorded now, 0 if it already was (or the conversation moved on)
local ckey = K.conv
if redis.call('HGET', ckey, 'status') ~= 'queued' then return 0 end
if redis.call('HGET', ckey, A.field) == A.value then return 0 end
redis.call('HSET', ckey, A.field, A.value)
if A.note ~= '' then
  local list = cjson.decode(redis.call('HGET', ckey, 'escalations') or '[]')
  local note = cjson.decode(A.note)
  note.at = NOW
  list[#list + 1] = note
  redis.call('HSET', ckey, 'escalations', cjson.encode(list))
end
if A.tag ~= '' then
  local tags = cjson.decode(redis.call('HGET', ckey, 'tags') or '[]')
  tags[#tags + 1] = A.tag
  redis.call('HSET', ckey, 'tags', cjson.encode(tags))
end
return 1
