-- enqueue: take one event from the stream and put a new conversation in its
-- routing queue, then acknowledge the event, atomically. Running it twice for
-- one event changes nothing (the stream is at-least-once).
-- ARGV: 1 prefix  2 stream id  3 conversation  4 queue  5 now (ms)
--       6 consumer group
-- Returns: 1 if queued now, 0 if nothing to do
local P, sid, conv, queue, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ckey = P .. 'conv:' .. conv
local queued = 0
if redis.call('HGET', ckey, 'status') == 'new' then
  redis.call('HSET', ckey, 'status', 'queued', 'queue', queue, 'queued_at', now,
    'updated_at', now)
  redis.call('ZADD', P .. 'queue:' .. queue, 'NX', now, conv)
  queued = 1
end
redis.call('XACK', KEYS[1], ARGV[6], sid)
return queued
