-- auto_close: a conversation answered automatically (the eliminate quadrant
-- of the value matrix, or a rule's answer): store the answer, close with the
-- trigger as the contact reason (or park it: open, out of every queue, a
-- person takes it if the customer writes again), count the trigger,
-- acknowledge the stream event, atomically.
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 stream id  3 group  4 conversation  5 now  6 day
--       7 answer message id  8 answer text  9 reason  10 routing JSON  11 tags JSON
--       12 close | park  13 queue  14 priority  15 skills JSON  16 language
-- Returns: { 'ok', channel, address, thread } or { 'skip' }
local P, sid, group, conv, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ckey = P .. 'conv:' .. conv
local c = redis.call('HMGET', ckey, 'status', 'channel', 'address', 'thread', 'customer')
if c[1] ~= 'new' then
  if sid ~= '' then redis.call('XACK', KEYS[1], group, sid) end
  return { 'skip' }
end
redis.call('ZREM', P .. 'convs:new', conv)
local mid = ARGV[7]
redis.call('HSET', P .. 'msg:' .. mid, 'id', mid, 'conversation', conv, 'customer', c[5],
  'direction', 'out', 'author', 'system', 'author_id', 'omniroute', 'author_name', '',
  'text', ARGV[8], 'attachments', '[]', 'channel', c[2], 'status', 'queued',
  'kind', 'message', 'meta', '{}', 'created_at', now)
redis.call('RPUSH', ckey .. ':msgs', mid)
redis.call('HINCRBY', ckey, 'msg_count', 1)
if ARGV[12] == 'park' then
  -- the queue, priority and skills routing chose wait for a hand-off
  redis.call('HSET', ckey, 'status', 'parked', 'parked_at', now, 'updated_at', now,
    'routing', ARGV[10], 'tags', ARGV[11], 'queue', ARGV[13], 'priority', ARGV[14],
    'skills', ARGV[15])
  if ARGV[16] ~= '' then redis.call('HSET', ckey, 'language', ARGV[16]) end
else
  redis.call('HSET', ckey, 'status', 'closed', 'closed_at', now, 'ended_at', now,
    'updated_at', now, 'routing', ARGV[10], 'tags', ARGV[11],
    'wrapup', cjson.encode({ reason = ARGV[9], outcome = 'automated', agent = cjson.null, at = tonumber(now) }))
  local okey = P .. 'open:' .. c[2] .. ':' .. c[4]
  if redis.call('GET', okey) == conv then redis.call('DEL', okey) end
  redis.call('ZINCRBY', P .. 'report:outcomes', 1, 'automated')
end
redis.call('ZINCRBY', P .. 'report:reasons', 1, ARGV[9])
redis.call('ZINCRBY', P .. 'report:reasons:' .. ARGV[6], 1, ARGV[9])
redis.call('ZADD', P .. 'report:days', 0, ARGV[6])
if sid ~= '' then redis.call('XACK', KEYS[1], group, sid) end
return { 'ok', c[2], c[3], c[4] }
