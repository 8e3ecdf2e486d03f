-- bot_end: the bot tier is done with a conversation: it hands it to people
-- (into a queue, keeping the time the customer already spent; a parked
-- conversation too) or resolves
-- it (closed, with the contact reason counted), atomically.
-- ARGV: 1 prefix  2 how: handoff | resolve  3 conversation  4 now  5 day
--   handoff: 6 queue ('' : the one routing chose)  7 aging (ms per priority point)
--            8 skills JSON (merged in)  9 note JSON (into routing.handoff)
--            10 fallback queue (when the conversation has none)
--            11 tag added (bot_handoff, auto_answer_followup)
--   resolve: 6 reason  7 wrapup JSON
-- Returns: handoff: { 'ok', position in the queue, average handling time (ms, 0: none) }
--          resolve: { 'ok' } ; or { 'gone' } when it is no longer with the bot
local P, how, conv, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ckey = P .. 'conv:' .. conv
local c = redis.call('HMGET', ckey, 'status', 'channel', 'thread', 'routing', 'skills', 'tags',
  'queue', 'priority', 'created_at')
-- a parked conversation (an automatic answer) is handed over the same way
if c[1] ~= 'bot' and not (c[1] == 'parked' and how == 'handoff') then return { 'gone' } end
if how == 'resolve' then
  redis.call('HSET', ckey, 'status', 'closed', 'closed_at', now, 'ended_at', now,
    'updated_at', now, 'wrapup', ARGV[7])
  local okey = P .. 'open:' .. c[2] .. ':' .. c[3]
  if redis.call('GET', okey) == conv then redis.call('DEL', okey) end
  redis.call('ZINCRBY', P .. 'report:reasons', 1, ARGV[6])
  redis.call('ZINCRBY', P .. 'report:reasons:' .. ARGV[5], 1, ARGV[6])
  redis.call('ZINCRBY', P .. 'report:outcomes', 1, 'resolved by bot')
  redis.call('ZADD', P .. 'report:days', 0, ARGV[5])
  return { 'ok' }
end
local queue = ARGV[6]
if queue == '' then queue = c[7] or '' end
if queue == '' then queue = ARGV[10] end
-- the time spent with the bot counts as waiting; after an automatic
-- answer the customer waits from now
local since = c[9] or now
if c[1] == 'parked' then since = now end
local score = tonumber(since) - tonumber(c[8] or '50') * tonumber(ARGV[7])
local skills = cjson.decode(c[5] or '{}')
for k, v in pairs(cjson.decode(ARGV[8])) do
  if not skills[k] or skills[k] < v then skills[k] = v end
end
local routing = cjson.decode(c[4] or '{}')
routing.handoff = cjson.decode(ARGV[9])
local tags = cjson.decode(c[6] or '[]')
tags[#tags + 1] = ARGV[11]
redis.call('HSET', ckey, 'status', 'queued', 'queue', queue, 'queued_at', now,
  'score', score, 'skills', cjson.encode(skills), 'routing', cjson.encode(routing),
  'tags', cjson.encode(tags), 'handoff_at', now, 'updated_at', now)
redis.call('ZADD', P .. 'queue:' .. queue, score, conv)
redis.call('SADD', P .. 'queues', queue)
local pos = redis.call('ZRANK', P .. 'queue:' .. queue, conv)
local aht, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', P .. 'queue:' .. queue .. ':aht', 0, -1)) do
  aht = aht + tonumber(v); n = n + 1
end
if n > 0 then aht = math.floor(aht / n) end
return { 'ok', (pos or 0) + 1, aht }
