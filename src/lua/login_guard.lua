-- login_guard: log-in throttling shared by every node (omr_agents_auth.c).
-- Failed log-ins are counted per account and address, per account and per
-- address, each within a window; past a threshold the pair, the account or
-- the address is locked for a while. Time is Redis' own (TIME), so nodes
-- with skewed clocks agree.
-- @key  address login:addr:{address}
-- @arg  mode    str   check | fail | ok
-- @arg  account str   '' for a token
-- @arg  address str
-- @arg  window  int   ms a failure counts
-- @arg  lockout int   ms a lock lasts
-- @arg  max     int   failures per account and address (the account alone: x10,
--                     the address alone: x5)
-- @time
-- @reply locked_ms int  0: not locked
-- @reply what      str  '' | 'pair' | 'account' | 'address'
-- @reply address_failures int  in the window
-- @reply account_failures int  in the window
local mode, acct, addr = A.mode, A.account, A.address
local window, lockout, max, now = A.window, A.lockout, A.max, NOW
local keys = {
  { 'pair', P .. 'login:pair:' .. acct .. ':' .. addr, max, acct ~= '' },
  { 'account', P .. 'login:acct:' .. acct, max * 10, acct ~= '' },
  { 'address', K.address, max * 5, true },
}

local function locked()
  for _, k in ipairs(keys) do
    if k[4] then
      local left = redis.call('PTTL', k[2] .. ':lock')
      if left > 0 then return left, k[1] end
    end
  end
  return 0, ''
end

local function failures(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  return redis.call('ZCARD', key)
end

if mode == 'ok' then
  if acct ~= '' then redis.call('DEL', keys[1][2]) end
  return { 0, '', 0, 0 }
end
if mode == 'fail' then
  for _, k in ipairs(keys) do
    if k[4] then
      redis.call('ZADD', k[2], now, now .. ':' .. redis.call('INCR', k[2] .. ':seq'))
      redis.call('PEXPIRE', k[2], window)
      redis.call('PEXPIRE', k[2] .. ':seq', window)
      if failures(k[2]) >= k[3] then
        redis.call('SET', k[2] .. ':lock', '1', 'PX', lockout)
      end
    end
  end
end
local left, what = locked()
return { left, what, failures(keys[3][2]), acct ~= '' and failures(keys[2][2]) or 0 }
