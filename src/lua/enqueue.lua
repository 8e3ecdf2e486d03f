-- enqueue: put a new conversation in its routing queue as the router
-- decided, and acknowledge its stream event, atomically. Running it twice
-- for one event changes nothing (the stream is at-least-once).
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 stream id ('' if none)  3 conversation  4 queue  5 now (ms)
--       6 consumer group  7 queue score  8 priority  9 skills (JSON)
--       10 language  11 tags (JSON)  12 routing explanation (JSON)
--       13 preferred agent ('' none)  14 preferred until (ms)
--       15 agent selection strategy for this conversation ('' : the queue's)
-- Returns: 1 if queued now, 0 if nothing to do
local P, sid, conv, queue, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ckey = P .. 'conv:' .. conv
local queued = 0
if redis.call('HGET', ckey, 'status') == 'new' then
  redis.call('HSET', ckey, 'status', 'queued', 'queue', queue, 'queued_at', now,
    'score', ARGV[7], 'priority', ARGV[8], 'skills', ARGV[9], 'tags', ARGV[11],
    'routing', ARGV[12], 'updated_at', now)
  if ARGV[10] ~= '' then redis.call('HSET', ckey, 'language', ARGV[10]) end
  if ARGV[15] ~= '' then redis.call('HSET', ckey, 'strategy', ARGV[15]) end
  if ARGV[13] ~= '' then
    redis.call('HSET', ckey, 'prefer_agent', ARGV[13], 'prefer_until', ARGV[14])
  end
  redis.call('ZADD', P .. 'queue:' .. queue, 'NX', ARGV[7], conv)
  redis.call('SADD', P .. 'queues', queue)
  redis.call('ZREM', P .. 'convs:new', conv)
  queued = 1
end
if sid ~= '' then redis.call('XACK', KEYS[1], ARGV[6], sid) end
return queued
