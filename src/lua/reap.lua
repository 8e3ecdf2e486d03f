-- reap: agents whose node stopped beating (crashed and did not come back)
-- are taken offline by whichever node notices; see agent_presence.lua.
-- @key  agents  agents
-- Returns: { agent ids whose node is gone and who are not offline }
local out = {}
for _, a in ipairs(redis.call('SMEMBERS', K.agents)) do
  local h = redis.call('HMGET', P .. 'agent:' .. a, 'node', 'presence')
  if h[2] and h[2] ~= 'offline' and h[1] and
     redis.call('EXISTS', P .. 'node:' .. h[1] .. ':alive') == 0 then
    out[#out + 1] = a
  end
end
return out
