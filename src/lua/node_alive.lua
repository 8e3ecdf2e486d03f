-- node_alive: this node's heartbeat; at start, the connections it had
-- before a crash are gone: its agents' session counts are reset. The
-- nodes set holds every node with when its heartbeat ends; the reply
-- says how many other nodes beat now (the bus skips Redis when none do).
-- @key  alive   node:{node}:alive
-- @key  agents  agents
-- @key  nodes   nodes
-- @arg  node    str
-- @arg  ttl     int   ms the heartbeat lives
-- @arg  start   bool  the first beat after a start
-- @time
-- @reply others int   other nodes alive now
-- @reply agents any   at start, agents of this node that may need the
--                     grace timer
-- @lib  pools
redis.call('SET', K.alive, NOW, 'PX', A.ttl)
redis.call('ZADD', K.nodes, NOW + A.ttl, A.node)
redis.call('ZREMRANGEBYSCORE', K.nodes, '-inf', '(' .. NOW)
local others = redis.call('ZCARD', K.nodes) - 1
if not A.start then return { others, {} } end
local out = {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents)) do
  local akey = P .. 'agent:' .. a
  local h = redis.call('HMGET', akey, 'node', 'sessions', 'presence')
  if h[1] == A.node and tonumber(h[2] or '0') > 0 then
    redis.call('HSET', akey, 'sessions', 0, 'left_at', NOW)
    R.refresh(a)
  end
  if h[1] == A.node and h[3] and h[3] ~= 'offline' then out[#out + 1] = a end
end
return { others, out }
