-- cust_restrict: restrict the processing of a customer's data, or lift
-- the restriction (docs/admin-api.md). While `restricted` is set on the
-- customer, routing never hands their conversations to the bot tier
-- (omr_router_classify.c), and proactive contact must not reach them.
-- @key  cust    cust:{customer}
-- @arg  customer str
-- @arg  on      bool
-- @time
-- @reply tag    str  'ok' | 'none'
-- @reply since  int  when the restriction began (0: none)
local ck = K.cust
if redis.call('EXISTS', ck) == 0 then return { 'none', 0 } end
if not A.on then
  redis.call('HDEL', ck, 'restricted', 'restricted_at')
  return { 'ok', 0 }
end
local since = tonumber(redis.call('HGET', ck, 'restricted_at') or '')
if not since then
  since = NOW
  redis.call('HSET', ck, 'restricted', '1', 'restricted_at', since)
end
return { 'ok', since }
