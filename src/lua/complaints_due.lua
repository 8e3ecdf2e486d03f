-- complaints_due: resolved complaints (conv_act.lua) whose recovery window
-- passed without a new contact of the customer (ingest.lua) and without a
-- rating (ingest.lua): recovered. Each is taken out of the index as it is
-- handled, so that nodes calling this at once recover each one once.
-- @key  pending complaints:pending
-- @arg  limit   int   at most this many a call
-- @arg  points  int   complaint_recovered's deposit
-- @arg  min     int   the balance's bounds
-- @arg  max     int
-- @time
-- @lib  report
-- @lib  engage
-- @reply recovered int  how many were recovered
local due = redis.call('ZRANGEBYSCORE', K.pending, '-inf', NOW, 'LIMIT', 0, A.limit)
local n = 0
for _, conv in ipairs(due) do
  redis.call('ZREM', K.pending, conv)
  local cust = redis.call('HGET', P .. 'conv:' .. conv, 'customer')
  local ckey = cust and P .. 'cust:' .. cust
  if ckey and redis.call('HGET', ckey, 'complaint_pending') == conv then
    redis.call('HDEL', ckey, 'complaint_pending')
    E.move(cust, A.points, 'complaint_recovered', conv, A.min, A.max)
    n = n + 1
  end
end
return { n }
