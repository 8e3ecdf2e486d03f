-- callback_answer: the customer of a parked callback (callback_set.lua)
-- wrote. A number among the slots they were offered picks that slot (the
-- callback moves to it); anything else cancels the callback: the
-- conversation is 'new' again and routed as a new contact. Atomic with the
-- schedule, so a callback coming due at the same moment is either offered
-- or cancelled, never both.
-- @key  conv     conv:{conversation}
-- @key  due      callbacks
-- @arg  conversation str
-- @arg  pick     int   the number the customer answered (0: not a number)
-- @time
-- @lib  report
-- @reply tag     str   'picked' | 'cancelled' | 'gone' (not a parked callback)
-- @reply at      int   picked: the time now promised
-- @reply queue   str   picked: the queue it waited in (whose calendar the slots are of)
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'callback_state', 'callback', 'channel')
if c[1] ~= 'callback' or not c[3] then return { 'gone', 0, '' } end
local cb = cjson.decode(c[3])
local slot = A.pick > 0 and cb.slots and cb.slots[A.pick]
if slot then
  cb.at = slot
  cb.picked = A.pick
  redis.call('HSET', ckey, 'callback', cjson.encode(cb), 'callback_state', 'scheduled',
    'updated_at', NOW)
  redis.call('ZADD', K.due, slot, A.conversation)
  return { 'picked', slot, cb.from or '' }
end
redis.call('ZREM', K.due, A.conversation)
cb.cancelled_at = NOW
redis.call('HSET', ckey, 'status', 'new', 'callback_state', 'cancelled',
  'callback', cjson.encode(cb), 'updated_at', NOW)
redis.call('HDEL', ckey, 'queue', 'queued_at', 'score', 'class')
redis.call('ZADD', P .. 'convs:new', NOW, A.conversation)
redis.call('HINCRBY', P .. 'callbacks:count', 'cancelled', 1)
T.add('q|' .. (cb.queue or '') .. '|' .. (c[4] or '') .. '|callbacks_cancelled', 1)
return { 'cancelled', 0, '' }
