-- signal_facts: what the signals' rules see of a customer (docs/proactive.md):
-- found by id, or by an address on a channel; their balance, open
-- conversations, last contact and last proactive contact.
-- @key  cust     cust:{customer}
-- @arg  customer str   '' : by address
-- @arg  channel  str
-- @arg  address  str
-- @time
-- @reply found   int   1: a known customer
-- @reply facts   str   JSON {id, name, balance, open_conversations,
--                      last_contact_at, last_proactive_at, owner, restricted}
-- @readonly
local cust = A.customer
if cust == '' then
  cust = redis.call('GET', P .. 'addr:' .. A.channel .. ':' .. A.address)
  if not cust then return { 0, '{}' } end
end
local ck = P .. 'cust:' .. cust
local c = redis.call('HMGET', ck, 'name', 'balance', 'last_proactive_at', 'owner', 'restricted')
if redis.call('EXISTS', ck) == 0 then return { 0, '{}' } end
local open, last = 0, 0
for _, cv in ipairs(redis.call('ZREVRANGE', ck .. ':convs', 0, 49)) do
  local v = redis.call('HMGET', P .. 'conv:' .. cv, 'status', 'last_message_at', 'created_at')
  if v[1] and v[1] ~= 'closed' then open = open + 1 end
  local at = tonumber(v[2] or v[3] or '0') or 0
  if at > last then last = at end
end
return { 1, cjson.encode({
  id = cust, name = c[1] or '', balance = tonumber(c[2] or '0') or 0,
  open_conversations = open, last_contact_at = last,
  last_proactive_at = tonumber(c[3] or '0') or 0, owner = c[4] or '',
  restricted = c[5] == '1', now = NOW }) }
