-- agent_session: an agent's connection on a node opened or closed.
-- @key  agent   agent:{agent}
-- @key  agents  agents
-- @arg  agent   str   the agent
-- @arg  node    str   this node
-- @arg  delta   int   +1 (log-in) or -1 (gone)
-- @arg  name    str   display name
-- @time
-- @reply presence  str   log-in: the presence now
-- @reply reason    str   log-in
-- @reply convs     any   log-in: { conversation ids }
-- @reply offers    any   log-in: { offer ids }
-- @reply sessions  int   the agent's sessions now, on every node
-- @lib  pools
local akey = K.agent
if A.delta < 0 then
  local n = redis.call('HINCRBY', akey, 'sessions', -1)
  if n < 0 then redis.call('HSET', akey, 'sessions', 0); n = 0 end
  if n == 0 then redis.call('HSET', akey, 'left_at', NOW) end
  R.refresh(A.agent)
  return { '', '', {}, {}, n }
end
redis.call('SADD', K.agents, A.agent)
redis.call('HSET', akey, 'id', A.agent, 'name', A.name, 'node', A.node)
redis.call('HINCRBY', akey, 'sessions', 1)
redis.call('HSET', akey, 'changed_at', NOW)
local presence = redis.call('HGET', akey, 'presence')
if not presence or presence == 'offline' then
  redis.call('HSET', akey, 'presence', 'away', 'presence_reason', 'logged in',
    'presence_at', NOW, 'missed', 0)
end
R.refresh(A.agent)
local p = redis.call('HMGET', akey, 'presence', 'presence_reason', 'sessions')
return { p[1], p[2] or '', redis.call('SMEMBERS', akey .. ':convs'),
  redis.call('SMEMBERS', akey .. ':offers'), tonumber(p[3]) }
