-- events_claim: take over stream entries that have waited too long for
-- their consumer (a node that died, or an entry whose handling keeps
-- failing), and park the ones that failed too often in a dead-letter
-- stream, so that one poisoned entry never stops routing.
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 consumer group  3 this consumer  4 idle (ms)  5 count
--       6 deliveries after which an entry is dead-lettered
-- Returns: { { { id, { field, value, ... } }, ... } taken over,
--            { dead-lettered ids }, { ids gone from the stream },
--            length of the dead-letter stream }
local P, group, me, idle, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max = tonumber(ARGV[6])
local dead_stream = P .. 'events:dead'
local r = redis.call('XAUTOCLAIM', KEYS[1], group, me, idle, '0-0', 'COUNT', count)
local out, dead = {}, {}
for _, e in ipairs(r[2]) do
  local p = redis.call('XPENDING', KEYS[1], group, e[1], e[1], 1)
  local deliveries = (p[1] and tonumber(p[1][4])) or 0
  if e[2] and deliveries > max then
    local fields = { 'id', e[1], 'deliveries', deliveries }
    for _, v in ipairs(e[2]) do fields[#fields + 1] = v end
    redis.call('XADD', dead_stream, 'MAXLEN', '~', 100000, '*', unpack(fields))
    redis.call('XACK', KEYS[1], group, e[1])
    dead[#dead + 1] = e[1]
  elseif e[2] then
    out[#out + 1] = e
  end
end
return { out, dead, r[3] or {}, redis.call('XLEN', dead_stream) }
