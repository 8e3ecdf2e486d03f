-- agent_view: a conversation as an agent sees it: the conversation, its
-- messages, the customer with addresses and earlier conversations.
-- Allowed when the conversation is assigned (or offered) to the agent, or is
-- an earlier conversation of a customer the agent now serves.
-- ARGV: 1 prefix  2 conversation  3 agent ('' : no check)  4 max messages
--       5 max earlier conversations
-- Returns: {} (no such conversation) | { 'not_yours' } |
--          { 'ok', conv hash, { msg hash... }, customer hash, { addresses },
--            { { earlier conv hash }, ... }, offer hash (or {}) }
local P, conv, agent = ARGV[1], ARGV[2], ARGV[3]
local ckey = P .. 'conv:' .. conv
if redis.call('EXISTS', ckey) == 0 then return {} end
local c = redis.call('HMGET', ckey, 'agent', 'customer', 'offer')
local cust = c[2]
if agent ~= '' and c[1] ~= agent then
  local ok = false
  local o = c[3] and c[3] ~= '' and redis.call('HGET', P .. 'offer:' .. c[3], 'agent')
  if o == agent then ok = true end
  if not ok then
    for _, mine in ipairs(redis.call('SMEMBERS', P .. 'agent:' .. agent .. ':convs')) do
      if redis.call('HGET', P .. 'conv:' .. mine, 'customer') == cust then ok = true break end
    end
  end
  if not ok then return { 'not_yours' } end
end
local ids = redis.call('LRANGE', ckey .. ':msgs', -tonumber(ARGV[4]), -1)
local msgs = {}
for i, m in ipairs(ids) do msgs[i] = redis.call('HGETALL', P .. 'msg:' .. m) end
local chash, addrs, earlier = {}, {}, {}
if cust then
  chash = redis.call('HGETALL', P .. 'cust:' .. cust)
  addrs = redis.call('SMEMBERS', P .. 'cust:' .. cust .. ':addrs')
  local prev = redis.call('ZREVRANGE', P .. 'cust:' .. cust .. ':convs', 0, tonumber(ARGV[5]))
  for _, p in ipairs(prev) do
    if p ~= conv then
      earlier[#earlier + 1] = redis.call('HGETALL', P .. 'conv:' .. p)
    end
  end
end
local offer = {}
if c[3] and c[3] ~= '' then offer = redis.call('HGETALL', P .. 'offer:' .. c[3]) end
return { 'ok', redis.call('HGETALL', ckey), msgs, chash, addrs, earlier, offer }
