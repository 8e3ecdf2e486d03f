-- outreach: a conversation started by us (docs/proactive.md): resolves
-- the customer and their address on the channel, checks what must hold
-- (restriction, opt-out, a web chat visitor online, the reply window, no
-- conversation already open in the thread), creates the conversation with
-- its first message queued for the channel (the outbox, as an agent's
-- reply) and remembers the idempotency key, all in one step: the same key
-- again finds the same conversation, never a second one.
-- @key  idem     outreach:idem:{idem}
-- @arg  idem     str   the Idempotency-Key (or a fresh id)
-- @arg  fp       str   fingerprint of the request: the same key with another
--                      request is 'idem_mismatch'
-- @arg  idem_ttl int   ms the key is remembered
-- @arg  channel  str   '' : the customer's preferred channel (that of their
--                      latest conversation, else any of their addresses)
-- @arg  address  str   '' : by customer
-- @arg  customer str   '' : by address (a new customer when unknown)
-- @arg  new_customer str id for a new customer
-- @arg  conversation str id for the conversation
-- @arg  message  str   id for the first message
-- @arg  rules    json  per channel that can take it: {text ('' : no message,
--                      a task), meta, window_ms (0: none; outside it only a
--                      template), online ('kv:<plugin>:online:' : the address
--                      must be online, '' no check), thread ('conversation' :
--                      a new thread named by the conversation, '' : the
--                      address), subject (true: one is missing and needed)};
--                      members starting with _ are not channels
-- @arg  attrs    json  the conversation's attributes
-- @arg  target   str   queue | agent | bot | none | task
-- @arg  author   str   system | agent
-- @arg  author_id str
-- @arg  author_name str
-- @arg  by       str   who started it (for the conversation's started_by)
-- @arg  signal   str   the signal type that started it ('' none)
-- @arg  throttle_ms int a customer contacted proactively this recently is
--                      'throttled' (0: no throttle)
-- @time
-- @reply tag     str   'ok' | 'dup' | 'idem_mismatch' | 'no_customer' |
--                      'no_address' | 'restricted' | 'opted_out' | 'offline' |
--                      'window_closed' | 'open' | 'no_channel' | 'throttled'
-- @reply conversation str (dup, idem_mismatch, open: the existing one)
-- @reply message str
-- @reply channel str
-- @reply address str
-- @reply thread  str
-- @reply customer str
-- @reply hash    any   the message hash (ok, with a message)
local idem = redis.call('GET', K.idem)
if idem then
  local d = cjson.decode(idem)
  if d.fp ~= A.fp then return { 'idem_mismatch', d.conv, '', '', '', '', '' } end
  redis.call('HINCRBY', P .. 'outreach:stats', 'replayed', 1)
  local c = redis.call('HMGET', P .. 'conv:' .. d.conv, 'channel', 'address', 'thread', 'customer')
  return { 'dup', d.conv, d.msg or '', c[1] or '', c[2] or '', c[3] or '', c[4] or '' }
end
local now = NOW
local function no(tag, ch, addr, cust) return { tag, '', '', ch or '', addr or '', '', cust or '' } end
local rules = cjson.decode(A.rules)
local allowed = {}
for ch, r in pairs(rules) do
  if string.sub(ch, 1, 1) ~= '_' then allowed[ch] = r end
end

-- who, where
local ch, addr, cust = A.channel, A.address, A.customer
if cust ~= '' then
  local ck = P .. 'cust:' .. cust
  if redis.call('EXISTS', ck) == 0 then return no('no_customer') end
  local addrs = redis.call('SMEMBERS', ck .. ':addrs')
  table.sort(addrs)
  local by_ch = {}
  for _, a in ipairs(addrs) do
    local c, rest = string.match(a, '^([^:]+):(.+)$')
    if c and not by_ch[c] then by_ch[c] = rest end
  end
  -- the address of their latest conversation on a channel comes first
  local latest = redis.call('ZREVRANGE', ck .. ':convs', 0, 49)
  local pick_ch, pick_addr = nil, nil
  for _, cv in ipairs(latest) do
    local c = redis.call('HMGET', P .. 'conv:' .. cv, 'channel', 'address')
    if c[1] and c[2] and (ch == '' and allowed[c[1]] or c[1] == ch) and
        redis.call('SISMEMBER', ck .. ':addrs', c[1] .. ':' .. c[2]) == 1 then
      pick_ch, pick_addr = c[1], c[2]
      break
    end
  end
  if not pick_ch then
    if ch ~= '' then
      pick_ch, pick_addr = ch, by_ch[ch]
    else
      for _, a in ipairs(addrs) do
        local c, rest = string.match(a, '^([^:]+):(.+)$')
        if c and allowed[c] then pick_ch, pick_addr = c, rest break end
      end
    end
  end
  if not pick_addr then return no(ch == '' and 'no_channel' or 'no_address', ch, '', cust) end
  ch, addr = pick_ch, pick_addr
else
  cust = redis.call('GET', P .. 'addr:' .. ch .. ':' .. addr)
end
if not allowed[ch] then return no('no_channel', ch, addr, cust) end
if cust then
  local c = redis.call('HMGET', P .. 'cust:' .. cust, 'restricted', 'last_proactive_at')
  if c[1] == '1' then return no('restricted', ch, addr, cust) end
  if A.throttle_ms > 0 and (tonumber(c[2] or '0') or 0) + A.throttle_ms > now then
    return no('throttled', ch, addr, cust)
  end
end
local ok = P .. 'optout:' .. ch
if redis.call('HEXISTS', ok, addr) == 1 or
    redis.call('HEXISTS', ok, 'h:' .. redis.sha1hex(addr)) == 1 then
  return no('opted_out', ch, addr, cust)
end
local rule = allowed[ch]
local text = rule.text or ''
if rule.subject == true then return no('no_subject', ch, addr, cust) end
if (rule.online or '') ~= '' and redis.call('EXISTS', P .. rule.online .. addr) == 0 then
  return no('offline', ch, addr, cust)
end
local conv = A.conversation
local thread = rule.thread == 'conversation' and conv or addr
local openkey = P .. 'open:' .. ch .. ':' .. thread
local open = redis.call('GET', openkey)
if open then
  local st = redis.call('HGET', P .. 'conv:' .. open, 'status')
  if st and st ~= 'closed' then return { 'open', open, '', ch, addr, thread, cust or '' } end
end
local lastkey = P .. 'last:' .. ch .. ':' .. thread
local window = tonumber(rule.window_ms) or 0
if window > 0 and text ~= '' and type(rule.meta) == 'table' and rule.meta.template == nil then
  local last = redis.call('GET', lastkey)
  local at = last and tonumber(redis.call('HGET', P .. 'conv:' .. last, 'last_inbound_at') or '0') or 0
  if at + window < now then return no('window_closed', ch, addr, cust) end
end

-- the customer (new for an unknown address) and the conversation
if not cust then
  cust = A.new_customer
  redis.call('HSET', P .. 'cust:' .. cust, 'id', cust, 'created_at', now, 'updated_at', now)
  redis.call('SET', P .. 'addr:' .. ch .. ':' .. addr, cust)
  redis.call('SADD', P .. 'cust:' .. cust .. ':addrs', ch .. ':' .. addr)
end
local ck = P .. 'conv:' .. conv
redis.call('HSET', ck, 'id', conv, 'channel', ch, 'customer', cust, 'address', addr,
  'thread', thread, 'status', 'new', 'public', '0', 'attrs', A.attrs,
  'created_at', now, 'updated_at', now, 'msg_count', 0, 'origin', 'proactive',
  'started_by', A.by, 'target', A.target)
if A.signal ~= '' then redis.call('HSET', ck, 'signal', A.signal) end
redis.call('SET', openkey, conv)
redis.call('SET', lastkey, conv)
redis.call('ZADD', P .. 'convs', now, conv)
redis.call('ZADD', P .. 'convs:ch:' .. ch, now, conv)
redis.call('ZADD', P .. 'cust:' .. cust .. ':convs', now, conv)
redis.call('HSET', P .. 'cust:' .. cust, 'last_proactive_at', now)
local mid, hash = '', {}
if text ~= '' then
  mid = A.message
  redis.call('HSET', P .. 'msg:' .. mid,
    'id', mid, 'conversation', conv, 'customer', cust, 'direction', 'out',
    'author', A.author, 'author_id', A.author_id, 'author_name', A.author_name,
    'text', text, 'attachments', '[]', 'channel', ch, 'status', 'queued', 'kind', 'message',
    'meta', cjson.encode(rule.meta or {}), 'created_at', now)
  redis.call('RPUSH', ck .. ':msgs', mid)
  redis.call('HSET', ck, 'msg_count', 1, 'last_message_at', now, 'last_outbound_at', now)
  redis.call('ZADD', P .. 'outbox', now, mid)
  hash = redis.call('HGETALL', P .. 'msg:' .. mid)
end
if A.target == 'none' then
  -- a notification: nobody holds it; an answer is a new inbound contact
  redis.call('HSET', ck, 'status', 'closed', 'closed_at', now, 'wrapup',
    cjson.encode({ reason = 'proactive notification', outcome = 'notified', at = now }))
  redis.call('DEL', openkey)
else
  -- until the caller has queued it (or handed it to the bot): after a
  -- crash in between, new_sweep.lua has routing decide
  redis.call('ZADD', P .. 'convs:new', now, conv)
end
redis.call('SET', K.idem, cjson.encode({ fp = A.fp, conv = conv, msg = mid }), 'PX', A.idem_ttl)
redis.call('HINCRBY', P .. 'outreach:stats', 'created', 1)
return { 'ok', conv, mid, ch, addr, thread, cust, hash }
