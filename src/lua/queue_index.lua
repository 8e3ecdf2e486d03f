-- queue_index: once per Redis, after an upgrade from a version without the
-- class index of queue.lib: index every conversation that waits.
-- @key  schema  schema
-- @arg  max     int   conversations per queue indexed in one call
-- @lib  queue
-- Returns: the number indexed (0: the index is complete)
if redis.call('HGET', K.schema, 'queue_classes') == '1' then return 0 end
local n = 0
for _, q in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
  local from = tonumber(redis.call('HGET', K.schema, 'queue_classes:' .. q) or '0')
  local ids = redis.call('ZRANGE', Q.key(q), from, from + A.max - 1, 'WITHSCORES')
  for i = 1, #ids, 2 do
    Q.add(q, ids[i + 1], ids[i])
    n = n + 1
  end
  redis.call('HSET', K.schema, 'queue_classes:' .. q, from + #ids / 2)
end
if n == 0 then redis.call('HSET', K.schema, 'queue_classes', '1') end
return n
