-- offer_end: an offer is accepted, rejected, or expired (by the agent or by
-- the clock), atomically.
-- ARGV: 1 prefix  2 how: accept | reject | expire | withdraw  3 offer id
--       4 agent ('' for expire: any)  5 now (ms)  6 reject cooldown (ms)
--       7 missed offers before away
-- Returns: accept: { 'ok', conversation, queue, queued_at, customer } ;
--          reject/withdraw: { 'ok', conversation }
--          expire: { 'ok', conversation, agent, '1' if the agent was set away, offer }
--          or { 'gone' } / { 'not_yours' }
local P, how, oid, agent, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local okey = P .. 'offer:' .. oid
local o = redis.call('HMGET', okey, 'conversation', 'agent', 'channel', 'queue', 'score',
  'expires_at')
if not o[1] then return { 'gone' } end
if agent ~= '' and o[2] ~= agent then return { 'not_yours' } end
local conv, owner, chan, queue, score = o[1], o[2], o[3], o[4], o[5]
if how == 'accept' and tonumber(o[6]) <= now then how = 'expire' end
if how == 'expire' and tonumber(o[6]) > now and agent == '' then return { 'gone' } end

local ckey = P .. 'conv:' .. conv
local akey = P .. 'agent:' .. owner
redis.call('DEL', okey)
redis.call('ZREM', P .. 'offers', oid)
redis.call('SREM', akey .. ':offers', oid)

if how == 'accept' then
  redis.call('HSET', ckey, 'status', 'assigned', 'agent', owner, 'assigned_at', now,
    'updated_at', now, 'offer', '', 'prefer_agent', '', 'prefer_until', 0)
  redis.call('SADD', akey .. ':convs', conv)
  redis.call('HSET', akey, 'last_assigned_at', now, 'missed', 0)
  local c = redis.call('HMGET', ckey, 'queue', 'queued_at', 'customer')
  return { 'ok', conv, c[1] or '', c[2] or '0', c[3] or '' }
end

-- back in the queue, at its old place
redis.call('HINCRBY', akey, 'load:' .. chan, -1)
redis.call('HSET', akey, 'changed_at', now)
if tonumber(redis.call('HGET', akey, 'load:' .. chan)) < 0 then
  redis.call('HSET', akey, 'load:' .. chan, 0)
end
if redis.call('HGET', ckey, 'status') == 'offered' then
  redis.call('HSET', ckey, 'status', 'queued', 'offer', '', 'updated_at', now)
  redis.call('ZADD', P .. 'queue:' .. queue, score, conv)
end
if how == 'reject' then
  redis.call('HSET', ckey .. ':declined', owner, now + tonumber(ARGV[6]))
  redis.call('PEXPIRE', ckey .. ':declined', 86400000)
  return { 'ok', conv }
end
if how == 'withdraw' then return { 'ok', conv } end
-- expired: count it; too many in a row and the agent is set away
redis.call('HSET', ckey .. ':declined', owner, now + tonumber(ARGV[6]))
redis.call('PEXPIRE', ckey .. ':declined', 86400000)
local missed = redis.call('HINCRBY', akey, 'missed', 1)
local away = '0'
if missed >= tonumber(ARGV[7]) and redis.call('HGET', akey, 'presence') == 'available' then
  redis.call('HSET', akey, 'presence', 'away', 'presence_reason', 'missed offers',
    'presence_at', now, 'missed', 0)
  away = '1'
end
return { 'ok', conv, owner, away, oid }
