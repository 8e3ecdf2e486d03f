-- events_claim: take over stream entries that have waited too long for
-- their consumer (a node that died, or an entry whose handling keeps
-- failing), and park the ones that failed too often in a dead-letter
-- stream, so that one poisoned entry never stops routing. Given a dead
-- node (from), it takes that node's entries at once, whatever their idle
-- time, and removes its consumer once it has none left.
-- @key  stream  events
-- @key  dead    events:dead
-- @arg  group   str
-- @arg  consumer str  this node
-- @arg  idle    int   ms an entry has waited
-- @arg  count   int   entries per run
-- @arg  max     int   deliveries after which an entry is dead-lettered
-- @arg  from    str   '': any consumer's entries idle longer than idle; a
--                     node: the entries of that dead node
-- @reply taken   any  { { id, { field, value, ... } }, ... }
-- @reply dead    any  { dead-lettered ids }
-- @reply gone    any  { ids gone from the stream }
-- @reply dead_len int the length of the dead-letter stream
local group, max, dead_stream = A.group, A.max, K.dead
local r
if A.from == '' then
  r = redis.call('XAUTOCLAIM', K.stream, group, A.consumer, A.idle, '0-0', 'COUNT', A.count)
else
  local ids, got, gone = {}, {}, {}
  for _, p in ipairs(redis.call('XPENDING', K.stream, group, '-', '+', A.count, A.from)) do
    ids[#ids + 1] = p[1]
  end
  local claimed = #ids > 0 and redis.call('XCLAIM', K.stream, group, A.consumer, 0,
    unpack(ids)) or {}
  for _, e in ipairs(claimed) do if e then got[e[1]] = true end end
  for _, id in ipairs(ids) do if not got[id] then gone[#gone + 1] = id end end
  if #ids < A.count then
    pcall(redis.call, 'XGROUP', 'DELCONSUMER', K.stream, group, A.from)
  end
  r = { '0-0', claimed, gone }
end
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
