-- history: the open conversation of a channel thread with its last messages,
-- for a customer who comes back (a reloaded chat page).
-- ARGV: 1 prefix  2 channel  3 thread  4 max messages
-- Returns: {} or { conversation hash, { msg hash, ... } }
local P, ch, thread, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local conv = redis.call('GET', P .. 'open:' .. ch .. ':' .. thread)
if not conv then return {} end
if redis.call('HGET', P .. 'conv:' .. conv, 'status') == 'closed' then return {} end
local c = redis.call('HGETALL', P .. 'conv:' .. conv)
if #c == 0 then return {} end
local ids = redis.call('LRANGE', P .. 'conv:' .. conv .. ':msgs', -max, -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
return { c, msgs }
