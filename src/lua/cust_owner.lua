-- cust_owner: set or clear a customer's contact person and their deputy
-- (docs/routing.md#contact-person): by an admin (the customer), or by the
-- agent who has one of the customer's conversations ("make me their
-- contact person": the conversation). The agents are checked against
-- agents.yaml by the caller.
-- @key  cust    cust:{customer}
-- @key  conv    conv:{conversation}
-- @arg  customer str   '' : the customer of conversation
-- @arg  conversation str '' : by customer
-- @arg  action  str   set | clear | claim (claim: owner is the agent who has
--                     the conversation; their deputy stays unless it is them)
-- @arg  owner   str
-- @arg  deputy  str   '' none
-- @arg  by      str   who (for the customer's owner_by)
-- @time
-- @reply tag    str   'ok' | 'no_customer' | 'not_yours' (claim: the
--                     conversation is not assigned to owner) | 'no_conversation'
-- @reply customer str
-- @reply owner  str   as it is now ('' none)
-- @reply deputy str
-- @reply was    str   the owner before ('' none)
local key, cust = K.cust, A.customer
if A.action == 'claim' then
  local c = redis.call('HMGET', K.conv, 'customer', 'agent', 'status')
  if not c[1] then return { 'no_conversation', '', '', '', '' } end
  if c[2] ~= A.owner or (c[3] ~= 'assigned' and c[3] ~= 'wrapup') then
    return { 'not_yours', c[1], '', '', '' }
  end
  cust = c[1]
  key = P .. 'cust:' .. cust
end
if redis.call('EXISTS', key) == 0 then return { 'no_customer', cust, '', '', '' } end
local old = redis.call('HMGET', key, 'owner', 'deputy')
local was = old[1] or ''
if A.action == 'clear' then
  redis.call('HDEL', key, 'owner', 'deputy', 'owner_at', 'owner_by')
  return { 'ok', cust, '', '', was }
end
local deputy = A.deputy
if A.action == 'claim' then
  deputy = old[2] or ''
  if deputy == A.owner then deputy = '' end
end
redis.call('HSET', key, 'owner', A.owner, 'owner_at', NOW, 'owner_by', A.by, 'updated_at', NOW)
if deputy ~= '' then redis.call('HSET', key, 'deputy', deputy)
else redis.call('HDEL', key, 'deputy') end
return { 'ok', cust, A.owner, deputy, was }
