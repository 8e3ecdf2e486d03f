-- console_session: console session tokens (omr_agents_resume.c). A session
-- is stored under the SHA-256 of its token (the token itself is never
-- stored), with whose it is, a fingerprint of the credential the agent
-- logged in with, the client's address, when it was made and when it ends
-- (Redis' clock); an agent's sessions are also listed, so that a revoke
-- ends them all. A session does not slide: it ends `ttl` after the log-in.
-- @key  sess    csess:{id}
-- @arg  mode    str   create | check | drop | revoke
-- @arg  id      str   SHA-256 hex of the token ('' for revoke)
-- @arg  agent   str   create, revoke: whose ('' otherwise)
-- @arg  cred    str   create: fingerprint of the credential
-- @arg  address str   create: the client's address
-- @arg  ttl     int   create: ms the session lasts
-- @time
-- @reply tag      str  'ok' | 'none'
-- @reply agent    str  check, drop: whose ('' none)
-- @reply cred     str  check: the credential's fingerprint
-- @reply left_ms  int  check: ms until it ends
-- @reply count    int  revoke: sessions ended
local function index(agent) return P .. 'csess:agent:' .. agent end

if A.mode == 'create' then
  local idx = index(A.agent)
  -- forget the agent's sessions that ended by themselves
  for _, id in ipairs(redis.call('SMEMBERS', idx)) do
    if redis.call('EXISTS', P .. 'csess:' .. id) == 0 then redis.call('SREM', idx, id) end
  end
  redis.call('HSET', K.sess, 'agent', A.agent, 'cred', A.cred, 'address', A.address,
    'created', NOW, 'expires', NOW + A.ttl)
  redis.call('PEXPIRE', K.sess, A.ttl)
  redis.call('SADD', idx, A.id)
  if redis.call('PTTL', idx) < A.ttl then redis.call('PEXPIRE', idx, A.ttl) end
  return { 'ok', A.agent, '', A.ttl, 1 }
end

if A.mode == 'revoke' then
  local idx = index(A.agent)
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', idx)) do
    n = n + redis.call('DEL', P .. 'csess:' .. id)
  end
  redis.call('DEL', idx)
  return { 'ok', A.agent, '', 0, n }
end

local s = redis.call('HMGET', K.sess, 'agent', 'cred', 'expires')
if not s[1] then return { 'none', '', '', 0, 0 } end
local left = tonumber(s[3] or '0') - NOW
if A.mode == 'drop' or left <= 0 then
  redis.call('DEL', K.sess)
  redis.call('SREM', index(s[1]), A.id)
  if A.mode == 'drop' then return { 'ok', s[1], '', 0, 1 } end
  return { 'none', '', '', 0, 0 }
end
return { 'ok', s[1], s[2] or '', left, 0 }
