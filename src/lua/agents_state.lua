-- agents_state: the live state of agents (presence, sessions, loads).
-- @key  agents  agents
-- @rest agents  agent ids
-- Returns: { { agent hash, number of conversations, connected to a live
--   node 0|1 }, ... }
-- @lib  sessions
-- @readonly
local out = {}
for _, id in ipairs(REST) do
  local key = P .. 'agent:' .. id
  out[#out + 1] = { redis.call('HGETALL', key), redis.call('SCARD', key .. ':convs'),
    S.live(id) and 1 or 0 }
end
return out
