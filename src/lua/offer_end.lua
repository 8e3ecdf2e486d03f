-- offer_end: an offer is accepted, rejected, or expired (by the agent or by
-- the clock), atomically.
-- @key  offer   offer:{offer}
-- @key  offers  offers
-- @arg  how     str   accept | reject | expire | withdraw
-- @arg  offer   str
-- @arg  agent   str   '' for expire: any
-- @arg  cooldown int  ms a rejected or missed conversation is not offered to the agent again
-- @arg  missed  int   missed offers in a row before the agent is set away
-- @arg  day     str   no longer read (the report's bucket is Redis' clock:
--                     report.lib); kept for the callers
-- @arg  sla     json  accept: {queue: ms an answer may take to count in the
--                     service level, -1: no service level} for every
--                     configured queue
-- @arg  late    int   accept: a late answer's change of the customer's balance
-- @arg  min     int   the balance's bounds
-- @arg  max     int
-- @arg  view_max int  accept: the conversation as the agent sees it comes
--                     with the answer (view.lib), with this many messages at
--                     most; 0: not
-- @arg  view_earlier int  and this many of the customer's earlier conversations
-- @time
-- @reply tag      str   'ok' | 'gone' | 'not_yours'
-- @reply outcome  str   accept | reject | withdraw | expire (an accept past
--                       the offer's time is an expire)
-- @reply conversation str
-- @reply agent    str   the offer's agent
-- @reply queue    str   accept: the queue it waited in
-- @reply customer str   accept
-- @reply waited   int   accept: ms it waited in the queue (Redis' clock)
-- @reply away     int   expire: 1 if the agent was set away for missing it
-- @reply offer    str
-- @reply view     any   accept with view_max: what agent_view.lua answers
-- @lib  queue
-- @lib  pools
-- @lib  report
-- @lib  engage
-- @lib  search
-- @lib  view
-- @lib  presence
local how, oid, agent, now = A.how, A.offer, A.agent, NOW
local okey = K.offer
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
redis.call('ZREM', K.offers, oid)
redis.call('SREM', akey .. ':offers', oid)

if how == 'accept' then
  -- what the accept reads of the conversation, in one read (none of it is
  -- what the accept writes)
  local c = redis.call('HMGET', ckey, 'queue', 'queued_at', 'customer', 'requeued_at',
    'callback_state', 'answered_at', 'transfer')
  -- the offer card's "transferred from": shown
  if c[7] then redis.call('HDEL', ckey, 'transfer') end
  local set = { 'status', 'assigned', 'agent', owner, 'assigned_at', now,
    'updated_at', now, 'offer', '', 'prefer_agent', '', 'prefer_until', 0 }
  -- the first answer, kept through transfers and requeues (--simulate)
  if not c[6] then set[#set + 1] = 'answered_at'; set[#set + 1] = now end
  -- a callback that came due (callbacks_due.lua), taken in time or late
  local cbs = c[5]
  local callback = cbs == 'due' or cbs == 'missed'
  if callback then set[#set + 1] = 'callback_state'; set[#set + 1] = 'done' end
  redis.call('HSET', ckey, unpack(set))
  redis.call('SADD', akey .. ':convs', conv)
  redis.call('HSET', akey, 'last_assigned_at', now, 'missed', 0)
  R.refresh(owner)
  -- waited since it last entered the queue: routed, handed over by the
  -- bot, or put back (a transfer, its agent gone: requeued_at)
  local queued_at = math.max(tonumber(c[2] or '0') or 0, tonumber(c[4] or '0') or 0)
  local waited = queued_at > 0 and now - queued_at or 0
  -- the answer counts for the queue's service level (report.lib: the
  -- queue without one, or no longer configured, counts it in time); a
  -- late one withdraws from the customer's balance
  local within = (A.sla or '') ~= '' and c[1] and cjson.decode(A.sla)[c[1]]
  local in_sla = not within or within < 0 or waited <= within
  T.answered(c[1] or queue, owner, waited, in_sla)
  if not in_sla then E.move(c[3], A.late, 'sla_breach', conv, A.min, A.max) end
  if callback then
    redis.call('ZREM', P .. 'callbacks', conv)
    redis.call('HINCRBY', P .. 'callbacks:count', 'done', 1)
    T.add('q|' .. (c[1] or queue) .. '|' .. chan .. '|callbacks_done', 1)
  end
  -- the view cannot undo the accept: should it fail, the agent gets the
  -- conversation at their next welcome
  local view = {}
  if (A.view_max or 0) > 0 then
    local ok, v = pcall(V.conv, conv, owner, A.view_max, A.view_earlier)
    if ok then view = v end
  end
  return { 'ok', 'accept', conv, owner, c[1] or '', c[3] or '', waited, 0, oid, view }
end

-- back in the queue, at its old place
if redis.call('HINCRBY', akey, 'load:' .. chan, -1) < 0 then
  redis.call('HSET', akey, 'load:' .. chan, 0, 'changed_at', now)
else
  redis.call('HSET', akey, 'changed_at', now)
end
if redis.call('HGET', ckey, 'status') == 'offered' then
  redis.call('HSET', ckey, 'status', 'queued', 'offer', '', 'updated_at', now)
  Q.add(queue, score, conv)
end
if how ~= 'expire' then R.refresh(owner) end
if how == 'reject' then
  T.agent(owner, 'rejected')
  redis.call('HSET', ckey .. ':declined', owner, now + A.cooldown)
  redis.call('HDEL', ckey .. ':declined', 'm:' .. owner) -- said no: not only missed
  redis.call('PEXPIRE', ckey .. ':declined', 86400000)
  return { 'ok', 'reject', conv, owner, queue, '', 0, 0, oid }
end
if how == 'withdraw' then return { 'ok', 'withdraw', conv, owner, queue, '', 0, 0, oid } end
-- expired: count it; too many in a row and the agent is set away
T.agent(owner, 'missed')
-- 'm:' marks a miss (not a no): offer.lua offers it again to them when
-- nobody else is ready for it
redis.call('HSET', ckey .. ':declined', owner, now + A.cooldown, 'm:' .. owner, 1)
redis.call('PEXPIRE', ckey .. ':declined', 86400000)
local missed = redis.call('HINCRBY', akey, 'missed', 1)
local away = 0
if missed >= A.missed and redis.call('HGET', akey, 'presence') == 'available' then
  redis.call('HSET', akey, 'presence', 'away', 'presence_reason', 'missed offers',
    'presence_at', now, 'missed', 0)
  H.changed(owner, 'away', 'missed offers', 'system')
  away = 1
end
R.refresh(owner)
return { 'ok', 'expire', conv, owner, queue, '', 0, away, oid }
