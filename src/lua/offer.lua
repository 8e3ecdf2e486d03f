-- offer: choose an agent for a waiting conversation and reserve one unit of
-- the agent's capacity, in one step, so that two nodes (or two ticks) never
-- offer one conversation twice nor exceed an agent's capacity.
--
-- The caller passes the agents whose skills fit (from the configuration);
-- this script checks what only Redis knows: presence, connection, load,
-- declines, and picks one by the queue's strategy.
-- @key  conv    conv:{conversation}
-- @key  queue   queue:{queue}
-- @arg  conversation str
-- @arg  queue   str
-- @arg  offer   str   new offer id
-- @arg  timeout int   ms the offer stands
-- @arg  strategy str  longest_idle | least_occupied | best_proficiency | round_robin
-- @arg  pass    int   when the dispatch pass began (Redis' clock, from queue_peek)
-- @rest candidates    per candidate: agent id, capacity on the channel, skill score
-- @time
-- @reply tag     str   'ok' | 'none' | 'gone' | 'wait' | 'restart'
-- @reply agent   str
-- @reply offer   str
-- @reply expires_at int
-- @reply scope   str   'none': 'class' if no candidate could take any
--                      conversation now (present, connected, with room)
-- @lib  queue
-- Returns: { 'ok', agent, offer id, expires_at } | { 'none' } | { 'gone' }
--          | { 'wait', agent } (the preferred agent is busy, keep waiting)
--          | { 'restart' }: the chosen agent became free after the pass began;
--            a better waiting conversation may deserve them: start again
--            from the top instead of offering this one.
local conv, queue, oid = A.conversation, A.queue, A.offer
local now, timeout, strategy, pass = NOW, A.timeout, A.strategy, A.pass
local n = math.floor(#REST / 3)
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'queue', 'channel', 'prefer_agent', 'prefer_until')
if c[1] ~= 'queued' or c[2] ~= queue then return { 'gone' } end
local chan = c[3]
local prefer = c[4]
if prefer == '' or tonumber(c[5] or '0') <= now then prefer = nil end
local declined = P .. 'conv:' .. conv .. ':declined'

local best, bestkey
local seen = {}
local free = 0
for i = 0, n - 1 do
  local id = REST[1 + i * 3]
  local cap = tonumber(REST[2 + i * 3])
  local skill = tonumber(REST[3 + i * 3])
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'presence', 'node', 'sessions',
    'last_assigned_at', 'load:' .. chan, 'last_offer_at')
  local load = tonumber(a[5] or '0')
  local why
  if a[1] ~= 'available' then why = a[1] or 'offline'
  elseif tonumber(a[3] or '0') == 0 or not a[2]
      or redis.call('EXISTS', P .. 'node:' .. a[2] .. ':alive') == 0 then why = 'offline'
  elseif load >= cap then why = 'full' end
  local ok = why == nil
  if ok then free = free + 1 end
  if ok then
    local until_ = tonumber(redis.call('HGET', declined, id) or '0')
    if until_ > now and not prefer then ok = false; why = 'declined' end
  end
  if ok and prefer and prefer ~= id then ok = false; why = 'not preferred' end
  seen[#seen + 1] = { agent = id, result = why or 'eligible' }
  if ok then
    local key
    if strategy == 'least_occupied' then key = load / cap
    elseif strategy == 'best_proficiency' then key = -skill
    elseif strategy == 'round_robin' then key = tonumber(a[6] or '0')
    else key = tonumber(a[4] or '0') end -- longest_idle
    if not best or key < bestkey then best, bestkey = id, key end
  end
end
local function explain(chosen)
  for _, s in ipairs(seen) do
    if s.agent == chosen then s.result = 'chosen' end
  end
  redis.call('HSET', ckey, 'dispatch', cjson.encode({ at = now, strategy = strategy,
    preferred = prefer or cjson.null, candidates = #seen > 0 and seen or cjson.null,
    chosen = chosen or cjson.null }))
end
if not best then
  explain(nil)
  if prefer then return { 'wait', prefer } end
  return { 'none', '', '', 0, free == 0 and 'class' or 'conversation' }
end
if tonumber(redis.call('HGET', P .. 'agent:' .. best, 'changed_at') or '0') > pass then
  return { 'restart' }
end
explain(best)

local expires = now + timeout
local score = redis.call('ZSCORE', K.queue, conv) or tostring(now)
redis.call('HSET', P .. 'offer:' .. oid, 'id', oid, 'conversation', conv, 'agent', best,
  'channel', chan, 'queue', queue, 'score', score, 'created_at', now, 'expires_at', expires)
redis.call('ZADD', P .. 'offers', expires, oid)
redis.call('SADD', P .. 'agent:' .. best .. ':offers', oid)
Q.rem(queue, conv)
redis.call('HSET', ckey, 'status', 'offered', 'offer', oid, 'updated_at', now)
redis.call('HINCRBY', P .. 'agent:' .. best, 'load:' .. chan, 1)
redis.call('HSET', P .. 'agent:' .. best, 'last_offer_at', now)
return { 'ok', best, oid, tostring(expires) }
