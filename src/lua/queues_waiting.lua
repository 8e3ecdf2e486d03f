-- queues_waiting: every waiting conversation of every queue ever used (for
-- deciding again after a reload).
-- ARGV: 1 prefix  2 max per queue
-- Returns: { queue, { conversation, queued_at, ... }, ... }
local P, max = ARGV[1], tonumber(ARGV[2])
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
  local list = {}
  for _, id in ipairs(redis.call('ZRANGE', P .. 'queue:' .. q, 0, max - 1)) do
    list[#list + 1] = id
    list[#list + 1] = redis.call('HGET', P .. 'conv:' .. id, 'queued_at') or '0'
  end
  out[#out + 1] = q
  out[#out + 1] = list
end
return out
