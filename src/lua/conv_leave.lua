-- conv_leave: the customer left (a web chat visitor ended the chat) before
-- an agent accepted: the open conversation of the thread is closed, taken
-- out of its queue, its offer withdrawn (the agent has room again), and
-- counted as abandoned (report.lib), atomically. With the bot or parked
-- after an automatic answer, it is closed as the idle close would close
-- it (the bot kept it: contained). Once an agent has it, nothing changes:
-- the agent closes it; a promised callback is kept too. A conversation not
-- routed yet is closed; the router
-- then finds it closed and leaves it.
-- @key  open    open:{channel}:{thread}
-- @arg  channel str
-- @arg  thread  str
-- @arg  sla     json  {queue: ms an answer may take to count in the service
--                     level, -1: no service level}: a longer wait is a late
--                     abandon
-- @arg  left  int    the abandon's change of the customer's balance
-- @arg  min   int    the balance's bounds
-- @arg  max   int
-- @time
-- @lib  queue
-- @lib  pools
-- @lib  report
-- @lib  engage
-- @reply tag    str   'ok' | 'none' (no open conversation) | 'kept' (an agent has it, or
--                     a callback is promised)
-- @reply conversation str
-- @reply status str   the status it had
-- @reply offer  str   the offer withdrawn ('' none)
-- @reply agent  str   that offer's agent
-- @reply queue  str
local conv = redis.call('GET', K.open)
if not conv then return { 'none' } end
local ckey = P .. 'conv:' .. conv
local c = redis.call('HMGET', ckey, 'status', 'channel', 'queue', 'offer', 'queued_at',
  'requeued_at', 'customer')
local status, chan, queue = c[1], c[2], c[3] or ''
if not status or status == 'closed' then return { 'none' } end
-- a promised callback (callback_set.lua) is kept: the customer may go, we
-- come back to them
if status == 'assigned' or status == 'wrapup' or status == 'callback' then
  return { 'kept', conv, status }
end

local oid, owner = '', ''
if status == 'offered' and (c[4] or '') ~= '' then
  local o = redis.call('HMGET', P .. 'offer:' .. c[4], 'agent', 'channel')
  if o[1] then
    oid, owner = c[4], o[1]
    local akey = P .. 'agent:' .. owner
    redis.call('DEL', P .. 'offer:' .. oid)
    redis.call('ZREM', P .. 'offers', oid)
    redis.call('SREM', akey .. ':offers', oid)
    if redis.call('HINCRBY', akey, 'load:' .. o[2], -1) < 0 then
      redis.call('HSET', akey, 'load:' .. o[2], 0)
    end
    redis.call('HSET', akey, 'changed_at', NOW)
    R.refresh(owner)
  end
end

local outcome = 'abandoned'
if status == 'queued' or status == 'offered' then
  Q.rem(queue, conv)
  local since = math.max(tonumber(c[5] or '0') or 0, tonumber(c[6] or '0') or 0)
  local waited = since > 0 and NOW - since or 0
  local within = A.sla ~= '' and cjson.decode(A.sla)[queue]
  T.abandoned(queue, chan, waited, (within or -1) >= 0 and waited > within)
  E.move(c[7], A.left, 'abandoned', conv, A.min, A.max)
elseif status == 'bot' then
  outcome = 'resolved by bot'
  T.bot_contained(queue, chan)
elseif status == 'parked' then
  outcome = 'automated'
end
redis.call('HSET', ckey, 'status', 'closed', 'closed_at', NOW, 'ended_at', NOW, 'updated_at', NOW,
  'offer', '', 'wrapup', cjson.encode({ reason = 'customer left', outcome = outcome, at = NOW,
                                        left = true }))
redis.call('DEL', K.open)
redis.call('ZREM', P .. 'bot:idle', conv)
redis.call('ZREM', P .. 'bot:waiting', conv)
redis.call('ZREM', P .. 'convs:new', conv)
-- 'customer left' says nothing of why they got in touch: the outcome only
T.closed(queue, chan, '', outcome)
return { 'ok', conv, status, oid, owner, queue }
