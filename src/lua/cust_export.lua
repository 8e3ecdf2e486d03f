-- cust_export: a customer's data for an export (GET
-- /api/v1/customers/{id}/export), one batch per call, so that a customer
-- with 10 000 messages never holds Redis for long: the caller calls again
-- from (next_conv, next_score, next_from) until done. The customer, their
-- addresses and engagement history come with the first call (conv '',
-- from 0). A call goes on with its conversation found again by its id, so
-- that one removed between two calls (retention, an erasure) shifts
-- nothing: when the conversation itself is gone, with the first after its
-- score.
-- @key  cust    cust:{customer}
-- @arg  customer str
-- @arg  conv    str   the conversation to go on with ('' : the first)
-- @arg  score   str   its score in cust:{customer}:convs (oldest first)
-- @arg  from    int   its first message not yet read
-- @arg  budget  int   messages (and conversations) read at most
-- @reply tag     str  'ok' | 'none'
-- @reply customer any  HGETALL (first call; else empty)
-- @reply addrs   any  SMEMBERS (first call)
-- @reply engagement any  the engagement changes, JSON texts, newest first (first call)
-- @reply convs   any  per conversation: { HGETALL of it (empty when it goes
--                     on from an earlier call), { HGETALL of each message } }
-- @reply done    int  1: nothing more
-- @reply next_conv str
-- @reply next_score str
-- @reply next_from int
-- @readonly
local ck = K.cust
local first = A.conv == '' and A.from == 0
if first and redis.call('EXISTS', ck) == 0 then return { 'none', {}, {}, {}, {}, 1, '', '', 0 } end
local cust, addrs, eng = {}, {}, {}
if first then
  cust = redis.call('HGETALL', ck)
  addrs = redis.call('SMEMBERS', ck .. ':addrs')
  eng = redis.call('LRANGE', ck .. ':engagement', 0, -1)
end
local rank, from = 0, A.from
if A.conv ~= '' then
  rank = redis.call('ZRANK', ck .. ':convs', A.conv)
  if not rank then
    -- gone since the last call: the first after where it was
    rank = redis.call('ZCOUNT', ck .. ':convs', '-inf', '(' .. A.score)
    from = 0
  end
end
local out, used = {}, 0
while used < A.budget do
  local c = redis.call('ZRANGE', ck .. ':convs', rank, rank)[1]
  if not c then break end
  local key = P .. 'conv:' .. c
  local n = math.min(A.budget - used, 200)
  local ids = redis.call('LRANGE', key .. ':msgs', from, from + n - 1)
  local msgs = {}
  for _, id in ipairs(ids) do msgs[#msgs + 1] = redis.call('HGETALL', P .. 'msg:' .. id) end
  out[#out + 1] = { from == 0 and redis.call('HGETALL', key) or {}, msgs }
  used = used + #ids + 1
  if #ids < n then
    rank, from = rank + 1, 0
  else
    from = from + #ids
  end
end
local next = redis.call('ZRANGE', ck .. ':convs', rank, rank, 'WITHSCORES')
if not next[1] then return { 'ok', cust, addrs, eng, out, 1, '', '', 0 } end
return { 'ok', cust, addrs, eng, out, 0, next[1], next[2], from }
