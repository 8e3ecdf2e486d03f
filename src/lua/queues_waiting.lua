-- queues_waiting: every waiting conversation of every queue ever used (for
-- deciding again after a reload).
-- @key  queues  queues
-- @arg  max     int   per queue
-- Returns: { queue, { conversation, queued_at, ... }, ... }
-- @readonly
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', K.queues)) do
  local list = {}
  for _, id in ipairs(redis.call('ZRANGE', P .. 'queue:' .. q, 0, A.max - 1)) do
    list[#list + 1] = id
    list[#list + 1] = redis.call('HGET', P .. 'conv:' .. id, 'queued_at') or '0'
  end
  out[#out + 1] = q
  out[#out + 1] = list
end
return out
