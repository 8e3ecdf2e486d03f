-- node_alive: this node's heartbeat. The nodes set holds every node with
-- when its heartbeat ends; a node whose time is past is dead until
-- reap.lua hands over what it answered for. At start, the sessions this
-- node had before it stopped are gone: they are dropped, and the agents
-- it answers for who have no session left get their grace period here.
-- @key  alive   node:{node}:alive
-- @key  nodes   nodes
-- @key  mine    node:{node}:agents
-- @arg  node    str
-- @arg  ttl     int   ms the heartbeat lives
-- @arg  start   bool  the first beat after a start
-- @time
-- @reply others  int   other nodes alive now (the bus skips Redis when none)
-- @reply agents  any   at start, agents that need the grace timer here
-- @reply rejoined int  1: not a start, yet this node had been reaped as
--                      dead (cut off from Redis longer than its ttl): its
--                      sessions must be counted again
-- @lib  pools
-- @lib  sessions
redis.call('SET', K.alive, NOW, 'PX', A.ttl)
local new = redis.call('ZADD', K.nodes, NOW + A.ttl, A.node)
local others = redis.call('ZCOUNT', K.nodes, NOW, '+inf') - 1
if not A.start then return { others, {}, new } end
local out = {}
for _, a in ipairs(redis.call('SMEMBERS', K.mine)) do
  local n, had = S.drop(a, A.node)
  local h = redis.call('HMGET', P .. 'agent:' .. a, 'node', 'presence')
  if had > 0 then
    if n == 0 then redis.call('HSET', P .. 'agent:' .. a, 'left_at', NOW) end
    R.refresh(a)
  end
  if n == 0 and (had > 0 or h[1] == A.node) and h[2] and h[2] ~= 'offline' then
    S.own(a, A.node)
    out[#out + 1] = a
  elseif h[1] ~= A.node then
    redis.call('SREM', K.mine, a)
  end
end
return { others, out, 0 }
