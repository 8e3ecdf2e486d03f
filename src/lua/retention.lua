-- retention: one batch of the retention sweep (omniroute.yaml retention:,
-- docs/configuration.md). Every node runs it now and then; each call is
-- atomic and chooses what it removes itself, so two nodes never remove
-- (nor count) the same conversation twice, and a call is bounded (at most
-- max_convs conversations looked at, `budget` messages removed, 100 keys
-- scanned), so Redis is never held for long.
--
-- Closed conversations: those created before the cutoff (convs, by
-- created_at) are looked at in order from `offset` (retention:state),
-- the number of those before it that were kept (open, or closed more
-- recently); one closed before the cutoff goes with everything that hangs
-- off it (purge.lib). A full pass starts again from the oldest.
-- Customers: SCAN over cust:* from `cursor`; one with no conversation
-- whose last sign of life (created, renamed, a conversation closed or
-- purged) is older than its cutoff goes.
-- @key  state   retention:state
-- @key  convs   convs
-- @arg  closed_ms   int  closed conversations older than this go (0: kept)
-- @arg  customer_ms int  customers without conversations, idle this long, go (0: kept)
-- @arg  max_convs   int  conversations looked at, at most
-- @arg  budget      int  messages removed, at most
-- @time
-- @lib  queue
-- @lib  pools
-- @lib  search
-- @lib  purge
-- @reply more     int  1: more to do now (call again after a pause); 0: done for this round
-- @reply conversations int
-- @reply messages int
-- @reply files    int  attachment files announced for deletion (purge:files)
-- @reply customers int
local sk = K.state
local more, convs, msgs, files, custs = 0, 0, 0, 0, 0

local function seen(cust, at)
  local k = P .. 'cust:' .. cust
  if at and redis.call('EXISTS', k) == 1 and
     tonumber(redis.call('HGET', k, 'last_contact_at') or '0') < at then
    redis.call('HSET', k, 'last_contact_at', at)
  end
end

if A.closed_ms > 0 then
  local cutoff = NOW - A.closed_ms
  local off = tonumber(redis.call('HGET', sk, 'offset') or '0') or 0
  local ids = redis.call('ZRANGEBYSCORE', K.convs, '-inf', cutoff, 'LIMIT', off, A.max_convs)
  local stopped = false
  for _, id in ipairs(ids) do
    if msgs >= A.budget then stopped = true break end
    local c = redis.call('HMGET', P .. 'conv:' .. id, 'status', 'closed_at', 'customer',
      'last_message_at')
    local closed = tonumber(c[2] or '')
    if not c[1] then
      redis.call('ZREM', K.convs, id) -- an entry whose conversation is gone
    elseif c[1] == 'closed' and closed and closed <= cutoff then
      local done, m, f = G.conv(id, A.budget - msgs)
      msgs, files = msgs + m, files + f
      if not done then stopped = true break end
      convs = convs + 1
      if c[3] then seen(c[3], math.max(closed, tonumber(c[4] or '0') or 0)) end
    else
      off = off + 1
    end
  end
  if stopped or #ids >= A.max_convs then
    more = 1
  else
    off = 0 -- the round is over: the next starts from the oldest
  end
  redis.call('HSET', sk, 'offset', off)
end

if A.customer_ms > 0 and more == 0 then
  local cutoff = NOW - A.customer_ms
  local pat = P:gsub('[%*%?%[%]\\]', '\\%0') .. 'cust:*'
  local r = redis.call('SCAN', redis.call('HGET', sk, 'cursor') or '0', 'MATCH', pat,
    'COUNT', 100)
  for _, k in ipairs(r[2]) do
    local id = k:sub(#P + 6)
    if not id:find(':', 1, true) and redis.call('EXISTS', k) == 1 and
       redis.call('ZCARD', k .. ':convs') == 0 then
      local t = redis.call('HMGET', k, 'created_at', 'updated_at', 'last_closed_at',
        'last_contact_at')
      local last = 0
      for i = 1, 4 do last = math.max(last, tonumber(t[i] or '0') or 0) end
      if last <= cutoff then
        G.customer(id)
        custs = custs + 1
      end
    end
  end
  redis.call('HSET', sk, 'cursor', r[1])
  if r[1] ~= '0' then more = 1 end
end
return { more, convs, msgs, files, custs }
