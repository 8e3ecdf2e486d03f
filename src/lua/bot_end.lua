-- bot_end: the bot tier is done with a conversation: it hands it to people
-- (into a queue, keeping the time the customer already spent; a parked
-- conversation too) or resolves it (closed, with the contact reason
-- counted), atomically.
-- @key  conv     conv:{conversation}
-- @arg  how      str   handoff | resolve
-- @arg  conversation str
-- @arg  day      str   no longer read (report.lib: Redis' clock); kept for the callers
-- @arg  queue    str   handoff: the bot's queue ('' : the one routing chose)
-- @arg  aging    int   handoff: ms per priority point
-- @arg  skills   json  handoff: skills merged in
-- @arg  note     json  handoff: into routing.handoff
-- @arg  fallback str   handoff: the queue when the conversation has none
-- @arg  tag      str   handoff: tag added (bot_handoff, auto_answer_followup)
-- @arg  reason   str   resolve: the contact reason
-- @arg  wrapup   json  resolve: the wrap-up
-- @time
-- @reply tag      str  'ok' | 'gone' (no longer with the bot)
-- @reply position int  handoff: place in the queue
-- @reply aht      int  handoff: average handling time of the queue (ms, 0: none)
-- @lib  queue
-- @lib  report
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'channel', 'thread', 'routing', 'skills', 'tags',
  'queue', 'priority', 'created_at')
-- a parked conversation (an automatic answer) is handed over the same way
if c[1] ~= 'bot' and not (c[1] == 'parked' and A.how == 'handoff') then return { 'gone' } end
if A.how == 'resolve' then
  redis.call('HSET', ckey, 'status', 'closed', 'closed_at', NOW, 'ended_at', NOW,
    'updated_at', NOW, 'wrapup', A.wrapup)
  local okey = P .. 'open:' .. c[2] .. ':' .. c[3]
  if redis.call('GET', okey) == A.conversation then redis.call('DEL', okey) end
  T.bot_contained(c[7], c[2])
  T.closed(c[7], c[2], A.reason, 'resolved by bot')
  return { 'ok' }
end
local queue = A.queue
if queue == '' then queue = c[7] or '' end
if queue == '' then queue = A.fallback end
-- the time spent with the bot counts as waiting; after an automatic
-- answer the customer waits from now
local since = tonumber(c[9] or NOW)
if c[1] == 'parked' then since = NOW end
local score = since - tonumber(c[8] or '50') * A.aging
local skills = cjson.decode(c[5] or '{}')
for k, v in pairs(cjson.decode(A.skills)) do
  if not skills[k] or skills[k] < v then skills[k] = v end
end
local routing = cjson.decode(c[4] or '{}')
routing.handoff = cjson.decode(A.note)
-- a hand-over by the bot is counted with its reason; a parked
-- conversation's customer who writes again only enters the queue
if c[1] == 'bot' then
  local why = type(routing.handoff) == 'table' and routing.handoff.reason or ''
  T.bot_handoff(queue, c[2], type(why) == 'string' and why or '')
end
T.queued(queue, c[2])
local tags = cjson.decode(c[6] or '[]')
tags[#tags + 1] = A.tag
redis.call('HSET', ckey, 'status', 'queued', 'queue', queue, 'queued_at', NOW,
  'score', score, 'skills', cjson.encode(skills), 'routing', cjson.encode(routing),
  'tags', cjson.encode(tags), 'handoff_at', NOW, 'updated_at', NOW)
Q.add(queue, score, A.conversation)
local pos = redis.call('ZRANK', P .. 'queue:' .. queue, A.conversation)
local aht, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', P .. 'queue:' .. queue .. ':aht', 0, -1)) do
  aht = aht + tonumber(v); n = n + 1
end
if n > 0 then aht = math.floor(aht / n) end
return { 'ok', (pos or 0) + 1, aht }
