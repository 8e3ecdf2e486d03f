-- search: find conversations (docs/search.md) by a conversation or
-- customer id, an address or phone number, a customer's name (prefixes of
-- its words) and words of messages stored since `since` (search.days),
-- as omr_search_parse cut the query. Ranked: the exact id first, then an
-- exact address or phone number, then the rest, newest first; only the
-- conversations of `queues` (or the searcher's own); one page of them.
-- Bounded: at most 50 conversations per customer, 200 customers per name
-- term, 1000 conversations of the rarest word looked at, 500 candidates.
-- @key  names   s:names
-- @arg  id      str   a conversation or customer id ('' none)
-- @arg  addr    str   an address or its beginning, lower case ('' none)
-- @arg  phone   str   a phone number's digits, reversed ('' none)
-- @arg  names   str   name prefixes, space separated ('' none)
-- @arg  words   str   words, space separated, all in one conversation ('' none)
-- @arg  days    int   words of messages older than this many days are not found
-- @arg  queues  str   the queues whose conversations may be found, comma
--                     separated; '*' every conversation
-- @arg  agent   str   the searcher: their current conversations are found too
-- @arg  offset  int
-- @arg  limit   int
-- @time
-- @lib  search
-- @reply json   str   {"results": [{conversation, customer, name, channel,
--                     status, queue, created_at, at, match, preview}], "total": n}
-- @readonly
local CAP, PER_CUST, PER_TERM, SCAN = 500, 50, 200, 1000
local since = NOW - A.days * 86400000
local found, order = {}, {}

local function add(conv, rank, at, match)
  local f = found[conv]
  if f then
    if rank < f.rank then f.rank, f.match = rank, match end
    if at > f.at then f.at = at end
    return
  end
  if #order >= CAP then return end
  found[conv] = { rank = rank, at = at, match = match }
  order[#order + 1] = conv
end

local function cust_convs(cust, rank, match)
  local ids = redis.call('ZREVRANGE', P .. 'cust:' .. cust .. ':convs', 0, PER_CUST - 1,
    'WITHSCORES')
  for i = 1, #ids, 2 do add(ids[i], rank, tonumber(ids[i + 1]) or 0, match) end
end

-- members of a lexical index that begin with prefix: { value, customer }
local function lex(key, prefix, n)
  local out = {}
  for _, m in ipairs(redis.call('ZRANGEBYLEX', key, '[' .. prefix, '[' .. prefix .. '\255',
      'LIMIT', 0, n)) do
    local sp = m:find(' [^ ]*$')
    if sp then out[#out + 1] = { m:sub(1, sp - 1), m:sub(sp + 1) } end
  end
  return out
end

if A.id ~= '' then
  if A.id:sub(1, 2) == 'c_' then
    local at = redis.call('HGET', P .. 'conv:' .. A.id, 'created_at')
    if at then add(A.id, 0, tonumber(at) or 0, 'id') end
  else
    cust_convs(A.id, 0, 'id')
  end
end
-- names: a customer each of whose prefixes begins a word of their name
local terms = F.split(A.names)
if #terms > 0 then
  local cand
  for _, t in ipairs(terms) do
    local set = {}
    for _, m in ipairs(lex(K.names, t, PER_TERM)) do
      if not cand or cand[m[2]] then set[m[2]] = true end
    end
    cand = set
  end
  for c in pairs(cand) do cust_convs(c, 2, 'name') end
end

local ak = P .. 's:addrs'
if A.addr ~= '' then
  for _, m in ipairs(lex(ak, A.addr, PER_TERM)) do
    cust_convs(m[2], m[1] == A.addr and 1 or 2, 'address')
  end
end
if A.phone ~= '' then
  for _, m in ipairs(lex(ak, '#' .. A.phone, PER_TERM)) do cust_convs(m[2], 1, 'phone') end
end

-- words: the rarest one's conversations, checked for the others
terms = F.split(A.words)
if #terms > 0 then
  local best, bestn
  for _, t in ipairs(terms) do
    local n = redis.call('ZCOUNT', P .. 's:w:' .. t, since, '+inf')
    if not bestn or n < bestn then best, bestn = t, n end
  end
  if bestn > 0 then
    local ids = redis.call('ZREVRANGEBYSCORE', P .. 's:w:' .. best, '+inf', since, 'WITHSCORES',
      'LIMIT', 0, SCAN)
    for i = 1, #ids, 2 do
      local c, ok = ids[i], true
      for _, t in ipairs(terms) do
        if t ~= best then
          local s = tonumber(redis.call('ZSCORE', P .. 's:w:' .. t, c) or '')
          if not s or s < since then ok = false break end
        end
      end
      if ok then add(c, 2, tonumber(ids[i + 1]) or 0, 'text') end
    end
  end
end

-- what the searcher may see, ranked
local all = A.queues == '*'
local qs = ',' .. A.queues .. ','
local rows = {}
for _, c in ipairs(order) do
  local v = redis.call('HMGET', P .. 'conv:' .. c, 'status', 'queue', 'agent')
  if v[1] and (all or (v[2] and string.find(qs, ',' .. v[2] .. ',', 1, true)) or
      (A.agent ~= '' and v[3] == A.agent)) then
    rows[#rows + 1] = c
  end
end
table.sort(rows, function(a, b)
  local x, y = found[a], found[b]
  if x.rank ~= y.rank then return x.rank < y.rank end
  if x.at ~= y.at then return x.at > y.at end
  return a > b
end)

-- text cut at most n bytes, on a character's boundary
local function cut(t, n)
  if #t <= n then return t end
  local e = n
  while e > 0 and t:byte(e + 1) >= 0x80 and t:byte(e + 1) < 0xc0 do e = e - 1 end
  return t:sub(1, e) .. '…'
end

local page = {}
for i = A.offset + 1, math.min(#rows, A.offset + A.limit) do
  local c = rows[i]
  local v = redis.call('HMGET', P .. 'conv:' .. c, 'customer', 'channel', 'status', 'queue',
    'created_at')
  local first = redis.call('LINDEX', P .. 'conv:' .. c .. ':msgs', 0)
  local text = first and redis.call('HGET', P .. 'msg:' .. first, 'text') or ''
  page[#page + 1] = { conversation = c, customer = v[1] or '',
    name = v[1] and redis.call('HGET', P .. 'cust:' .. v[1], 'name') or '',
    channel = v[2] or '', status = v[3] or '', queue = v[4] or '',
    created_at = tonumber(v[5] or '0') or 0, at = found[c].at, match = found[c].match,
    preview = cut(text or '', 160) }
end
if #page == 0 then return { '{"results":[],"total":' .. #rows .. '}' } end
return { cjson.encode({ results = page, total = #rows }) }
