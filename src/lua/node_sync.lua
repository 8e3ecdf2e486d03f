-- node_sync: this node's sessions as it holds them, after a reconnection
-- to Redis. A log-in or log-out sent while Redis was away, or whose answer
-- was lost, may have left the counts wrong either way: each agent with a
-- console here gets the number of its consoles here (set, not added); every
-- other agent this node had sessions of or answered for loses them, and
-- those left with none get their grace period here.
-- @key  mine    node:{node}:agents
-- @arg  node    str
-- @rest counts  agent, consoles here, agent, consoles here, ...
-- @time
-- @reply graced any  { agents with no session left, whose grace runs here }
-- @lib  pools
-- @lib  sessions
local here, out = {}, {}
for i = 1, #REST - 1, 2 do
  local a, n = REST[i], tonumber(REST[i + 1])
  here[a] = true
  S.add(a, A.node, n, true)
  R.refresh(a)
end
for _, a in ipairs(redis.call('SMEMBERS', K.mine)) do
  if not here[a] then
    local r = S.hand_over(a, A.node, A.node)
    if r == 'grace' then out[#out + 1] = a
    elseif r == 'stale' then redis.call('SREM', K.mine, a) end
  end
end
return { out }
