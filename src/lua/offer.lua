-- offer: offer waiting conversations of one queue, each to an agent, and
-- reserve one unit of that agent's capacity, in one step, so that two nodes
-- (or two passes) never offer one conversation twice nor exceed an agent's
-- capacity. One call takes the batch of a dispatch pass (the queue's best
-- waiting conversations, best first): one round trip however many agents
-- are free.
--
-- The agents who fit a conversation (from the configuration) form a pool
-- (pools.lib): the ones ready now, best first by the strategy. Each
-- conversation takes the first who has not declined it and is connected to a
-- live node: O(log N) however many agents fit. When nobody of a pool could
-- take anything, the conversations after it in the batch that need the same
-- pool are answered at once. When a pool is not in Redis (first use, or it
-- expired) and no list came with it, that conversation's answer asks for
-- it: the router sends the list with its next offer from that pool.
-- @key  queue   queue:{queue}
-- @arg  queue   str
-- @arg  timeout int   ms an offer stands
-- @arg  pass    int   Redis' clock when a conversation of this pass first found
--                     nobody: an agent whose state changed after it may deserve
--                     that conversation rather than a later one ('restart')
-- @rest offers        per conversation, best first: conversation id, new offer
--                     id, strategy (longest_idle | least_occupied |
--                     best_proficiency | round_robin), pool id (the router's
--                     hash of the list), n, then n strings: the list to build
--                     the pool with (per agent: id, capacity on the channel,
--                     skill score), n = 0 when the pool is known to be built
-- @time
-- @reply now     int   Redis' clock
-- @reply results any   per conversation, in the order given:
--                      { tag, agent, offer, expires_at, scope, view, preview,
--                      customer_name, address, thread }, see below
-- @lib  queue
-- @lib  pools
-- @lib  sessions
-- @lib  report
-- tag: 'ok' (agent, offer, expires_at, view: what the offer frame shows, as
--      conversation fields { name, value, ... }: id, channel, queue,
--      language, priority, queued_at, customer, intent, bot_slots, routing
--      (only when the bot handed it over), transfer (from whom, the note);
--      preview: the first customer
--      message's text; customer_name; the customer's address and the
--      thread, for the notice to the customer, not for the agent's frame)
--    | 'none' (scope 'class' if no agent of the pool could take any
--      conversation now: present, connected, with room; else 'conversation')
--    | 'wait' (agent: the preferred agent, busy; it keeps waiting for them)
--    | 'gone' (not waiting in this queue any more)
--    | 'restart' (the chosen agent changed after pass: start the pass again
--      from the top instead of offering this one; the conversations after it
--      are answered 'skipped', untried)
--    | 'build' (the pool is not in Redis: send the list; the conversations
--      after it are 'skipped', so that none takes an agent it could have had)
--    | 'error' (agent: what went wrong; this conversation is left as it was
--      found, or as far as it got)
local queue, timeout, pass, now = A.queue, A.timeout, A.pass, NOW
local fields = { 'id', 'channel', 'queue', 'language', 'priority', 'queued_at', 'customer',
  'intent', 'bot_slots', 'routing', 'public', 'transfer', 'callback' }
-- what offer_one reads of a conversation, in one read: what it decides by,
-- then the frame's fields (none of which the offer writes)
local HEAD = { 'status', 'queue', 'channel', 'prefer_agent', 'prefer_until', 'class' }
local READ = { unpack(HEAD) }
for _, f in ipairs(fields) do READ[#READ + 1] = f end
READ[#READ + 1] = 'address'
READ[#READ + 1] = 'thread'

-- what one call learns once: pools touched, pools with nobody ready, how
-- many fit each pool, which agents are connected to a live node, which
-- nodes beat (nothing changes these within the call but the call itself)
local touched, empty, eligible, live, alive = {}, {}, {}, {}, {}

-- the best ready agent of pool pkey for conversation conv, who has not
-- declined it and is connected to a live node (a node that stopped is
-- noticed by its heartbeat running out, before the reaper drops its
-- sessions): agent or nil, passed over, of which for declining it
-- relax: only who said no is passed over, not who let an offer expire
-- (offer_one asks again so when nobody else was ready)
local function choose(pkey, conv, prefer, relax)
  local declined = {}
  if not prefer then
    local d, missed = redis.call('HGETALL', P .. 'conv:' .. conv .. ':declined'), {}
    for i = 1, #d, 2 do
      if string.sub(d[i], 1, 2) == 'm:' then missed[string.sub(d[i], 3)] = true
      elseif tonumber(d[i + 1]) > now then declined[d[i]] = true end
    end
    if relax then
      for id in pairs(missed) do declined[id] = nil end
    end
  end
  local skipped, refused, from = 0, 0, 0
  while true do
    local batch
    if prefer then
      -- only they may have it: are they ready?
      batch = (from == 0 and redis.call('ZSCORE', pkey, prefer)) and { prefer } or {}
    else
      batch = redis.call('ZRANGE', pkey, from, from + 15)
    end
    if #batch == 0 then return nil, skipped, refused end
    for _, id in ipairs(batch) do
      if declined[id] then refused = refused + 1
      else
        if live[id] == nil then live[id] = S.live(id, alive) end
        if live[id] then return id, skipped, refused end
      end
      skipped = skipped + 1
    end
    from = from + 16
  end
end

-- the offer frame's content, so that no second call is needed for it
local function view(ckey, c)
  local out, v = {}, {}
  for i, f in ipairs(fields) do
    v[i] = c[#HEAD + i]
    -- the explanation only for what the frame takes from it: the hand-over
    if v[i] and (f ~= 'routing' or string.find(v[i], '"handoff"', 1, true)) then
      out[#out + 1] = f; out[#out + 1] = v[i]
    end
  end
  local preview = ''
  for _, m in ipairs(redis.call('LRANGE', ckey .. ':msgs', 0, 9)) do
    local d = redis.call('HMGET', P .. 'msg:' .. m, 'direction', 'text')
    if d[1] == 'in' then preview = d[2] or ''; break end
  end
  local cname = v[7] and redis.call('HGET', P .. 'cust:' .. v[7], 'name') or ''
  return out, preview, cname or ''
end

local function offer_one(conv, oid, strategy, pool, list)
  local ckey = P .. 'conv:' .. conv
  local c = redis.call('HMGET', ckey, unpack(READ))
  if c[1] ~= 'queued' or c[2] ~= queue then return { 'gone' } end
  local chan = c[3]
  local prefer = c[4]
  if prefer == '' or tonumber(c[5] or '0') <= now then prefer = nil end
  if not prefer and empty[pool] then return { 'none', '', '', 0, 'class' } end
  if not touched[pool] then
    if not R.exists(pool) then
      if #list == 0 then return { 'build' } end
      R.build(pool, chan, strategy, list)
    else
      R.touch(pool)
    end
    touched[pool] = true
  end
  local pkey = R.key(pool)
  local ready = redis.call('ZCARD', pkey)
  local best, skipped, refused = choose(pkey, conv, prefer)
  if not best and refused > 0 and not prefer then
    -- nobody else is ready for it: who only missed it may have it again
    -- (the agent who lets offers expire is set away after max_missed)
    best, skipped, refused = choose(pkey, conv, prefer, true)
  end

  -- why (the conversation's 'dispatch')
  local function explain(chosen)
    if not eligible[pool] then eligible[pool] = R.eligible(pool) end
    return cjson.encode({ at = now, strategy = strategy, preferred = prefer or cjson.null,
      eligible = eligible[pool], ready = ready, passed_over = skipped,
      chosen = chosen or cjson.null })
  end
  if not best then
    redis.call('HSET', ckey, 'dispatch', explain(nil))
    if prefer then return { 'wait', prefer } end
    if refused == 0 then empty[pool] = true end
    return { 'none', '', '', 0, refused == 0 and 'class' or 'conversation' }
  end
  local akey = P .. 'agent:' .. best
  -- changed_at, then what pools.lib reads of the agent on this channel
  local ag = redis.call('HMGET', akey, 'changed_at', 'presence', 'node', 'sessions',
    'last_assigned_at', 'last_offer_at', 'load:' .. chan)
  if tonumber(ag[1] or '0') > pass then
    return { 'restart' }
  end

  local expires = now + timeout
  local score = redis.call('ZSCORE', K.queue, conv) or tostring(now)
  redis.call('HSET', P .. 'offer:' .. oid, 'id', oid, 'conversation', conv, 'agent', best,
    'channel', chan, 'queue', queue, 'score', score, 'created_at', now, 'expires_at', expires)
  redis.call('ZADD', P .. 'offers', expires, oid)
  redis.call('SADD', P .. 'agent:' .. best .. ':offers', oid)
  Q.rem(queue, conv, c[6] or '')
  redis.call('HSET', ckey, 'status', 'offered', 'offer', oid, 'updated_at', now,
    'dispatch', explain(best))
  local load = redis.call('HINCRBY', akey, 'load:' .. chan, 1)
  redis.call('HSET', akey, 'last_offer_at', now)
  R.refresh(best, { [chan] = { ag[2], ag[3], ag[4], ag[5], now, load } })
  T.agent(best, 'offered')
  local v, preview, cname = view(ckey, c)
  return { 'ok', best, oid, tostring(expires), '', v, preview, cname,
    c[#READ - 1] or '', c[#READ] or '' }
end

local results, i, stop = {}, 1, false
while i + 4 <= #REST do
  local n = tonumber(REST[i + 4]) or 0
  if stop then
    results[#results + 1] = { 'skipped' }
  else
    local list = {}
    for k = 1, n do list[k] = REST[i + 4 + k] end
    -- one conversation's failure (bad data) is its own answer: the offers
    -- made before it in the call are kept, and the daemon hears of them
    local ok, r = pcall(offer_one, REST[i], REST[i + 1], REST[i + 2], REST[i + 3], list)
    if not ok then r = { 'error', tostring(r) } end
    results[#results + 1] = r
    stop = r[1] == 'restart' or r[1] == 'build'
  end
  i = i + 5 + n
end
return { now, results }
