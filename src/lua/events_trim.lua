-- events_trim: keep the event stream near its length cap without ever
-- dropping an entry a consumer group still needs (not yet delivered, or
-- delivered and not acknowledged). Before any group exists nothing is
-- trimmed: events stored while no consumer ran wait for the first one.
-- @key  stream  events
-- @arg  cap     int   length cap
-- @arg  most    int   entries trimmed per run at most
-- Returns: { entries trimmed, length before }
local cap, most = A.cap, A.most
local len = redis.call('XLEN', K.stream)
if len <= cap then return { 0, len } end
local groups = redis.call('XINFO', 'GROUPS', K.stream)
if #groups == 0 then return { 0, len } end

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function older(a, b)
  local a1, a2 = parse(a)
  local b1, b2 = parse(b)
  return a1 < b1 or (a1 == b1 and a2 < b2)
end

-- the oldest entry any group still needs: its oldest pending entry, else
-- its last delivered one (everything before it is acknowledged)
local keep
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local need = last
  local p = redis.call('XPENDING', K.stream, name)
  if tonumber(p[1]) > 0 and older(p[2], need) then need = p[2] end
  if not keep or older(need, keep) then keep = need end
end

local batch = redis.call('XRANGE', K.stream, '-', '+', 'COUNT', math.min(len - cap, most))
local n = 0
while n < #batch and older(batch[n + 1][1], keep) do n = n + 1 end
if n == 0 then return { 0, len } end
local minid
if n < #batch then
  minid = batch[n + 1][1]
else
  local nxt = redis.call('XRANGE', K.stream, '(' .. batch[n][1], '+', 'COUNT', 1)
  if #nxt == 0 then return { 0, len } end
  minid = nxt[1][1]
end
return { redis.call('XTRIM', K.stream, 'MINID', minid), len }
