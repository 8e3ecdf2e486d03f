-- node_alive: this node's heartbeat; at start, the connections it had
-- before a crash are gone: its agents' session counts are reset.
-- @key  alive   node:{node}:alive
-- @key  agents  agents
-- @arg  node    str
-- @arg  ttl     int   ms the heartbeat lives
-- @arg  start   bool  the first beat after a start
-- @time
-- Returns: at start, { agents of this node that may need the grace timer }
redis.call('SET', K.alive, NOW, 'PX', A.ttl)
if not A.start then return {} end
local out = {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents)) do
  local akey = P .. 'agent:' .. a
  local h = redis.call('HMGET', akey, 'node', 'sessions', 'presence')
  if h[1] == A.node and tonumber(h[2] or '0') > 0 then
    redis.call('HSET', akey, 'sessions', 0, 'left_at', NOW)
  end
  if h[1] == A.node and h[3] and h[3] ~= 'offline' then out[#out + 1] = a end
end
return out
