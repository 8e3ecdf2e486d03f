-- conv_pull: a supervisor pulls a waiting conversation to a chosen agent,
-- or an agent takes back one whose offer they missed or declined (missed
-- 1): it goes to the front of its queue and waits for that agent first (as
-- a conversation transferred to them by name), then for anyone, atomically.
-- @key  conv    conv:{conversation}
-- @arg  conversation str
-- @arg  agent   str   who should take it (checked by the caller)
-- @arg  prefer  int   ms it waits for that agent before anyone may
-- @arg  queues  str   the supervisor's queues, comma separated ('' all)
-- @arg  channels str  the channels the agent takes (capacity above 0),
--                     comma separated
-- @arg  missed  int   1: only if the agent missed or declined an offer of
--                     it within offers.reject_cooldown (that record goes:
--                     they are offered it again at once)
-- @time
-- @lib  queue
-- @reply tag    str   'ok' | 'bad_state' | 'not_yours' | 'channel' (the agent
--                     takes no conversation of its channel) | 'not_missed' |
--                     'reserved' (take: it waits for another agent first)
-- @reply status str   the conversation's status ('unknown': none)
-- @reply queue  str
local c = redis.call('HMGET', K.conv, 'status', 'queue', 'channel')
local status, queue = c[1], c[2] or ''
if not status then return { 'bad_state', 'unknown', '' } end
if A.queues ~= '' and not string.find(',' .. A.queues .. ',', ',' .. queue .. ',', 1, true) then
  return { 'not_yours', status, queue }
end
if status ~= 'queued' or queue == '' then return { 'bad_state', status, queue } end
local declined = K.conv .. ':declined'
if A.missed == 1 then
  local til = tonumber(redis.call('HGET', declined, A.agent) or '0') or 0
  if til <= NOW then return { 'not_missed', status, queue } end
  -- reserved for someone else (a transfer by name, a pull, the contact
  -- person): not taken from them
  local p = redis.call('HMGET', K.conv, 'prefer_agent', 'prefer_until')
  if p[1] and p[1] ~= '' and p[1] ~= A.agent and (tonumber(p[2] or '0') or 0) > NOW then
    return { 'reserved', status, queue }
  end
end
if not string.find(',' .. A.channels .. ',', ',' .. (c[3] or '') .. ',', 1, true) then
  return { 'channel', status, queue }
end
if A.missed == 1 then redis.call('HDEL', declined, A.agent, 'm:' .. A.agent) end
local front = NOW - 31536000000
redis.call('HSET', K.conv, 'prefer_agent', A.agent, 'prefer_until', NOW + A.prefer,
  'updated_at', NOW, 'score', front)
Q.add(queue, front, A.conversation)
return { 'ok', status, queue }
