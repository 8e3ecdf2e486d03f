-- agent_session: an agent's connection on a node opened or closed.
-- ARGV: 1 prefix  2 agent  3 node  4 now (ms)  5 +1 (login) or -1 (gone)
--       6 display name
-- Returns: login: { presence, reason, { conversation ids }, { offer ids } }
--          gone:  { sessions left }
local P, agent, node, now, delta = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local akey = P .. 'agent:' .. agent
if delta < 0 then
  local n = redis.call('HINCRBY', akey, 'sessions', -1)
  if n < 0 then redis.call('HSET', akey, 'sessions', 0); n = 0 end
  if n == 0 then redis.call('HSET', akey, 'left_at', now) end
  return { n }
end
redis.call('SADD', P .. 'agents', agent)
redis.call('HSET', akey, 'id', agent, 'name', ARGV[6], 'node', node)
redis.call('HINCRBY', akey, 'sessions', 1)
redis.call('HSET', akey, 'changed_at', now)
local presence = redis.call('HGET', akey, 'presence')
if not presence or presence == 'offline' then
  redis.call('HSET', akey, 'presence', 'away', 'presence_reason', 'logged in',
    'presence_at', now, 'missed', 0)
end
local p = redis.call('HMGET', akey, 'presence', 'presence_reason')
return { p[1], p[2] or '', redis.call('SMEMBERS', akey .. ':convs'),
  redis.call('SMEMBERS', akey .. ':offers') }
