-- msg_status: record the delivery outcome of an outbound message.
-- Providers report out of order (a "read" may arrive before "delivered"),
-- so a status only moves forward: queued < sent < delivered < read;
-- "failed" is final unless a later "delivered"/"read" proves otherwise.
-- ARGV: 1 prefix  2 message id ('' to look up by channel id)  3 status
--       4 channel  5 channel message id ('' if none)  6 error  7 now (ms)
-- Returns: {} when unknown, else { message id, conversation, agent of the
--          conversation, '1' if the status changed, message hash }
local P, id, st, ch, cmid, err, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if id == '' then
  if cmid == '' then return {} end
  id = redis.call('GET', P .. 'outid:' .. ch .. ':' .. cmid)
  if not id then return {} end
end
local key = P .. 'msg:' .. id
if redis.call('EXISTS', key) == 0 then return {} end
if cmid ~= '' then
  redis.call('HSET', key, 'channel_msg_id', cmid)
  redis.call('SET', P .. 'outid:' .. ch .. ':' .. cmid, id, 'EX', 2592000)
end
local rank = { queued = 1, sent = 2, delivered = 3, read = 4, failed = 5 }
local cur = redis.call('HGET', key, 'status') or 'queued'
local move
if st == 'failed' then
  move = (rank[cur] or 0) < 3
elseif cur == 'failed' then
  move = st == 'delivered' or st == 'read'
else
  move = (rank[st] or 0) > (rank[cur] or 0)
end
if move then
  redis.call('HSET', key, 'status', st, 'status_at', now)
  if err ~= '' then redis.call('HSET', key, 'error', err) end
  if st ~= 'queued' then redis.call('ZREM', P .. 'outbox', id) end
end
local conv = redis.call('HGET', key, 'conversation') or ''
local agent = conv ~= '' and redis.call('HGET', P .. 'conv:' .. conv, 'agent') or ''
return { id, conv, agent or '', move and '1' or '0', redis.call('HGETALL', key) }
