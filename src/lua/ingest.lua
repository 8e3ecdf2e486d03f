-- ingest: store one inbound message atomically and announce it.
--
-- Deduplicates by (channel, channel message id), resolves the customer by
-- channel address (or e-mail), finds or opens the conversation of the
-- thread, appends the message and adds an event to the stream, all in one
-- script: after a crash, either all of it happened or none of it did.
-- @key  stream   events
-- @key  dedup    dedup:{channel}:{channel_msg_id}
-- @key  addr     addr:{channel}:{address}
-- @key  open     open:{channel}:{thread}
-- @arg  channel  str
-- @arg  channel_msg_id str
-- @arg  address  str
-- @arg  thread   str
-- @arg  name     str
-- @arg  email    str
-- @arg  text     str
-- @arg  attachments json
-- @arg  attrs    json  an object
-- @arg  meta     json
-- @arg  public   bool
-- @arg  ts       int   the sender's time (ms)
-- @arg  customer str   id for a new customer
-- @arg  conversation str  id for a new conversation
-- @arg  message  str   id for the message
-- @arg  dedup_ttl int  ms the channel message id is remembered
-- @arg  kind     str   message | auto
-- @arg  verified bool  the channel vouches for the e-mail address
-- @arg  reopen   int   ms: a conversation of the thread closed this recently is
--                      reopened instead of starting a new one; 0: never
-- @arg  ended    bool  the channel tells the customer their conversation ended
--                     (web chat): one the agent closed (in wrap-up) takes no
--                     more messages, the next starts a new conversation
-- @arg  rating   int   1..5: the text is just that digit; when the thread has
--                      a satisfaction question pending (csat:{channel}:{thread},
--                      set by conv_act.lua at close), it is the answer:
--                      recorded on that conversation, nothing opened or routed
-- @arg  engage   json  with a rating: {csat_good, csat_poor,
--                      complaint_recovered: points, min, max} ('' none)
-- @arg  name_terms str the name's search terms (omr_search_terms), space separated
-- @arg  words    str   the text's search terms, space separated ('' none)
-- @arg  optout   str   'stop' | 'start': the whole message is an opt-out
--                      keyword (routing.yaml opt_out:): the address leaves
--                      or rejoins the channel's opt-out list; '' none
-- @arg  optout_addr str '' : the sender's address; else the address an
--                      unsubscribe token names (docs/proactive.md)
-- @arg  optout_via str 'keyword' | 'unsubscribe' (kept with a stop)
-- @time
-- @lib  report
-- @lib  engage
-- @lib  search
-- @reply tag      str  'ok' | 'dup' | 'csat' (an answer to the question)
-- @reply conversation str
-- @reply message  str
-- @reply customer str
-- @reply new      int  1: a new (or reopened) conversation
local ch, cmid, addr, thread = A.channel, A.channel_msg_id, A.address, A.thread
local name, email, text = A.name, A.email, A.text
local attachments, attrs, meta = A.attachments, A.attrs, A.meta
local public, ts, now = A.public and '1' or '0', A.ts, NOW
local kind, verified = A.kind, A.verified
local email_lc = string.lower(email)

local dedup = K.dedup
local seen = redis.call('GET', dedup)
if seen then
  -- a write, so that this connection's replication offset passes the
  -- original's: a WAIT after it (redis.durability) then covers the
  -- original message even when another connection stored it (Redis 7.2+
  -- moves the offset only for commands that replicate)
  redis.call('PEXPIRE', dedup, A.dedup_ttl)
  local m = redis.call('HMGET', P .. 'msg:' .. seen, 'conversation', 'customer')
  return { 'dup', m[1] or '', seen, m[2] or '', 0 }
end

-- customer: by address on this channel, else by a verified e-mail address,
-- else new. An unverified address (typed into a chat form) never links to
-- somebody else's record: it is kept as claimed_email for the agent to see.
-- The verified index (email:<address>) is not the e-mail channel's own
-- address index (addr:email:<address>): a mail with a forged From that the
-- channel does not vouch for never joins a customer who verified that
-- address elsewhere.
local addrkey = K.addr
local cust = redis.call('GET', addrkey)
if not cust and email ~= '' and verified then
  cust = redis.call('GET', P .. 'email:' .. email_lc)
  if cust then
    redis.call('SET', addrkey, cust)
    redis.call('SADD', P .. 'cust:' .. cust .. ':addrs', ch .. ':' .. addr)
    F.addr(cust, ch .. ':' .. addr)
  end
end
local newcust = not cust
if not cust then
  cust = A.customer
  if name ~= '' then
    redis.call('HSET', P .. 'cust:' .. cust, 'id', cust, 'created_at', now, 'updated_at', now,
      'name', name)
  else
    redis.call('HSET', P .. 'cust:' .. cust, 'id', cust, 'created_at', now, 'updated_at', now)
  end
  redis.call('SET', addrkey, cust)
  redis.call('SADD', P .. 'cust:' .. cust .. ':addrs', ch .. ':' .. addr)
  F.addr(cust, ch .. ':' .. addr)
end
local ckey = P .. 'cust:' .. cust
if name ~= '' then
  -- (a new customer has it already, and no name indexed yet)
  if not newcust then redis.call('HSET', ckey, 'name', name, 'updated_at', now) end
  F.name(cust, A.name_terms, newcust and '')
end
if email ~= '' and verified then
  local ekey = P .. 'email:' .. email_lc
  if not redis.call('GET', ekey) then
    redis.call('SET', ekey, cust)
    redis.call('SADD', ckey .. ':addrs', 'email:' .. email_lc)
    F.addr(cust, 'email:' .. email_lc)
  end
  if not redis.call('HGET', ckey, 'email') then redis.call('HSET', ckey, 'email', email_lc) end
elseif email ~= '' then
  -- found by the search too (not linked: docs/search.md)
  local was = redis.call('HGET', ckey, 'claimed_email')
  if was ~= email_lc then
    if was then F.unaddr(cust, 'email:' .. was) end
    F.addr(cust, 'email:' .. email_lc)
  end
  redis.call('HSET', ckey, 'claimed_email', email_lc)
end

if A.rating > 0 then
  local csk = P .. 'csat:' .. ch .. ':' .. thread
  local rated = redis.call('GET', csk)
  local rk = rated and P .. 'conv:' .. rated
  local c = rated and redis.call('HMGET', rk, 'customer', 'agent', 'queue') or {}
  if c[1] == cust then
    redis.call('DEL', csk)
    local msg = A.message
    redis.call('HSET', P .. 'msg:' .. msg,
      'id', msg, 'conversation', rated, 'customer', cust, 'direction', 'in',
      'author', 'customer', 'author_id', cust,
      'author_name', name ~= '' and name or (redis.call('HGET', ckey, 'name') or ''),
      'text', text, 'attachments', '[]', 'channel', ch, 'channel_msg_id', cmid,
      'status', 'received', 'kind', 'csat', 'meta', meta, 'sent_at', ts, 'created_at', now)
    redis.call('RPUSH', rk .. ':msgs', msg)
    redis.call('HINCRBY', rk, 'msg_count', 1)
    redis.call('HSET', rk, 'csat', A.rating, 'csat_at', now, 'updated_at', now)
    redis.call('SET', dedup, msg, 'PX', A.dedup_ttl)
    T.csat(c[3], ch, c[2], A.rating)
    -- a good rating deposits, a poor one withdraws; a resolved complaint
    -- (conv_act.lua) rated well is recovered now, rated poorly never
    local g = A.engage ~= '' and cjson.decode(A.engage) or nil
    if type(g) == 'table' then
      local ev = A.rating >= 4 and 'csat_good' or (A.rating <= 2 and 'csat_poor' or nil)
      if ev then E.move(cust, tonumber(g[ev]) or 0, ev, rated, g.min, g.max) end
      if ev and redis.call('HGET', ckey, 'complaint_pending') == rated then
        redis.call('HDEL', ckey, 'complaint_pending')
        redis.call('ZREM', P .. 'complaints:pending', rated)
        if ev == 'csat_good' then
          E.move(cust, tonumber(g.complaint_recovered) or 0, 'complaint_recovered', rated,
            g.min, g.max)
        end
      end
    end
    return { 'csat', rated, msg, cust, 0 }
  end
end

-- conversation: the open one of this thread, else (when the channel says
-- so) the last one of the thread if it closed recently, reopened, else a
-- new one
local openkey = K.open
local lastkey = P .. 'last:' .. ch .. ':' .. thread
local conv = redis.call('GET', openkey)
local isnew = 0
if conv then
  local st = redis.call('HGET', P .. 'conv:' .. conv, 'status')
  -- closed by the agent (in wrap-up) on a channel that told the customer
  -- so (A.ended): what they write now starts a new one
  if not st or st == 'closed' or (st == 'wrapup' and A.ended) then conv = nil end
end
local reopen = A.reopen or 0
if not conv and reopen > 0 and kind ~= 'auto' then
  local last = redis.call('GET', lastkey)
  if last then
    local c = redis.call('HMGET', P .. 'conv:' .. last, 'status', 'closed_at', 'customer')
    if c[1] == 'closed' and tonumber(c[2] or '0') >= now - reopen and c[3] == cust then
      -- the customer writes again about the same thing: the same conversation,
      -- routed again (rules, and perhaps the same agent)
      conv = last
      isnew = 1
      local k = P .. 'conv:' .. conv
      redis.call('HSET', k, 'status', 'new', 'reopened_at', now, 'updated_at', now,
        'previous_wrapup', redis.call('HGET', k, 'wrapup') or '')
      redis.call('HDEL', k, 'closed_at', 'ended_at', 'wrapup', 'offer', 'queue', 'queued_at',
        'agent', 'assigned_at')
      redis.call('HINCRBY', k, 'reopened', 1)
      -- no longer closed: what agent_view.lua kept of it for the panel goes
      redis.call('HDEL', P .. 'cust:' .. cust .. ':past', conv)
      redis.call('SET', openkey, conv)
    end
  end
end
local created = false
if not conv then
  conv = A.conversation
  isnew = 1
  created = true
  -- with what the message below adds to it
  redis.call('HSET', P .. 'conv:' .. conv,
    'id', conv, 'channel', ch, 'customer', cust, 'address', addr, 'thread', thread,
    'status', 'new', 'public', public, 'attrs', attrs,
    'created_at', now, 'updated_at', now, 'msg_count', 1, 'last_message_at', now,
    'last_inbound_at', now)
  redis.call('SET', openkey, conv)
  if kind ~= 'auto' then
    -- (an automatic one, closed at once, is never reopened)
    redis.call('SET', lastkey, conv)
  end
  redis.call('ZADD', P .. 'convs', now, conv)
  redis.call('ZADD', P .. 'convs:ch:' .. ch, now, conv)
  redis.call('ZADD', ckey .. ':convs', now, conv)
elseif attrs ~= '{}' then
  -- later messages may add attributes (e.g. a detected intent)
  local cur = cjson.decode(redis.call('HGET', P .. 'conv:' .. conv, 'attrs') or '{}')
  for k, v in pairs(cjson.decode(attrs)) do cur[k] = v end
  redis.call('HSET', P .. 'conv:' .. conv, 'attrs', cjson.encode(cur))
end

local msg = A.message
redis.call('HSET', P .. 'msg:' .. msg,
  'id', msg, 'conversation', conv, 'customer', cust, 'direction', 'in',
  'author', 'customer', 'author_id', cust,
  'author_name', name ~= '' and name or (redis.call('HGET', ckey, 'name') or ''),
  'text', text, 'attachments', attachments,
  'channel', ch, 'channel_msg_id', cmid, 'status', 'received', 'kind', kind,
  'meta', meta, 'sent_at', ts, 'created_at', now)
redis.call('RPUSH', P .. 'conv:' .. conv .. ':msgs', msg)
if not created then
  redis.call('HINCRBY', P .. 'conv:' .. conv, 'msg_count', 1)
  redis.call('HSET', P .. 'conv:' .. conv, 'updated_at', now, 'last_message_at', now,
    'last_inbound_at', now)
end
F.words(conv, A.words, now)
if attachments ~= '[]' then
  -- a stored file is named by its content: counted per message that names
  -- it, so that a purge deletes it only with the last (purge.lib)
  local ok, atts = pcall(cjson.decode, attachments)
  for _, a in ipairs(ok and type(atts) == 'table' and atts or {}) do
    if type(a) == 'table' and a.stored == true and type(a.sha256) == 'string' then
      redis.call('HINCRBY', P .. 'files:refs', ch .. ':' .. a.sha256, 1)
    end
  end
end
redis.call('SET', dedup, msg, 'PX', A.dedup_ttl)
if isnew == 1 and kind == 'auto' then
  -- an automatic mail (out of office, a list) opens no contact: the
  -- conversation is closed at once, so that a person writing in this
  -- thread later starts (or reopens) a routed one
  redis.call('HSET', P .. 'conv:' .. conv, 'status', 'closed', 'closed_at', now,
    'wrapup', cjson.encode({ reason = 'automatic message', outcome = 'automated',
                             at = now }))
  redis.call('DEL', openkey)
end

if isnew == 1 and kind ~= 'auto' then
  -- until routing has decided; new_sweep.lua announces it again if not
  redis.call('ZADD', P .. 'convs:new', now, conv)
  -- the customer is back: a resolved complaint waiting for its recovery
  -- window (conv_act.lua) is not recovered
  local pend = not newcust and redis.call('HGET', ckey, 'complaint_pending')
  if pend then
    redis.call('HDEL', ckey, 'complaint_pending')
    redis.call('ZREM', P .. 'complaints:pending', pend)
  end
end
if A.optout == 'stop' then
  local oa = A.optout_addr ~= '' and A.optout_addr or addr
  redis.call('HSET', P .. 'optout:' .. ch, oa,
    cjson.encode({ at = now, via = A.optout_via ~= '' and A.optout_via or 'keyword',
      customer = oa == addr and cust or nil }))
elseif A.optout == 'start' then
  redis.call('HDEL', P .. 'optout:' .. ch, addr, 'h:' .. redis.sha1hex(addr))
end
-- never trimmed here: events_trim.lua trims only what every consumer
-- group has acknowledged
redis.call('XADD', K.stream, '*',
  'type', 'message.in', 'conversation', conv, 'message', msg, 'new', isnew,
  'channel', ch, 'kind', kind)
return { 'ok', conv, msg, cust, isnew }
