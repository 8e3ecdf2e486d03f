-- park: an agent parks (snoozes) a conversation of theirs
-- (docs/agent-protocol.md#park-and-snooze): it leaves their active
-- conversations and frees its unit of capacity, status 'snoozed', until
-- `due_at` or the customer's next message, whichever comes first
-- (unpark.lua brings it back). A live chat cannot be parked: the visitor
-- is on the page.
-- @key  conv    conv:{conversation}
-- @arg  conversation str
-- @arg  agent   str
-- @arg  due_at  int   ms since the epoch (Redis' clock); 0: until the customer writes
-- @arg  in_ms   int   or this many ms from now (0: due_at applies)
-- @arg  max     int   ms ahead a conversation may be parked at most
-- @arg  min     int   ms ahead at least
-- @time
-- @lib  pools
-- @reply tag     str   'ok' | 'not_yours' | 'bad_state' | 'live' | 'bad_time'
-- @reply detail  str   bad_state: the status; ok: the channel
-- @reply due     int   ok: when it comes back at the latest
local c = redis.call('HMGET', K.conv, 'status', 'agent', 'channel')
if c[2] ~= A.agent then return { 'not_yours', '', 0 } end
if c[1] ~= 'assigned' then return { 'bad_state', c[1] or 'unknown', 0 } end
if c[3] == 'webchat' then return { 'live', c[3], 0 } end
local due = A.due_at
if A.in_ms ~= 0 then due = NOW + A.in_ms end
if due == 0 then
  due = NOW + A.max
elseif due < NOW + A.min or due > NOW + A.max then
  return { 'bad_time', '', 0 }
end
local akey = P .. 'agent:' .. A.agent
redis.call('HSET', K.conv, 'status', 'snoozed', 'snooze_agent', A.agent, 'snooze_until', due,
  'snooze_on_reply_only', (A.due_at == 0 and A.in_ms == 0) and '1' or '0', 'snoozed_at', NOW, 'updated_at', NOW,
  'agent', '')
redis.call('SREM', akey .. ':convs', A.conversation)
redis.call('HINCRBY', akey, 'load:' .. c[3], -1)
if tonumber(redis.call('HGET', akey, 'load:' .. c[3])) < 0 then
  redis.call('HSET', akey, 'load:' .. c[3], 0)
end
redis.call('ZADD', P .. 'snoozed', due, A.conversation)
redis.call('ZADD', akey .. ':snoozed', due, A.conversation)
R.refresh(A.agent)
return { 'ok', c[3], due }
