-- callback_set: a waiting customer is promised a callback (the `callback`
-- action of on_max_wait or out_of_hours, docs/routing.md#callbacks): the
-- conversation leaves its queue and is parked, status 'callback', in
-- `callbacks` by the time it is due, atomically; it comes back as an
-- outbound task at that time (callbacks_due.lua), or routes again at once
-- when the customer writes first (callback_answer.lua).
-- @key  conv     conv:{conversation}
-- @key  due      callbacks
-- @arg  conversation str
-- @arg  queue    str   the queue it waits in now
-- @arg  to       str   the queue the callback is offered in
-- @arg  boost    int   added to its priority then (at most 100)
-- @arg  at       int   ms: when it is due (the first slot)
-- @arg  slots    json  [ms, ...]: the times the customer may pick from ('[]': given)
-- @arg  length   int   ms of a slot: a callback no agent took by then is missed
-- @arg  why      str   on_max_wait | out_of_hours
-- @time
-- @lib  queue
-- @lib  report
-- @reply tag     str   'ok' | 'gone' (not waiting there any more)
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'queue', 'channel', 'priority')
if c[1] ~= 'queued' or c[2] ~= A.queue then return { 'gone' } end
Q.rem(A.queue, A.conversation)
local prio = math.min(100, (tonumber(c[4] or '0') or 0) + A.boost)
local slots = cjson.decode(A.slots)
if #slots == 0 then slots = nil end  -- (cjson would write an empty list as {})
redis.call('HSET', ckey, 'status', 'callback', 'callback_state',
  slots and 'offered' or 'scheduled', 'updated_at', NOW,
  'callback', cjson.encode({ at = A.at, slots = slots, queue = A.to,
    priority = prio, length = A.length, why = A.why, set_at = NOW, from = A.queue }))
redis.call('ZADD', K.due, A.at, A.conversation)
redis.call('HINCRBY', P .. 'callbacks:count', 'scheduled', 1)
T.add('q|' .. A.to .. '|' .. (c[3] or '') .. '|callbacks_scheduled', 1)
return { 'ok' }
