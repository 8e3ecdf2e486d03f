-- optout: read, set or clear opt-outs (docs/proactive.md#opt-outs) of an
-- address on a channel, or of every address of a customer (on one channel
-- or all). The lists are optout:<channel>, a hash of address ->
-- {at, via, by}; an erased customer's entries are kept as 'h:' .. the
-- address' SHA-1 (purge.lib), found here by the address too.
-- @key  cust     cust:{customer}
-- @arg  customer str   '' : the address
-- @arg  channel  str   '' : every channel (with a customer)
-- @arg  address  str
-- @arg  action   str   get | set | clear
-- @arg  by       str   who (kept with a set)
-- @arg  via      str   how (kept with a set): 'admin' | 'unsubscribe'
-- @time
-- @reply tag     str   'ok' | 'no_customer' | 'no_address'
-- @reply list    str   JSON [{channel, address, opted_out, at, via}]
local pairs_ = {}
if A.customer ~= '' then
  if redis.call('EXISTS', K.cust) == 0 then return { 'no_customer', '[]' } end
  local addrs = redis.call('SMEMBERS', K.cust .. ':addrs')
  table.sort(addrs)
  for _, a in ipairs(addrs) do
    local ch, rest = string.match(a, '^([^:]+):(.+)$')
    if ch and (A.channel == '' or ch == A.channel) then pairs_[#pairs_ + 1] = { ch, rest } end
  end
  if #pairs_ == 0 then return { 'no_address', '[]' } end
else
  pairs_[1] = { A.channel, A.address }
end
local out = {}
for _, p in ipairs(pairs_) do
  local key, addr = P .. 'optout:' .. p[1], p[2]
  local hashed = 'h:' .. redis.sha1hex(addr)
  if A.action == 'set' then
    if redis.call('HEXISTS', key, addr) == 0 then
      redis.call('HSET', key, addr, cjson.encode({ at = NOW, via = A.via, by = A.by }))
    end
  elseif A.action == 'clear' then
    redis.call('HDEL', key, addr, hashed)
  end
  local v = redis.call('HGET', key, addr) or redis.call('HGET', key, hashed)
  local d = v and cjson.decode(v) or {}
  out[#out + 1] = { channel = p[1], address = addr, opted_out = v ~= false and v ~= nil,
    at = d.at or cjson.null, via = d.via or cjson.null }
end
return { 'ok', cjson.encode(out) }
