-- login_guard: log-in throttling shared by every node (omr_agents_auth.c).
-- Failed log-ins are counted per account and address, per account and per
-- address, each within a window; past a threshold the pair, the account or
-- the address is locked for a while. Time is Redis' own (TIME), so nodes
-- with skewed clocks agree.
-- ARGV: 1 prefix  2 mode: check | fail | ok  3 account ('' for a token)
--       4 address  5 window (ms)  6 lockout (ms)  7 failures per account
--       and address (the account alone: x10, the address alone: x5)
-- Returns: { locked_ms (0: not locked), what is locked ('' | 'pair' |
--          'account' | 'address'), failures of the address in the window,
--          failures of the account in the window }
local P, mode, acct, addr = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local window, lockout, max = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keys = {
  { 'pair', P .. 'login:pair:' .. acct .. ':' .. addr, max, acct ~= '' },
  { 'account', P .. 'login:acct:' .. acct, max * 10, acct ~= '' },
  { 'address', P .. 'login:addr:' .. addr, max * 5, true },
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
