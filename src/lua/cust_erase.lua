-- cust_erase: erase a customer (docs/operations.md#personal-data-export-erasure-retention),
-- one batch per call: the caller calls again while the answer is 'more'.
-- Each call removes conversations (oldest first, with their messages,
-- thread keys and indexes: purge.lib) up to `budget` messages; the call
-- that finds none left removes the customer's own keys. Every call is
-- atomic, so two erasures of one customer (two nodes, a retry) never
-- count a conversation twice.
-- @key  cust    cust:{customer}
-- @arg  customer str
-- @arg  first   bool  the first call: 'none' when there is no such customer,
--                     'open' when a conversation is not closed and not force
-- @arg  force   bool  also conversations not closed: taken out of their
--                     queue, offer, agent or the bot tier
-- @arg  budget  int   messages removed at most in this call
-- @time
-- @lib  queue
-- @lib  pools
-- @lib  search
-- @lib  purge
-- @reply tag     str  'none' | 'open' | 'more' | 'done'
-- @reply conversations int  removed in this call
-- @reply messages int
-- @reply files   int  attachment files announced for deletion (purge:files)
-- @reply addresses int  addresses unlinked ('done')
-- @reply ids     any  'open': ids of conversations not closed (at most 20;
--                     on a later call, the one found open: the erasure
--                     stops there, what the earlier calls removed stays removed);
--                     else the ids of the conversations removed in this call
local ck, cust = K.cust, A.customer
local lk = ck .. ':convs'
if A.first then
  if redis.call('EXISTS', ck) == 0 and redis.call('ZCARD', lk) == 0 then
    return { 'none', 0, 0, 0, 0, {} }
  end
  if not A.force then
    local open = {}
    for _, c in ipairs(redis.call('ZRANGE', lk, 0, -1)) do
      local st = redis.call('HGET', P .. 'conv:' .. c, 'status')
      if st and st ~= 'closed' then open[#open + 1] = c end
      if #open >= 20 then break end
    end
    if #open > 0 then return { 'open', 0, 0, 0, 0, open } end
  end
end
local convs, msgs, files, removed = 0, 0, 0, {}
while msgs < A.budget do
  local c = redis.call('ZRANGE', lk, 0, 0)[1]
  if not c then break end
  -- the customer may have written again between two calls: a conversation
  -- that is open now is not erased without force (nor anything after it)
  local st = not A.force and redis.call('HGET', P .. 'conv:' .. c, 'status')
  if st and st ~= 'closed' then
    -- what this call removed is answered first; the next call says 'open'
    if convs > 0 then return { 'more', convs, msgs, files, 0, removed } end
    return { 'open', 0, 0, 0, 0, { c } }
  end
  local done, m, f = G.conv(c, A.budget - msgs)
  msgs, files = msgs + m, files + f
  if not done then return { 'more', convs, msgs, files, 0, removed } end
  redis.call('ZREM', lk, c) -- also when its hash was gone already
  convs = convs + 1
  removed[#removed + 1] = c
end
if redis.call('ZCARD', lk) > 0 then return { 'more', convs, msgs, files, 0, removed } end
return { 'done', convs, msgs, files, G.customer(cust), removed }
