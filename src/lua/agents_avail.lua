-- agents_avail: is anybody there to answer a web chat visitor? The number
-- of agents (0 or 1: it stops at the first) who are logged in (a session)
-- and available. The web chat's offline form is offered when it is 0
-- (docs/channels/webchat.md#offline-form). Reads only.
-- @key  agents  agents
-- @reply n      int   1: an agent is available, 0: nobody
-- @readonly
for _, id in ipairs(redis.call('SMEMBERS', K.agents)) do
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'presence', 'sessions')
  if a[1] == 'available' and tonumber(a[2] or '0') > 0 then return { 1 } end
end
return { 0 }
