-- agents_state: the live state of agents (presence, sessions, loads).
-- @key  agents  agents
-- @rest agents  agent ids
-- Returns: { { agent hash, number of conversations, node alive 0|1 }, ... }
local out = {}
for _, id in ipairs(REST) do
  local key = P .. 'agent:' .. id
  local node = redis.call('HGET', key, 'node')
  out[#out + 1] = { redis.call('HGETALL', key), redis.call('SCARD', key .. ':convs'),
    node and redis.call('EXISTS', P .. 'node:' .. node .. ':alive') or 0 }
end
return out
