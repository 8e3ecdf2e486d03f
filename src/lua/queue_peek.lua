-- queue_peek: the conversations of a queue the dispatcher looks at in a
-- pass: the first n, and the best per_class of each of the first classes
-- (see queue.lib), in the queue's order, with what the dispatcher needs to
-- choose candidate agents, and Redis' clock (every time the dispatcher
-- compares is Redis' own).
-- @key  queue   queue:{queue}
-- @arg  queue   str
-- @arg  n       int   from the front
-- @arg  classes int   classes looked at
-- @arg  per_class int from each class
-- @time
-- @lib  queue
-- @reply now    int   Redis' clock (ms)
-- @reply items  any   { { id, channel, skills JSON, language, prefer_agent,
--                       prefer_until, queued_at, score, max_wait_done,
--                       escalation step applied, strategy, class,
--                       prefer_team, prefer_team_until (none after a
--                       transfer or requeue) }, ... }
local seen, pick = {}, {}
local function take(list, cls)
  for i = 1, #list, 2 do
    if not seen[list[i]] then
      seen[list[i]] = true
      pick[#pick + 1] = { list[i], tonumber(list[i + 1]), cls }
    end
  end
end
if A.n > 0 then take(redis.call('ZRANGE', K.queue, 0, A.n - 1, 'WITHSCORES')) end
if A.classes > 0 and A.per_class > 0 then
  for _, cls in ipairs(redis.call('ZRANGE', K.queue .. ':classes', 0, A.classes - 1)) do
    take(redis.call('ZRANGE', K.queue .. ':c:' .. cls, 0, A.per_class - 1, 'WITHSCORES'), cls)
  end
end
table.sort(pick, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[1] < b[1]
end)
local out = {}
for _, p in ipairs(pick) do
  local id = p[1]
  local c = redis.call('HMGET', P .. 'conv:' .. id, 'channel', 'skills', 'language',
    'prefer_agent', 'prefer_until', 'queued_at', 'status', 'max_wait_done', 'esc_step',
    'strategy', 'class', 'queue', 'prefer_team', 'prefer_team_until', 'requeued_at')
  if c[7] == 'queued' and c[12] == A.queue then
    -- the contact person's team only for the queueing that chose it (not
    -- after a transfer or a requeue)
    if tonumber(c[15] or '0') > tonumber(c[6] or '0') then c[13] = nil end
    out[#out + 1] = { id, c[1] or '', c[2] or '{}', c[3] or '', c[4] or '', c[5] or '0',
      c[6] or '0', string.format('%d', p[2]), c[8] or '0', c[9] or '-1', c[10] or '', c[11] or '',
      c[13] or '', c[14] or '0' }
  else
    -- not waiting here any more (a crash between steps): drop the stale entry
    Q.rem(A.queue, id, p[3])
  end
end
return { NOW, out }
