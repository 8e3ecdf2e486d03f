-- offer: choose an agent for a waiting conversation and reserve one unit of
-- the agent's capacity, in one step, so that two nodes (or two ticks) never
-- offer one conversation twice nor exceed an agent's capacity.
--
-- The agents who fit (from the configuration) form a pool (pools.lib): the
-- ones ready now, best first by the strategy. The script takes the first
-- who has not declined this conversation and is connected to a live node: O(log N)
-- however many agents fit. When the pool is not in Redis (first use, or it
-- expired), the reply asks for it: the router calls again with the list.
-- @key  conv    conv:{conversation}
-- @key  queue   queue:{queue}
-- @arg  conversation str
-- @arg  queue   str
-- @arg  offer   str   new offer id
-- @arg  timeout int   ms the offer stands
-- @arg  strategy str  longest_idle | least_occupied | best_proficiency | round_robin
-- @arg  pass    int   when the dispatch pass began (Redis' clock, from queue_peek)
-- @arg  pool    str   the pool's id (the router's hash of the list)
-- @rest candidates    only to build the pool: per agent id, capacity on
--                     the channel, skill score
-- @time
-- @reply tag     str   'ok' | 'none' | 'gone' | 'wait' | 'restart' | 'build'
-- @reply agent   str
-- @reply offer   str
-- @reply expires_at int
-- @reply scope   str   'none': 'class' if no agent of the pool could take
--                      any conversation now (present, connected, with room)
-- @reply view    any   'ok': what the offer frame shows, as conversation
--                      fields { name, value, ... }: id, channel, queue,
--                      language, priority, queued_at, customer, intent,
--                      bot_slots, routing (only when the bot handed it over)
-- @reply preview str   'ok': the first customer message's text
-- @reply customer_name str  'ok' 
-- @lib  queue
-- @lib  pools
-- @lib  sessions
-- Returns: { 'ok', agent, offer id, expires_at } | { 'none' } | { 'gone' }
--          | { 'wait', agent } (the preferred agent is busy, keep waiting)
--          | { 'restart' }: the chosen agent became free after the pass began;
--            a better waiting conversation may deserve them: start again
--            from the top instead of offering this one.
--          | { 'build' }: the pool is not in Redis; call again with the list
local conv, queue, oid = A.conversation, A.queue, A.offer
local now, timeout, strategy, pass = NOW, A.timeout, A.strategy, A.pass
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'queue', 'channel', 'prefer_agent', 'prefer_until')
if c[1] ~= 'queued' or c[2] ~= queue then return { 'gone' } end
local chan = c[3]
local prefer = c[4]
if prefer == '' or tonumber(c[5] or '0') <= now then prefer = nil end
if not R.exists(A.pool) then
  if #REST == 0 then return { 'build' } end
  R.build(A.pool, chan, strategy, REST)
else
  R.touch(A.pool)
end
local pkey = R.key(A.pool)
local ready = redis.call('ZCARD', pkey)

-- who declined this conversation lately (a preferred agent may not)
local declined = {}
if not prefer then
  local d = redis.call('HGETALL', P .. 'conv:' .. conv .. ':declined')
  for i = 1, #d, 2 do
    if tonumber(d[i + 1]) > now then declined[d[i]] = true end
  end
end

-- the best ready agent who has not declined it and is connected to a live
-- node (a node that stopped is noticed by its heartbeat running out, before the
-- reaper drops its sessions); skipped: passed over, of which for
-- declining it (the others could not take any conversation)
local best, skipped, refused, from = nil, 0, 0, 0
while not best do
  local batch
  if prefer then
    -- only they may have it: are they ready?
    batch = (from == 0 and redis.call('ZSCORE', pkey, prefer)) and { prefer } or {}
  else
    batch = redis.call('ZRANGE', pkey, from, from + 15)
  end
  if #batch == 0 then break end
  for _, id in ipairs(batch) do
    if not prefer or prefer == id then
      if declined[id] then refused = refused + 1
      elseif S.live(id) then
        best = id; break
      end
      skipped = skipped + 1
    end
  end
  from = from + 16
end

local function explain(chosen)
  redis.call('HSET', ckey, 'dispatch', cjson.encode({ at = now, strategy = strategy,
    preferred = prefer or cjson.null, eligible = redis.call('HLEN', pkey .. ':def'),
    ready = ready, passed_over = skipped, chosen = chosen or cjson.null }))
end
if not best then
  explain(nil)
  if prefer then return { 'wait', prefer } end
  return { 'none', '', '', 0, refused == 0 and 'class' or 'conversation' }
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
R.refresh(best)

-- the offer frame's content, so that no second call is needed for it
local fields = { 'id', 'channel', 'queue', 'language', 'priority', 'queued_at', 'customer',
  'intent', 'bot_slots', 'routing' }
local v, view = redis.call('HMGET', ckey, unpack(fields)), {}
for i, f in ipairs(fields) do
  -- the explanation only for what the frame takes from it: the hand-over
  if v[i] and (f ~= 'routing' or string.find(v[i], '"handoff"', 1, true)) then
    view[#view + 1] = f; view[#view + 1] = v[i]
  end
end
local preview = ''
for _, m in ipairs(redis.call('LRANGE', ckey .. ':msgs', 0, 9)) do
  local d = redis.call('HMGET', P .. 'msg:' .. m, 'direction', 'text')
  if d[1] == 'in' then preview = d[2] or ''; break end
end
local cname = v[7] and redis.call('HGET', P .. 'cust:' .. v[7], 'name') or ''
return { 'ok', best, oid, tostring(expires), '', view, preview, cname or '' }
