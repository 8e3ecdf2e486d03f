-- reply: store an agent's message to the customer, atomically with its
-- idempotency key; the caller acknowledges, then hands it to the channel.
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 conversation  3 agent  4 agent name  5 text
--       6 client_msg_id  7 new message id  8 now (ms)  9 dedup ttl (ms)
--       10 author kind (agent|bot|system)
--       11 template JSON {name, language} when the text is a channel template ('' or absent: none)
-- Returns: { 'ok'|'dup', message id, channel, address, thread, message hash }
--          or { 'note', ... } for a system notice on a public thread: kept
--          as an internal note, not sent (a queue position under a post is
--          for no one to read)
--          or { 'not_yours' } / { 'bad_state', status }
local P, conv, agent, name, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local cmid, mid, now = ARGV[6], ARGV[7], ARGV[8]
local ckey = P .. 'conv:' .. conv
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'address', 'thread', 'customer')
local dedup = P .. 'dedup:agent:' .. agent .. ':' .. cmid
local seen = redis.call('GET', dedup)
if seen then
  return { 'dup', seen, c[3] or '', c[4] or '', c[5] or '',
    redis.call('HGETALL', P .. 'msg:' .. seen) }
end
if ARGV[10] == 'agent' then
  if c[2] ~= agent then return { 'not_yours' } end
  if c[1] ~= 'assigned' then return { 'bad_state', c[1] or 'unknown' } end
elseif not c[1] or c[1] == 'closed' then
  return { 'bad_state', c[1] or 'unknown' }
end
if ARGV[10] == 'system' and redis.call('HGET', ckey, 'public') == '1' then
  redis.call('HSET', P .. 'msg:' .. mid,
    'id', mid, 'conversation', conv, 'customer', c[6], 'direction', 'note',
    'author', 'system', 'author_id', agent, 'author_name', name,
    'text', 'Not posted on the public thread: ' .. text, 'attachments', '[]',
    'channel', c[3], 'kind', 'message', 'meta', cjson.encode({ client_msg_id = cmid }),
    'created_at', now)
  redis.call('RPUSH', ckey .. ':msgs', mid)
  redis.call('HINCRBY', ckey, 'msg_count', 1)
  redis.call('SET', dedup, mid, 'PX', ARGV[9])
  return { 'note', mid, c[3], c[4], c[5], redis.call('HGETALL', P .. 'msg:' .. mid) }
end
local meta = { client_msg_id = cmid }
if ARGV[11] and ARGV[11] ~= '' then meta.template = cjson.decode(ARGV[11]) end
meta = cjson.encode(meta)
redis.call('HSET', P .. 'msg:' .. mid,
  'id', mid, 'conversation', conv, 'customer', c[6], 'direction', 'out',
  'author', ARGV[10], 'author_id', agent, 'author_name', name, 'text', text,
  'attachments', '[]', 'channel', c[3], 'status', 'queued', 'kind', 'message',
  'meta', meta, 'created_at', now)
redis.call('RPUSH', ckey .. ':msgs', mid)
redis.call('HINCRBY', ckey, 'msg_count', 1)
redis.call('HSET', ckey, 'updated_at', now, 'last_message_at', now, 'last_outbound_at', now)
if not redis.call('HGET', ckey, 'first_reply_at') then
  redis.call('HSET', ckey, 'first_reply_at', now)
end
redis.call('SET', dedup, mid, 'PX', ARGV[9])
redis.call('ZADD', P .. 'outbox', now, mid)
return { 'ok', mid, c[3], c[4], c[5], redis.call('HGETALL', P .. 'msg:' .. mid) }
