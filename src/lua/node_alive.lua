-- node_alive: this node's heartbeat; at start ('1'), the connections it had
-- before a crash are gone: its agents' session counts are reset.
-- ARGV: 1 prefix  2 node  3 ttl (ms)  4 start ('1' or '0')  5 now
-- Returns: at start, { agents of this node that may need the grace timer }
local P, node = ARGV[1], ARGV[2]
redis.call('SET', P .. 'node:' .. node .. ':alive', ARGV[5], 'PX', ARGV[3])
if ARGV[4] ~= '1' then return {} end
local out = {}
for _, a in ipairs(redis.call('SMEMBERS', P .. 'agents')) do
  local akey = P .. 'agent:' .. a
  local h = redis.call('HMGET', akey, 'node', 'sessions', 'presence')
  if h[1] == node and tonumber(h[2] or '0') > 0 then
    redis.call('HSET', akey, 'sessions', 0, 'left_at', ARGV[5])
  end
  if h[1] == node and h[3] and h[3] ~= 'offline' then out[#out + 1] = a end
end
return out
