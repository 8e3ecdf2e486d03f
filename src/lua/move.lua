-- move: a waiting conversation goes to another queue (overflow, escalation,
-- or a new decision after a reload), keeping its age.
-- @key  conv    conv:{conversation}
-- @arg  conversation str
-- @arg  from    str   the queue it waits in
-- @arg  to      str
-- @arg  score   int   its score there
-- @arg  note    str   JSON appended to 'escalations' ('' none)
-- @arg  fields  json  routing, skills, priority, language to set ('{}' none)
-- @time
-- @lib  queue
-- @lib  report
-- Returns: 1 moved, 0 not waiting there any more
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'queue', 'channel')
if c[1] ~= 'queued' or c[2] ~= A.from then return 0 end
Q.rem(A.from, A.conversation)
redis.call('HSET', ckey, 'queue', A.to, 'score', A.score, 'updated_at', NOW)
for k, v in pairs(cjson.decode(A.fields)) do
  if type(v) == 'table' then v = cjson.encode(v) end
  if k == 'routing' and type(v) == 'string' then
    local r = cjson.decode(v)
    r.reevaluated_at = NOW
    v = cjson.encode(r)
  end
  redis.call('HSET', ckey, k, tostring(v))
end
Q.add(A.to, A.score, A.conversation)
if A.to ~= A.from then T.moved(A.from, A.to, c[3]) end
if A.note ~= '' then
  local list = cjson.decode(redis.call('HGET', ckey, 'escalations') or '[]')
  local note = cjson.decode(A.note)
  note.at = NOW
  list[#list + 1] = note
  redis.call('HSET', ckey, 'escalations', cjson.encode(list))
end
return 1
