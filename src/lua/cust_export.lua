-- cust_export: a customer's data for an export (GET
-- /api/v1/customers/{id}/export), one batch per call, so that a customer
-- with 10 000 messages never holds Redis for long: the caller calls again
-- from (next_conv, next_from) until next_conv is -1. The customer, their
-- addresses and engagement history come with the first call (rank 0,
-- from 0).
-- @key  cust    cust:{customer}
-- @arg  customer str
-- @arg  rank    int   the conversation to go on with: its rank in
--                     cust:{customer}:convs (oldest first)
-- @arg  from    int   its first message not yet read
-- @arg  budget  int   messages (and conversations) read at most
-- @reply tag     str  'ok' | 'none'
-- @reply customer any  HGETALL (first call; else empty)
-- @reply addrs   any  SMEMBERS (first call)
-- @reply engagement any  the engagement changes, JSON texts, newest first (first call)
-- @reply convs   any  per conversation: { HGETALL of it (empty when it goes
--                     on from an earlier call), { HGETALL of each message } }
-- @reply next_conv int  -1: done
-- @reply next_from int
local ck = K.cust
local first = A.rank == 0 and A.from == 0
if first and redis.call('EXISTS', ck) == 0 then return { 'none', {}, {}, {}, {}, -1, 0 } end
local cust, addrs, eng = {}, {}, {}
if first then
  cust = redis.call('HGETALL', ck)
  addrs = redis.call('SMEMBERS', ck .. ':addrs')
  eng = redis.call('LRANGE', ck .. ':engagement', 0, -1)
end
local out, used, rank, from = {}, 0, A.rank, A.from
while used < A.budget do
  local c = redis.call('ZRANGE', ck .. ':convs', rank, rank)[1]
  if not c then rank = -1 from = 0 break end
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
return { 'ok', cust, addrs, eng, out, rank, from }
