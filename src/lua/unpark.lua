-- unpark: a parked (snoozed) conversation comes back, once: its time came
-- (parked_due.lua finds it; whichever node calls first brings it), the
-- customer wrote, or its agent takes it back early. It goes to the agent
-- who parked it while they are logged in (counted against their capacity
-- again, even above it: it is theirs), else to its queue, waiting for
-- that agent first for `prefer` ms.
-- @key  conv    conv:{conversation}
-- @arg  conversation str
-- @arg  why     str   time | answer | agent
-- @arg  agent   str   why agent: who asks ('' otherwise)
-- @arg  prefer  int   ms the requeued conversation waits for its agent
-- @time
-- @lib  queue
-- @lib  pools
-- @lib  report
-- @reply tag    str   'assigned' | 'queued' | 'none' (not parked, or not yet due) | 'not_yours'
-- @reply agent  str   who parked it
-- @reply queue  str
-- @reply channel str
local c = redis.call('HMGET', K.conv, 'status', 'snooze_agent', 'queue', 'channel', 'score',
  'snooze_until')
local owner = c[2] or ''
if c[1] ~= 'snoozed' then
  redis.call('ZREM', P .. 'snoozed', A.conversation)
  if owner ~= '' then redis.call('ZREM', P .. 'agent:' .. owner .. ':snoozed', A.conversation) end
  return { 'none', owner, '', '' }
end
if A.why == 'agent' and A.agent ~= owner then return { 'not_yours', '', '', '' } end
if A.why == 'time' and tonumber(c[6] or '0') > NOW then return { 'none', owner, '', '' } end
local akey = P .. 'agent:' .. owner
redis.call('ZREM', P .. 'snoozed', A.conversation)
redis.call('ZREM', akey .. ':snoozed', A.conversation)
redis.call('HDEL', K.conv, 'snooze_agent', 'snooze_until', 'snooze_on_reply_only')
redis.call('HSET', K.conv, 'unsnoozed_at', NOW, 'unsnoozed_by', A.why, 'updated_at', NOW)
local a = redis.call('HMGET', akey, 'presence', 'sessions')
if a[1] and a[1] ~= 'offline' and tonumber(a[2] or '0') > 0 then
  redis.call('HSET', K.conv, 'status', 'assigned', 'agent', owner)
  redis.call('SADD', akey .. ':convs', A.conversation)
  redis.call('HINCRBY', akey, 'load:' .. c[4], 1)
  R.refresh(owner)
  return { 'assigned', owner, c[3] or '', c[4] or '' }
end
redis.call('HSET', K.conv, 'status', 'queued', 'agent', '', 'prefer_agent', owner,
  'prefer_until', NOW + A.prefer, 'requeued_at', NOW)
Q.add(c[3], tonumber(c[5] or '') or NOW, A.conversation)
T.queued(c[3], c[4])
return { 'queued', owner, c[3] or '', c[4] or '' }
