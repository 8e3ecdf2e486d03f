-- conv_act: what an agent does to an assigned conversation: transfer it,
-- close it (wrap-up follows), or wrap it up (record why the customer got
-- in touch and how it ended; frees the capacity), atomically.
-- @key  conv    conv:{conversation}
-- @key  agent   agent:{agent}
-- @arg  action  str   transfer | close | wrapup
-- @arg  conversation str
-- @arg  agent   str
-- @arg  to      str   transfer: 'queue' | 'agent'
-- @arg  target  str   transfer: the queue or the agent
-- @arg  note_id str   transfer: id for the note's message
-- @arg  note    str   transfer: the note ('' none)
-- @arg  name    str   transfer: the agent's display name
-- @arg  prefer  int   transfer to an agent: ms the conversation waits for them
-- @arg  wrapup  json  wrapup: {reason, outcome, notes, agent, at}
-- @arg  reason  str   wrapup: the contact reason
-- @arg  outcome str   wrapup
-- @arg  day     str   no longer read (the report's bucket is Redis' clock:
--                     report.lib); kept for the callers
-- @arg  points  int   wrapup: the outcome's change of the customer's
--                     engagement balance (0: none)
-- @arg  min     int   wrapup: the balance's bounds
-- @arg  max     int
-- @arg  csat    int   close: ms a satisfaction question waits for the
--                     customer's answer (0: none is asked); never on a
--                     public thread
-- @arg  fcr     int   wrapup: points a first-contact resolution adds (an
--                     outcome that deposits, in a conversation neither
--                     transferred nor a repeat contact)
-- @arg  recover int   wrapup: ms a complaint resolved now must go without a
--                     new contact of the customer to count as recovered
--                     (complaints_due.lua; a good rating recovers it at
--                     once: ingest.lua); 0: never
-- @arg  moved   int   transfer: the transfer's change of the balance
-- @arg  rpoints int   wrapup: the change of the balance when the customer's
--                     previous conversation closed within repeat_ms with the
--                     same contact reason (repeat_reason: not solved)
-- @arg  repeat_ms int wrapup
-- @arg  complained bool wrapup: the agent says the customer complained (a
--                     conversation not yet known as a complaint becomes one)
-- @arg  cpoints int   wrapup: a complaint's change of the balance
-- @arg  proactive int wrapup: points a conversation we started (origin
--                     proactive, docs/proactive.md) deposits when it ends
--                     with an outcome that deposits: a problem prevented
--                     before the customer had to get in touch
-- @time
-- @reply tag     str  'ok' | 'not_yours' | 'bad_state'
-- @reply channel str  (bad_state: the status it is in)
-- @reply queue   str
-- @reply customer str
-- @reply asked   int  close: 1 when the question is to be sent
-- @lib  queue
-- @lib  report
-- @lib  engage
-- A transferred conversation goes to the front of its new queue.
-- @lib  pools
local ckey, akey, conv, now = K.conv, K.agent, A.conversation, NOW
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'queue', 'thread', 'customer',
  'ended_at', 'assigned_at', 'transferred_by', 'repeat', 'complaint', 'public', 'origin')
if c[2] ~= A.agent or redis.call('SISMEMBER', akey .. ':convs', conv) == 0 then
  return { 'not_yours' }
end
local status, chan = c[1], c[3]

-- the agent has room again (a wrap-up also ends their busy time: idle
-- from now, for longest idle)
local function release(wrapup)
  if wrapup then
    redis.call('HSET', akey, 'changed_at', now, 'last_assigned_at', now)
  else
    redis.call('HSET', akey, 'changed_at', now)
  end
  redis.call('SREM', akey .. ':convs', conv)
  local l = redis.call('HINCRBY', akey, 'load:' .. chan, -1)
  if l < 0 then redis.call('HSET', akey, 'load:' .. chan, 0) end
end

if A.action == 'close' then
  if status ~= 'assigned' then return { 'bad_state', status } end
  local asked = 0
  if A.csat > 0 and c[5] and c[12] ~= '1' then
    -- the thread's next message, if it is just a digit 1-5, answers it
    -- (ingest.lua)
    redis.call('SET', P .. 'csat:' .. chan .. ':' .. c[5], conv, 'PX', A.csat)
    asked = 1
    redis.call('HSET', ckey, 'status', 'wrapup', 'ended_at', now, 'updated_at', now,
      'csat_asked_at', now)
  else
    redis.call('HSET', ckey, 'status', 'wrapup', 'ended_at', now, 'updated_at', now)
  end
  return { 'ok', chan, c[4], c[6] or '', asked }
end

if A.action == 'wrapup' then
  if status ~= 'assigned' and status ~= 'wrapup' then return { 'bad_state', status } end
  redis.call('HSET', ckey, 'status', 'closed', 'wrapup', A.wrapup, 'closed_at', now,
    'updated_at', now, 'ended_at', c[7] or now)
  local okey = P .. 'open:' .. chan .. ':' .. c[5]
  if redis.call('GET', okey) == conv then redis.call('DEL', okey) end
  release(true)
  R.refresh(A.agent)
  -- how long it took, for waiting-time estimates of the queue and the
  -- reports (report.lib)
  local assigned = tonumber(c[8] or '0') or 0
  if assigned > 0 and c[4] then
    redis.call('LPUSH', P .. 'queue:' .. c[4] .. ':aht', now - assigned)
    redis.call('LTRIM', P .. 'queue:' .. c[4] .. ':aht', 0, 49)
  end
  T.handled(c[4], chan, A.agent, assigned > 0 and now - assigned or 0)
  T.closed(c[4], chan, A.reason, A.outcome, assigned > 0 and now - assigned or 0)
  -- the balance's moves, in this order, made at once (E.moves)
  local moves = {}
  local function move(points, event) moves[#moves + 1] = points; moves[#moves + 1] = event end
  if c[6] then
    local ck = P .. 'cust:' .. c[6]
    local last = redis.call('HMGET', ck, 'last_reason', 'last_closed_at')
    if A.reason ~= '' and last[1] == A.reason and
        now - (tonumber(last[2] or '0') or 0) <= A.repeat_ms then
      move(A.rpoints, 'repeat_reason')
    end
    redis.call('HSET', ck, 'last_agent', A.agent, 'last_closed_at', now, 'last_reason', A.reason)
  end
  local complaint = c[11] == '1'
  if A.complained and not complaint then
    move(A.cpoints, 'complaint')
    complaint = true
  end
  move(A.points, A.outcome)
  if A.points > 0 and c[6] then
    -- resolved: at the first contact, and a complaint's road to recovery
    if (c[9] or '') == '' and c[10] ~= '1' then
      move(A.fcr, 'first_contact_resolution')
    end
    if (A.proactive or 0) > 0 and c[13] == 'proactive' then
      move(A.proactive, 'proactive_resolved')
    end
    if complaint and A.recover > 0 then
      redis.call('HSET', P .. 'cust:' .. c[6], 'complaint_pending', conv)
      redis.call('ZADD', P .. 'complaints:pending', now + A.recover, conv)
    end
  end
  E.moves(c[6], conv, A.min, A.max, moves)
  return { 'ok', chan, c[4], c[6] or '' }
end

if A.action == 'transfer' then
  if status ~= 'assigned' then return { 'bad_state', status } end
  local queue = c[4]
  local prefer, until_ = '', 0
  if A.to == 'queue' then
    queue = A.target -- checked against the configuration by the caller
  else
    prefer, until_ = A.target, now + A.prefer
  end
  if A.note ~= '' then
    local nid = A.note_id
    redis.call('HSET', P .. 'msg:' .. nid, 'id', nid, 'conversation', conv,
      'customer', c[6], 'direction', 'note', 'author', 'agent', 'author_id', A.agent,
      'author_name', A.name, 'text', A.note, 'attachments', '[]', 'channel', chan,
      'status', 'internal', 'kind', 'note', 'meta', '{}', 'created_at', now)
    redis.call('RPUSH', ckey .. ':msgs', nid)
    redis.call('HINCRBY', ckey, 'msg_count', 1)
  end
  release()
  R.refresh(A.agent)
  -- what the next agent's offer card shows: from whom, the note's start
  -- (200 bytes, cut at a character boundary); dropped at the accept
  local note, n = A.note, #A.note
  if n > 200 then
    n = 200
    while n > 0 and note:byte(n + 1) >= 128 and note:byte(n + 1) < 192 do n = n - 1 end
    note = note:sub(1, n)
  end
  redis.call('HSET', ckey, 'transfer', cjson.encode({ by = A.agent, name = A.name, note = note,
    at = now }))
  -- it waits again from now: requeued_at, from which its next answer's
  -- wait counts (offer_end.lua)
  redis.call('HSET', ckey, 'status', 'queued', 'agent', '', 'queue', queue,
    'prefer_agent', prefer, 'prefer_until', until_, 'transferred_by', A.agent,
    'updated_at', now, 'requeued_at', now)
  T.transferred(c[4], chan, A.agent)
  E.move(c[6], A.moved, 'transfer', conv, A.min, A.max)
  T.queued(queue, chan)
  redis.call('HSET', ckey, 'score', now - 31536000000)
  Q.add(queue, now - 31536000000, conv)
  return { 'ok', chan, queue }
end
return { 'bad_state', status }
