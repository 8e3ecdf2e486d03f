-- reap: nodes whose heartbeat ran out (killed, crashed, cut off) are dead.
-- Whichever node notices first, once: their agents' sessions there are
-- dropped, and this node answers for the agents left with no session (the
-- dead node's and those whose grace period it ran): they get their grace
-- here, time to reconnect through the load balancer and resume.
-- @key  nodes   nodes
-- @arg  node    str   this node
-- @time
-- @reply dead   any   { nodes found dead }
-- @reply agents any   { agents whose grace period now runs on this node }
-- @lib  pools
-- @lib  sessions
local dead, out = {}, {}
for _, d in ipairs(redis.call('ZRANGEBYSCORE', K.nodes, '-inf', '(' .. NOW)) do
  if d ~= A.node then
    dead[#dead + 1] = d
    local dkey = P .. 'node:' .. d .. ':agents'
    for _, a in ipairs(redis.call('SMEMBERS', dkey)) do
      local n, had = S.drop(a, d)
      local h = redis.call('HMGET', P .. 'agent:' .. a, 'node', 'presence')
      if had > 0 then
        if n == 0 then redis.call('HSET', P .. 'agent:' .. a, 'left_at', NOW) end
        R.refresh(a)
      end
      if n == 0 and (had > 0 or h[1] == d) and h[2] and h[2] ~= 'offline' then
        S.own(a, A.node)
        out[#out + 1] = a
      end
    end
    redis.call('DEL', dkey)
    redis.call('ZREM', K.nodes, d)
  end
end
return { dead, out }
