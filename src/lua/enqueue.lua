-- enqueue: put a new conversation in its routing queue as the router
-- decided, and acknowledge its stream event, atomically. Running it twice
-- for one event changes nothing (the stream is at-least-once).
-- @key  stream  events
-- @key  conv    conv:{conversation}
-- @key  queue   queue:{queue}
-- @arg  entry   str   stream entry id ('' none)
-- @arg  group   str   consumer group
-- @arg  conversation str
-- @arg  queue   str
-- @arg  priority int
-- @arg  aging   int   ms of waiting one priority point is worth
-- @arg  skills  json
-- @arg  language str  '' none
-- @arg  tags    json
-- @arg  routing json  the routing explanation
-- @arg  prefer  str   the customer's last agent ('' none)
-- @arg  prefer_ms int ms the conversation waits for them
-- @arg  strategy str  agent selection for this conversation ('' : the queue's)
-- @arg  engage  json  changes of the customer's balance once queued:
--                     [[event, points], ...] (a complaint, a repeat contact)
-- @arg  min     int   the balance's bounds
-- @arg  max     int
-- @arg  owner   str   the customer's contact person ('' none), waited for
--                     owner_ms (their deputy instead when they are away
--                     longer than away_ms or not logged in), before the
--                     last agent
-- @arg  deputy  str   '' none
-- @arg  team    str   then the owner's team, for team_ms ('' none)
-- @arg  owner_ms int
-- @arg  team_ms int
-- @arg  away_ms int
-- @arg  set_owner str a rule's contact person for a customer who has none
--                     ('' none)
-- @arg  set_deputy str with set_owner
-- @time
-- @lib  queue
-- @lib  report
-- @lib  engage
-- @lib  owner
-- Returns: 1 if queued now, 0 if nothing to do
local ckey = K.conv
local queued = 0
local c = redis.call('HMGET', ckey, 'status', 'channel', 'customer', 'language', 'class')
if c[1] == 'new' then
  local score = NOW - A.priority * A.aging
  -- the conversation's fields, written at once before it joins the queue
  local set = { 'status', 'queued', 'queue', A.queue, 'queued_at', NOW,
    'score', score, 'priority', A.priority, 'skills', A.skills, 'tags', A.tags,
    'routing', A.routing, 'updated_at', NOW }
  local function put(f, v) set[#set + 1] = f; set[#set + 1] = v end
  local language = c[4]
  if A.language ~= '' then put('language', A.language); language = A.language end
  if A.strategy ~= '' then put('strategy', A.strategy) end
  -- (the arguments after max may be absent: none of this)
  local owner, deputy, team = A.owner or '', A.deputy or '', A.team or ''
  local set_owner = A.set_owner or ''
  if set_owner ~= '' and c[3] and c[3] ~= '' then
    local cust = P .. 'cust:' .. c[3]
    if redis.call('HSETNX', cust, 'owner', set_owner) == 1 then
      redis.call('HSET', cust, 'owner_at', NOW, 'owner_by', 'rule')
      if (A.set_deputy or '') ~= '' then redis.call('HSET', cust, 'deputy', A.set_deputy) end
    end
  end
  -- the contact person (or their deputy), then their team, then anyone
  local who, role, team_from = '', '', NOW
  if owner ~= '' then
    if O.here(owner, A.away_ms) then who, role = owner, 'owner'
    elseif deputy ~= '' and O.here(deputy, A.away_ms) then who, role = deputy, 'deputy'
    else role = 'team' end
  end
  if who ~= '' then
    put('prefer_agent', who); put('prefer_until', NOW + A.owner_ms)
    team_from = NOW + A.owner_ms
  elseif A.prefer ~= '' then
    put('prefer_agent', A.prefer); put('prefer_until', NOW + A.prefer_ms)
  end
  if role ~= '' then put('owner_route', role) end
  if team ~= '' and (A.team_ms or 0) > 0 then
    put('prefer_team', team); put('prefer_team_until', team_from + A.team_ms)
  end
  -- its class: written with the rest, unless it leaves another class's
  -- set (Q.add does that)
  local cls, old = Q.class_of(c[2], language, A.skills), c[5] or ''
  if old == '' then put('class', cls); old = cls end
  redis.call('HSET', ckey, unpack(set))
  Q.add(A.queue, score, A.conversation, true, cls, old)
  redis.call('ZREM', P .. 'convs:new', A.conversation)
  T.queued(A.queue, c[2])
  queued = 1
  local engage = A.engage ~= '' and cjson.decode(A.engage) or {}
  for _, e in ipairs(engage) do
    E.move(c[3], tonumber(e[2]) or 0, tostring(e[1]), A.conversation, A.min, A.max)
  end
end
if A.entry ~= '' then redis.call('XACK', K.stream, A.group, A.entry) end
return queued
