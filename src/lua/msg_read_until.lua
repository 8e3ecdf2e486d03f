-- msg_read_until: a read receipt by time (Messenger's watermark: every
-- message sent before it was read): our sent or delivered messages of the
-- open conversation of the thread that were sent (or delivered: the time
-- of that status) at or before the mark become read (the last 50 messages
-- are looked at; a message queued before the mark but sent after it is not).
-- @key  open    open:{channel}:{thread}
-- @arg  channel str
-- @arg  thread  str
-- @arg  mark    int   the watermark (ms)
-- @time
-- Returns: {} when there is no open conversation, else
--          { conversation, agent, message hash, ... } of those changed
local mark = A.mark
local conv = redis.call('GET', K.open)
if not conv or not mark then return {} end
local out = { conv, redis.call('HGET', P .. 'conv:' .. conv, 'agent') or '' }
for _, id in ipairs(redis.call('LRANGE', P .. 'conv:' .. conv .. ':msgs', -50, -1)) do
  local key = P .. 'msg:' .. id
  local m = redis.call('HMGET', key, 'direction', 'status', 'status_at', 'created_at')
  local at = tonumber(m[3] or '') or tonumber(m[4] or '') or mark + 1
  if m[1] == 'out' and (m[2] == 'sent' or m[2] == 'delivered') and at <= mark then
    redis.call('HSET', key, 'status', 'read', 'status_at', NOW)
    redis.call('ZREM', P .. 'outbox', id)
    out[#out + 1] = redis.call('HGETALL', key)
  end
end
return out
