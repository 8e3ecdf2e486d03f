-- events_claim: take over stream entries that have waited too long for
-- their consumer (a node that died, or an entry whose handling keeps
-- failing), and park the ones that failed too often in a dead-letter
-- stream, so that one poisoned entry never stops routing.
-- @key  stream  events
-- @key  dead    events:dead
-- @arg  group   str
-- @arg  consumer str  this node
-- @arg  idle    int   ms an entry has waited
-- @arg  count   int   entries per run
-- @arg  max     int   deliveries after which an entry is dead-lettered
-- @reply taken   any  { { id, { field, value, ... } }, ... }
-- @reply dead    any  { dead-lettered ids }
-- @reply gone    any  { ids gone from the stream }
-- @reply dead_len int the length of the dead-letter stream
local group, max, dead_stream = A.group, A.max, K.dead
local r = redis.call('XAUTOCLAIM', K.stream, group, A.consumer, A.idle, '0-0', 'COUNT', A.count)
local out, dead = {}, {}
for _, e in ipairs(r[2]) do
  local p = redis.call('XPENDING', K.stream, group, e[1], e[1], 1)
  local deliveries = (p[1] and tonumber(p[1][4])) or 0
  if e[2] and deliveries > max then
    local fields = { 'id', e[1], 'deliveries', deliveries }
    for _, v in ipairs(e[2]) do fields[#fields + 1] = v end
    redis.call('XADD', dead_stream, 'MAXLEN', '~', 100000, '*', unpack(fields))
    redis.call('XACK', K.stream, group, e[1])
    dead[#dead + 1] = e[1]
  elseif e[2] then
    out[#out + 1] = e
  end
end
return { out, dead, r[3] or {}, redis.call('XLEN', dead_stream) }
