-- agents_state: the live state of agents (presence, sessions, loads).
-- ARGV: 1 prefix  2.. agent ids
-- Returns: { { agent hash, number of conversations, node alive 0|1 }, ... }
local P = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local key = P .. 'agent:' .. ARGV[i]
  local node = redis.call('HGET', key, 'node')
  out[#out + 1] = { redis.call('HGETALL', key), redis.call('SCARD', key .. ':convs'),
    node and redis.call('EXISTS', P .. 'node:' .. node .. ':alive') or 0 }
end
return out
