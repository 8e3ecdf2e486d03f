-- agent_view: a conversation as an agent sees it: the conversation, its
-- messages, the customer with addresses and earlier conversations.
-- Allowed when the conversation is the agent's (assigned, or offered to
-- them), or when it is closed and the agent now serves its customer (an
-- earlier contact). A colleague's open conversation is never shown, even
-- of a customer the agent serves: it may hold what the customer told only
-- that colleague.
-- @key  conv     conv:{conversation}
-- @arg  conversation str
-- @arg  agent    str   '' : no check (the server itself)
-- @arg  max      int   messages, the newest
-- @arg  earlier  int   earlier conversations of the customer at most
-- @reply tag      str   'ok' | 'not_yours' (nil: no such conversation)
-- @reply conv     any   conversation hash, less its explanations
-- @reply messages any   { message hash, ... }
-- @reply customer any   customer hash
-- @reply addresses any  { addresses }
-- @reply previous any   { earlier conversation: the fields listed below, as
--                       a JSON object (text), ... }
-- @reply offer    any   offer hash (or {})
-- @reply now      int   Redis' clock (ms): what the offer's expires_at is measured against
-- @time
local ckey = K.conv
if redis.call('EXISTS', ckey) == 0 then return {} end
local c = redis.call('HMGET', ckey, 'agent', 'customer', 'offer', 'status')
local cust = c[2]
if A.agent ~= '' and c[1] ~= A.agent then
  local ok = false
  local o = c[3] and c[3] ~= '' and redis.call('HGET', P .. 'offer:' .. c[3], 'agent')
  if o == A.agent then ok = true end
  if not ok and c[4] == 'closed' then
    for _, mine in ipairs(redis.call('SMEMBERS', P .. 'agent:' .. A.agent .. ':convs')) do
      if redis.call('HGET', P .. 'conv:' .. mine, 'customer') == cust then ok = true break end
    end
  end
  if not ok then return { 'not_yours' } end
end
local ids = redis.call('LRANGE', ckey .. ':msgs', -A.max, -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
local chash, addrs, earlier = {}, {}, {}
if cust then
  chash = redis.call('HGETALL', P .. 'cust:' .. cust)
  addrs = redis.call('SMEMBERS', P .. 'cust:' .. cust .. ':addrs')
  local prev = redis.call('ZREVRANGE', P .. 'cust:' .. cust .. ':convs', 0, A.earlier)
  -- of an earlier conversation, what the customer panel lists (not its
  -- explanations): these fields, as a JSON object (the daemon passes it
  -- on as it is). A closed one's do not change (until it is reopened:
  -- ingest.lua forgets it), so it is kept in cust:{c}:past the first time
  -- it is read
  local keep = { 'id', 'channel', 'status', 'created_at', 'closed_at', 'wrapup', 'queue' }
  local pkey = P .. 'cust:' .. cust .. ':past'
  local others = {}
  for _, p in ipairs(prev) do
    if p ~= A.conversation then others[#others + 1] = p end
  end
  local known = #others > 0 and redis.call('HMGET', pkey, unpack(others)) or {}
  for i, p in ipairs(others) do
    if known[i] then
      earlier[#earlier + 1] = known[i]
    else
      local v = redis.call('HMGET', P .. 'conv:' .. p, unpack(keep))
      if v[1] then
        local ok, wrapup = pcall(cjson.decode, v[6] or '{}')
        local j = cjson.encode({ id = v[1], channel = v[2], status = v[3],
          created_at = tonumber(v[4]), closed_at = tonumber(v[5]),
          wrapup = v[6] and (ok and wrapup or v[6]) or nil, queue = v[7] })
        earlier[#earlier + 1] = j
        if v[3] == 'closed' then redis.call('HSET', pkey, p, j) end
      end
    end
  end
  -- only the newest are listed: past them, the rest is kept in vain
  if redis.call('HLEN', pkey) > 2 * (A.earlier + 1) then redis.call('DEL', pkey) end
end
local offer = {}
if c[3] and c[3] ~= '' then offer = redis.call('HGETALL', P .. 'offer:' .. c[3]) end
-- the conversation without the explanations (routing, dispatch,
-- escalations: for the admin API), but for a bot's hand-over, which the
-- console shows
local h, conv = redis.call('HGETALL', ckey), {}
for i = 1, #h, 2 do
  local f, v = h[i], h[i + 1]
  if f ~= 'dispatch' and f ~= 'escalations' and
      (f ~= 'routing' or string.find(v, '"handoff"', 1, true)) then
    conv[#conv + 1] = f; conv[#conv + 1] = v
  end
end
return { 'ok', conv, msgs, chash, addrs, earlier, offer, NOW }
