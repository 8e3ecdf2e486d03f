-- new_sweep: a conversation still 'new' long after it was opened lost its
-- routing event (trimmed by an older version, deleted by hand): announce it
-- again, so that routing decides for it. Handled twice, it changes nothing:
-- routing acts only on conversations that are still 'new'.
-- @key  stream  events
-- @key  new     convs:new
-- @arg  age     int   ms a conversation may stay 'new'
-- @arg  most    int   per run
-- @time
-- Returns: { conversations announced again }
local out = {}
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', K.new, '-inf', NOW - A.age, 'LIMIT', 0, A.most)) do
  local c = redis.call('HMGET', P .. 'conv:' .. conv, 'status', 'channel')
  if c[1] ~= 'new' then
    redis.call('ZREM', K.new, conv)
  else
    local msg = redis.call('LINDEX', P .. 'conv:' .. conv .. ':msgs', 0) or ''
    redis.call('XADD', K.stream, '*', 'type', 'message.in', 'conversation', conv,
      'message', msg, 'new', 1, 'channel', c[2] or '', 'kind', 'message', 'replay', 1)
    redis.call('ZADD', K.new, NOW, conv)
    out[#out + 1] = conv
  end
end
return out
