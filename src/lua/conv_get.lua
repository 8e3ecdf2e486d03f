-- conv_get: a conversation with its last messages and its customer.
-- @key  conv   conv:{conversation}
-- @arg  conversation str
-- @arg  max    int   messages, the newest
-- @arg  history bool  the customer's engagement changes too (the admin API:
--                     routing and bots do not read them)
-- Returns: { conv hash, { msg hash, ... }, customer hash, { addresses },
--            { engagement changes (JSON), newest first; with history } }
-- or {} when the conversation does not exist.
-- @readonly
local conv = redis.call('HGETALL', K.conv)
if #conv == 0 then return {} end
local ids = redis.call('LRANGE', K.conv .. ':msgs', -A.max, -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
local cust = nil
for i = 1, #conv, 2 do
  if conv[i] == 'customer' then cust = conv[i + 1] break end
end
local chash, addrs, eng = {}, {}, {}
if cust then
  chash = redis.call('HGETALL', P .. 'cust:' .. cust)
  addrs = redis.call('SMEMBERS', P .. 'cust:' .. cust .. ':addrs')
  if A.history then
    eng = redis.call('LRANGE', P .. 'cust:' .. cust .. ':engagement', 0, 19)
  end
end
return { conv, msgs, chash, addrs, eng }
