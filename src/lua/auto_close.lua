-- auto_close: a conversation answered automatically (the eliminate quadrant
-- of the value matrix, or a rule's answer): store the answer, close with the
-- trigger as the contact reason (or park it: open, out of every queue, a
-- person takes it if the customer writes again), count the trigger,
-- acknowledge the stream event, atomically.
-- @key  stream   events
-- @key  conv     conv:{conversation}
-- @arg  entry    str   stream entry id ('' none)
-- @arg  group    str   consumer group
-- @arg  conversation str
-- @arg  day      str   no longer read (report.lib: Redis' clock); kept for the callers
-- @arg  message  str   new message id of the answer
-- @arg  text     str   the answer
-- @arg  reason   str   the contact reason (the trigger)
-- @arg  routing  json  the routing explanation
-- @arg  tags     json
-- @arg  park     bool  park instead of close
-- @arg  queue    str   the queue routing chose (for a later hand-off)
-- @arg  priority int
-- @arg  skills   json
-- @arg  language str   '' none
-- @time
-- @reply tag     str   'ok' | 'skip'
-- @reply channel str
-- @reply address str
-- @reply thread  str
-- @lib  report
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'channel', 'address', 'thread', 'customer')
if c[1] ~= 'new' then
  if A.entry ~= '' then redis.call('XACK', K.stream, A.group, A.entry) end
  return { 'skip' }
end
redis.call('ZREM', P .. 'convs:new', A.conversation)
local mid = A.message
redis.call('HSET', P .. 'msg:' .. mid, 'id', mid, 'conversation', A.conversation,
  'customer', c[5], 'direction', 'out', 'author', 'system', 'author_id', 'omniroute',
  'author_name', '', 'text', A.text, 'attachments', '[]', 'channel', c[2], 'status', 'queued',
  'kind', 'message', 'meta', '{}', 'created_at', NOW)
redis.call('RPUSH', ckey .. ':msgs', mid)
redis.call('HINCRBY', ckey, 'msg_count', 1)
if A.park then
  -- the queue, priority and skills routing chose wait for a hand-off
  redis.call('HSET', ckey, 'status', 'parked', 'parked_at', NOW, 'updated_at', NOW,
    'routing', A.routing, 'tags', A.tags, 'queue', A.queue, 'priority', A.priority,
    'skills', A.skills)
  if A.language ~= '' then redis.call('HSET', ckey, 'language', A.language) end
else
  redis.call('HSET', ckey, 'status', 'closed', 'closed_at', NOW, 'ended_at', NOW,
    'updated_at', NOW, 'routing', A.routing, 'tags', A.tags,
    'wrapup', cjson.encode({ reason = A.reason, outcome = 'automated', agent = cjson.null,
                             at = NOW }))
  local okey = P .. 'open:' .. c[2] .. ':' .. c[4]
  if redis.call('GET', okey) == A.conversation then redis.call('DEL', okey) end
end
-- the trigger counts either way; the outcome when it is closed
T.closed(A.queue, c[2], A.reason, A.park and '' or 'automated')
if A.entry ~= '' then redis.call('XACK', K.stream, A.group, A.entry) end
return { 'ok', c[2], c[3], c[4] }
