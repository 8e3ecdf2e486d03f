-- history: the open conversation of a channel thread with its last messages,
-- for a customer who comes back (a reloaded chat page).
-- @key  open    open:{channel}:{thread}
-- @arg  channel str
-- @arg  thread  str
-- @arg  max     int   messages, the newest
-- Returns: {} or { conversation hash, { msg hash, ... } }
-- @readonly
local conv = redis.call('GET', K.open)
if not conv then return {} end
if redis.call('HGET', P .. 'conv:' .. conv, 'status') == 'closed' then return {} end
local c = redis.call('HGETALL', P .. 'conv:' .. conv)
if #c == 0 then return {} end
local ids = redis.call('LRANGE', P .. 'conv:' .. conv .. ':msgs', -A.max, -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
return { c, msgs }
