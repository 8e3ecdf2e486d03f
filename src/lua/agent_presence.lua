-- agent_presence: set an agent's presence. Going offline (by choice, or by
-- the clock after a disconnect) withdraws the agent's offers and puts the
-- agent's conversations that are not in wrap-up back in their queues, with
-- the agent preferred for a while in case they come back.
-- @key  agent   agent:{agent}
-- @arg  agent   str   the agent
-- @arg  status  str   available | away | offline
-- @arg  reason  str   why ('' none)
-- @arg  by      str   who set it: agent | supervisor:<id> | system (agents:history)
-- @arg  only_if_gone bool  only when the agent has no session (the grace period ran out)
-- @arg  prefer  int   ms a requeued conversation waits for the agent
-- @time
-- @reply tag       str  'ok' | 'skip'
-- @reply withdrawn any  { offer ids withdrawn }
-- @reply requeued  any  { conversation ids requeued }
-- @lib  queue
-- @lib  pools
-- @lib  report
-- @lib  presence
local akey = K.agent
if A.only_if_gone and tonumber(redis.call('HGET', akey, 'sessions') or '0') > 0 then
  return { 'skip', {}, {} }
end
redis.call('HSET', akey, 'presence', A.status, 'presence_reason', A.reason, 'presence_at', NOW,
  'changed_at', NOW)
H.changed(A.agent, A.status, A.reason, A.by)
if A.status == 'available' then redis.call('HSET', akey, 'missed', 0) end
if A.status ~= 'offline' then
  R.refresh(A.agent)
  return { 'ok', {}, {} }
end

local withdrawn, requeued = {}, {}
for _, oid in ipairs(redis.call('SMEMBERS', akey .. ':offers')) do
  local o = redis.call('HMGET', P .. 'offer:' .. oid, 'conversation', 'channel', 'queue', 'score')
  redis.call('DEL', P .. 'offer:' .. oid)
  redis.call('ZREM', P .. 'offers', oid)
  if o[1] then
    redis.call('HINCRBY', akey, 'load:' .. o[2], -1)
    local ckey = P .. 'conv:' .. o[1]
    if redis.call('HGET', ckey, 'status') == 'offered' then
      redis.call('HSET', ckey, 'status', 'queued', 'offer', '', 'updated_at', NOW)
      Q.add(o[3], o[4], o[1])
    end
  end
  withdrawn[#withdrawn + 1] = oid
end
redis.call('DEL', akey .. ':offers')
for _, conv in ipairs(redis.call('SMEMBERS', akey .. ':convs')) do
  local ckey = P .. 'conv:' .. conv
  local c = redis.call('HMGET', ckey, 'status', 'queue', 'channel', 'score')
  if c[1] == 'assigned' then
    redis.call('HSET', ckey, 'status', 'queued', 'agent', '', 'prefer_agent', A.agent,
      'prefer_until', NOW + A.prefer, 'updated_at', NOW, 'requeued_at', NOW)
    Q.add(c[2], c[4] or NOW, conv)
    T.queued(c[2], c[3])
    redis.call('SREM', akey .. ':convs', conv)
    redis.call('HINCRBY', akey, 'load:' .. c[3], -1)
    requeued[#requeued + 1] = conv
  end
end
-- loads can only be held by what is left (conversations in wrap-up)
for _, f in ipairs(redis.call('HKEYS', akey)) do
  if string.sub(f, 1, 5) == 'load:' and tonumber(redis.call('HGET', akey, f)) < 0 then
    redis.call('HSET', akey, f, 0)
  end
end
R.refresh(A.agent)
return { 'ok', withdrawn, requeued }
