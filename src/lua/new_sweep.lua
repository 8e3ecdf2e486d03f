-- new_sweep: a conversation still 'new' long after it was opened lost its
-- routing event (trimmed by an older version, deleted by hand): announce it
-- again, so that routing decides for it. Handled twice, it changes nothing:
-- routing acts only on conversations that are still 'new'.
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 age (ms)  3 most per run
-- Returns: { conversations announced again }
local P, age, most = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idx = P .. 'convs:new'
local out = {}
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', idx, '-inf', now - age, 'LIMIT', 0, most)) do
  local c = redis.call('HMGET', P .. 'conv:' .. conv, 'status', 'channel')
  if c[1] ~= 'new' then
    redis.call('ZREM', idx, conv)
  else
    local msg = redis.call('LINDEX', P .. 'conv:' .. conv .. ':msgs', 0) or ''
    redis.call('XADD', KEYS[1], '*', 'type', 'message.in', 'conversation', conv,
      'message', msg, 'new', 1, 'channel', c[2] or '', 'kind', 'message', 'replay', 1)
    redis.call('ZADD', idx, now, conv)
    out[#out + 1] = conv
  end
end
return out
