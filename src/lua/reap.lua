-- reap: nodes whose heartbeat ran out (killed, crashed, cut off) are dead.
-- Whichever node notices first, once: their agents' sessions there are
-- dropped, and this node answers for the agents left with no session (the
-- dead node's and those whose grace period it ran): they get their grace
-- here, time to reconnect through the load balancer and resume.
-- With sweep (every minute or so), it also looks for agents that nobody
-- takes offline: not offline, no session anywhere, gone for longer than
-- the grace period and a margin (a reply lost with a connection, a grace
-- timer on a node that was cut off): they are handed to this node too.
-- @key  nodes   nodes
-- @key  agents  agents
-- @arg  node    str   this node
-- @arg  sweep   bool  look for forgotten agents too
-- @arg  grace   int   ms: sessions.grace plus a margin
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
      if S.hand_over(a, d, A.node) == 'grace' then out[#out + 1] = a end
    end
    redis.call('DEL', dkey)
    redis.call('ZREM', K.nodes, d)
  end
end
if A.sweep then
  for _, a in ipairs(redis.call('SMEMBERS', K.agents)) do
    local h = redis.call('HMGET', P .. 'agent:' .. a, 'presence', 'sessions', 'left_at')
    if h[1] and h[1] ~= 'offline' and tonumber(h[2] or '0') <= 0 and
       tonumber(h[3] or '0') + A.grace < NOW then
      S.own(a, A.node)
      out[#out + 1] = a
    end
  end
end
return { dead, out }
