-- conv_get: a conversation with its last messages and its customer.
-- ARGV: 1 prefix  2 conversation id  3 max messages
-- Returns: { conv hash, { msg hash, ... }, customer hash, { addresses },
--            { engagement changes (JSON), newest first } }
-- or {} when the conversation does not exist.
local P, id, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
local conv = redis.call('HGETALL', P .. 'conv:' .. id)
if #conv == 0 then return {} end
local ids = redis.call('LRANGE', P .. 'conv:' .. id .. ':msgs', -max, -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
local cust = redis.call('HGET', P .. 'conv:' .. id, 'customer')
local chash, addrs, eng = {}, {}, {}
if cust then
  chash = redis.call('HGETALL', P .. 'cust:' .. cust)
  addrs = redis.call('SMEMBERS', P .. 'cust:' .. cust .. ':addrs')
  eng = redis.call('LRANGE', P .. 'cust:' .. cust .. ':engagement', 0, 19)
end
return { conv, msgs, chash, addrs, eng }
