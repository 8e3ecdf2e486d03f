-- outbox_claim: an outbound message still "queued" long after it was
-- stored (the node that should have sent it died, or the channel never
-- answered): claim it for one more try by this node, or give up.
-- @key  msg     msg:{message}
-- @key  outbox  outbox
-- @arg  message str
-- @arg  tries   int   resends allowed
-- @time
-- @reply tag     str   'resend' | 'give_up' | 'gone'
-- @reply channel str
-- @reply conversation str  (give_up: the tries)
-- @reply address str
-- @reply thread  str
-- @reply author  str
-- @reply author_name str
-- @reply text    str
-- @reply meta    str   JSON
-- @reply try     str
-- @reply attachments str JSON (the agent's files, omr_media)
-- Returns: { 'resend', channel, conversation, address, thread, author,
--            author_name, text, meta JSON, try }
--          { 'give_up', channel, tries }   (the caller marks it failed)
--          { 'gone' }                      (sent meanwhile, or deleted)
local id, now = A.message, NOW
local key = K.msg
local m = redis.call('HMGET', key, 'status', 'channel', 'conversation', 'author', 'author_name',
  'text', 'meta', 'resends', 'attachments')
if m[1] ~= 'queued' then
  redis.call('ZREM', K.outbox, id)
  return { 'gone' }
end
local n = tonumber(m[8] or '0') + 1
if n > A.tries then
  redis.call('ZREM', K.outbox, id)
  return { 'give_up', m[2] or '', tostring(n - 1) }
end
redis.call('HSET', key, 'resends', n)
-- looked at again one period from now, by whichever node
redis.call('ZADD', K.outbox, now, id)
local c = redis.call('HMGET', P .. 'conv:' .. (m[3] or ''), 'address', 'thread')
return { 'resend', m[2] or '', m[3] or '', c[1] or '', c[2] or '', m[4] or '', m[5] or '',
  m[6] or '', m[7] or '{}', tostring(n), m[9] or '[]' }
