-- callbacks_due: parked callbacks (callback_set.lua) whose time came are
-- offered as outbound tasks: queued again in the queue the rule named,
-- with the raised priority and the tag 'callback' ('due'); a due one that
-- no agent took by the end of its slot is counted missed (it stays
-- queued). Each is taken out of `callbacks` as it is handled, so that
-- nodes calling this at once fire each one once; offer_end.lua marks one
-- an agent accepted 'done'.
-- @key  due      callbacks
-- @arg  limit    int   at most this many a call
-- @arg  aging    int   ms of waiting one priority point is worth
-- @time
-- @lib  queue
-- @lib  report
-- @reply due      int  how many came due now
-- @reply missed   int  how many were missed now
-- @reply counts   any  [scheduled, due, done, missed, cancelled] so far (every node)
local list = redis.call('ZRANGEBYSCORE', K.due, '-inf', NOW, 'LIMIT', 0, A.limit)
local ndue, nmissed = 0, 0
for _, conv in ipairs(list) do
  redis.call('ZREM', K.due, conv)
  local ckey = P .. 'conv:' .. conv
  local c = redis.call('HMGET', ckey, 'status', 'callback_state', 'callback', 'channel', 'tags')
  local cb = c[3] and cjson.decode(c[3])
  if cb and c[1] == 'callback' and (c[2] == 'offered' or c[2] == 'scheduled') then
    local score = NOW - cb.priority * A.aging
    local tags = cjson.decode(c[5] or '[]')
    local tagged = false
    for _, t in ipairs(tags) do tagged = tagged or t == 'callback' end
    if not tagged then tags[#tags + 1] = 'callback' end
    cb.due_at = NOW
    redis.call('HSET', ckey, 'status', 'queued', 'callback_state', 'due', 'queue', cb.queue,
      'queued_at', NOW, 'score', score, 'priority', cb.priority, 'tags', cjson.encode(tags),
      'callback', cjson.encode(cb), 'updated_at', NOW)
    Q.add(cb.queue, score, conv)
    redis.call('ZADD', K.due, cb.at + cb.length, conv)
    redis.call('HINCRBY', P .. 'callbacks:count', 'due', 1)
    T.add('q|' .. cb.queue .. '|' .. (c[4] or '') .. '|callbacks_due', 1)
    ndue = ndue + 1
  elseif cb and c[2] == 'due' and (c[1] == 'queued' or c[1] == 'offered') then
    redis.call('HSET', ckey, 'callback_state', 'missed')
    redis.call('HINCRBY', P .. 'callbacks:count', 'missed', 1)
    T.add('q|' .. cb.queue .. '|' .. (c[4] or '') .. '|callbacks_missed', 1)
    nmissed = nmissed + 1
  end
end
return { ndue, nmissed, redis.call('HMGET', P .. 'callbacks:count', 'scheduled', 'due', 'done',
  'missed', 'cancelled') }
