-- cust_link: link two identities of one customer, or unlink one
-- (docs/search.md#linked-identities). Linked customers form a group
-- (cust:<c> field `group`, set cgroup:<g>): each keeps its own record,
-- addresses, balance and conversations; the agent's view lists the
-- conversations of the whole group as earlier ones, and the agents who
-- serve one serve all. Linking two groups merges them; unlinking takes
-- `other` out of the customer's group (a group of one is none). Atomic,
-- so two agents linking at once on two nodes leave one consistent group.
-- @key  cust    cust:{customer}
-- @arg  customer str
-- @arg  other   str
-- @arg  link    bool  true: link; false: unlink
-- @arg  group   str   the id of a new group, if one is needed
-- @arg  conversation str the searcher's conversation of customer (checked:
--                     theirs), '' : not checked (a supervisor)
-- @arg  agent   str
-- @arg  queues  str   other must have a conversation in these queues (comma
--                     separated, '*' any): the agent could find it
-- @arg  max     int   customers in one group, at most
-- @lib  search
-- @reply tag    str   'ok' | 'same' (nothing changed) | 'none' (no such
--                     customer) | 'not_yours' | 'too_many' | 'bad_request'
-- @reply group  any   the customer's group afterwards: { customer, ... }
local cust, other = A.customer, A.other
if cust == other then return { 'bad_request', {} } end
local ck, ok = K.cust, P .. 'cust:' .. other
if redis.call('EXISTS', ck) == 0 or redis.call('EXISTS', ok) == 0 then return { 'none', {} } end
if A.conversation ~= '' then
  local c = redis.call('HMGET', P .. 'conv:' .. A.conversation, 'customer', 'agent')
  if c[1] ~= cust or c[2] ~= A.agent then return { 'not_yours', {} } end
end
if A.link and A.queues ~= '*' then
  -- the other identity: one the agent may find (a conversation of theirs)
  local seen, qs = false, ',' .. A.queues .. ','
  for _, v in ipairs(redis.call('ZREVRANGE', ok .. ':convs', 0, 99)) do
    local q = redis.call('HGET', P .. 'conv:' .. v, 'queue')
    if q and string.find(qs, ',' .. q .. ',', 1, true) then seen = true break end
  end
  if not seen then return { 'not_yours', {} } end
end
local g1, g2 = redis.call('HGET', ck, 'group'), redis.call('HGET', ok, 'group')
if not A.link then
  if not g1 or g1 ~= g2 then return { 'same', F.group(cust) } end
  F.ungroup(other)
  return { 'ok', F.group(cust) }
end
if g1 and g1 == g2 then return { 'same', F.group(cust) } end
local s1 = g1 and redis.call('SCARD', P .. 'cgroup:' .. g1) or 1
local s2 = g2 and redis.call('SCARD', P .. 'cgroup:' .. g2) or 1
if s1 + s2 > A.max then return { 'too_many', F.group(cust) } end
-- the larger group stays; the other's members move into it
local keep, from = g1, g2
if not keep or (from and s2 > s1) then keep, from = g2, g1 end
keep = keep or A.group
local kk = P .. 'cgroup:' .. keep
local moving = { cust, other }
if from then
  for _, m in ipairs(redis.call('SMEMBERS', P .. 'cgroup:' .. from)) do moving[#moving + 1] = m end
  redis.call('DEL', P .. 'cgroup:' .. from)
end
for _, m in ipairs(moving) do
  redis.call('SADD', kk, m)
  redis.call('HSET', P .. 'cust:' .. m, 'group', keep)
end
return { 'ok', F.group(cust) }
