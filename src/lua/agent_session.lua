-- agent_session: an agent's connection on a node opened or closed.
-- Sessions are counted per node (sessions.lib); the node where the last
-- one closed answers for the agent's grace period.
-- @key  agent   agent:{agent}
-- @key  agents  agents
-- @arg  agent   str   the agent
-- @arg  node    str   this node
-- @arg  delta   int   +1 (log-in) or -1 (gone); with set, this node's count
-- @arg  set     bool  delta is this node's count: a node that was reaped as
--                     dead (cut off longer than its heartbeat) counts its
--                     sessions again
-- @arg  name    str   display name
-- @time
-- @reply presence  str   log-in: the presence now
-- @reply reason    str   log-in
-- @reply convs     any   log-in: { conversation ids }
-- @reply offers    any   log-in: { offer ids }
-- @reply sessions  int   the agent's sessions now, on every node
-- @lib  pools
-- @lib  sessions
-- @lib  presence
local akey = K.agent
if A.delta < 0 then
  local n = S.add(A.agent, A.node, -1)
  if n == 0 then
    redis.call('HSET', akey, 'left_at', NOW)
    S.own(A.agent, A.node)
  end
  R.refresh(A.agent)
  return { '', '', {}, {}, n }
end
redis.call('SADD', K.agents, A.agent)
redis.call('HSET', akey, 'id', A.agent, 'name', A.name, 'changed_at', NOW)
local n = S.add(A.agent, A.node, A.delta, A.set)
S.own(A.agent, A.node)
local presence = redis.call('HGET', akey, 'presence')
if not presence or presence == 'offline' then
  redis.call('HSET', akey, 'presence', 'away', 'presence_reason', 'logged in',
    'presence_at', NOW, 'missed', 0)
  H.changed(A.agent, 'away', 'logged in', 'system')
end
R.refresh(A.agent)
local p = redis.call('HMGET', akey, 'presence', 'presence_reason')
return { p[1], p[2] or '', redis.call('SMEMBERS', akey .. ':convs'),
  redis.call('SMEMBERS', akey .. ':offers'), n }
