-- reply: store an agent's message to the customer, atomically with its
-- idempotency key; the caller acknowledges, then hands it to the channel.
-- @key  conv    conv:{conversation}
-- @key  outbox  outbox
-- @arg  conversation str
-- @arg  agent   str   the agent (or the bot plugin, or 'omniroute')
-- @arg  name    str   display name
-- @arg  text    str
-- @arg  client_msg_id str
-- @arg  message str   new message id
-- @arg  dedup_ttl int ms the client_msg_id is remembered
-- @arg  author  str   agent | bot | system | survey (the satisfaction
--                     question or its thanks: stored as system, also on a
--                     closed conversation) | supervisor (a barge: to the
--                     customer, beside the agent) | whisper (a supervisor's
--                     note only the agent sees) | note (the agent's own
--                     internal note: assigned or in wrap-up, never sent)
-- @arg  template str  JSON {name, language} when the text is a channel template ('' none)
-- @arg  public_note str an agent's private answer on a public thread: the
--                     short note the channel posts there ('' : a public answer)
-- @arg  mentions str  note: the agents it names, comma separated ('' none)
-- @arg  queues  str   supervisor, whisper: the supervisor's queues, comma
--                     separated ('' all): another queue's conversation is
--                     'not_yours'
-- @arg  words   str   the text's search terms, space separated ('' : not
--                     indexed: bots' and system messages, notes)
-- @arg  attachments str JSON list of the agent's stored files ({name, type,
--                     size, sha256, stored}: omr_media), '' none
-- @arg  cc      str   JSON list of the reply's Cc addresses (e-mail; checked
--                     by the caller), kept in meta.cc; '' none
-- @time
-- @lib  search
-- @reply tag     str   'ok' | 'dup' | 'note' | 'not_yours' | 'bad_state'
-- @reply message str   (bad_state: the status it is in)
-- @reply channel str
-- @reply address str
-- @reply thread  str
-- @reply hash    any   the message hash
-- @reply agent   str   the conversation's agent (supervisor, whisper)
-- Returns: { 'ok'|'dup', message id, channel, address, thread, message hash }
--          or { 'note', ... } for a system notice on a public thread: kept
--          as an internal note, not sent (a queue position under a post is
--          for no one to read)
--          or { 'not_yours' } / { 'bad_state', status }
local conv, agent, name, text = A.conversation, A.agent, A.name, A.text
local cmid, mid, now = A.client_msg_id, A.message, NOW
local ckey = K.conv
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'address', 'thread', 'customer',
  'queue')
local dedup = P .. 'dedup:agent:' .. agent .. ':' .. cmid
local seen = redis.call('GET', dedup)
if seen then
  return { 'dup', seen, c[3] or '', c[4] or '', c[5] or '',
    redis.call('HGETALL', P .. 'msg:' .. seen) }
end
local supervising = A.author == 'supervisor' or A.author == 'whisper'
if A.author == 'agent' or A.author == 'note' then
  if c[2] ~= agent then return { 'not_yours' } end
  if c[1] ~= 'assigned' and not (A.author == 'note' and c[1] == 'wrapup') then
    return { 'bad_state', c[1] or 'unknown' }
  end
elseif supervising then
  if not c[1] then return { 'bad_state', 'unknown' } end
  if A.queues ~= '' and not string.find(',' .. A.queues .. ',', ',' .. (c[7] or '') .. ',', 1, true) then
    return { 'not_yours' }
  end
  if c[1] ~= 'assigned' then return { 'bad_state', c[1] } end
elseif A.author == 'survey' then
  if not c[1] then return { 'bad_state', 'unknown' } end
elseif not c[1] or c[1] == 'closed' then
  return { 'bad_state', c[1] or 'unknown' }
end
if A.author == 'system' and redis.call('HGET', ckey, 'public') == '1' then
  redis.call('HSET', P .. 'msg:' .. mid,
    'id', mid, 'conversation', conv, 'customer', c[6], 'direction', 'note',
    'author', 'system', 'author_id', agent, 'author_name', name,
    'text', 'Not posted on the public thread: ' .. text, 'attachments', '[]',
    'channel', c[3], 'kind', 'message', 'meta', cjson.encode({ client_msg_id = cmid }),
    'created_at', now)
  redis.call('RPUSH', ckey .. ':msgs', mid)
  redis.call('HINCRBY', ckey, 'msg_count', 1)
  redis.call('SET', dedup, mid, 'PX', A.dedup_ttl)
  return { 'note', mid, c[3], c[4], c[5], redis.call('HGETALL', P .. 'msg:' .. mid) }
end
if A.author == 'whisper' or A.author == 'note' then
  -- kept with the conversation, shown to its agent (and whoever has it
  -- next, and its supervisors), never sent
  local meta = { client_msg_id = cmid }
  if A.mentions ~= '' then
    meta.mentions = {}
    for m in string.gmatch(A.mentions, '[^,]+') do meta.mentions[#meta.mentions + 1] = m end
  end
  redis.call('HSET', P .. 'msg:' .. mid,
    'id', mid, 'conversation', conv, 'customer', c[6], 'direction', 'note',
    'author', A.author == 'note' and 'agent' or 'supervisor', 'author_id', agent,
    'author_name', name, 'text', text,
    'attachments', '[]', 'channel', c[3], 'status', 'internal', 'kind', A.author,
    'meta', cjson.encode(meta), 'created_at', now)
  redis.call('RPUSH', ckey .. ':msgs', mid)
  redis.call('HINCRBY', ckey, 'msg_count', 1)
  redis.call('SET', dedup, mid, 'PX', A.dedup_ttl)
  return { 'note', mid, c[3], c[4], c[5], redis.call('HGETALL', P .. 'msg:' .. mid), c[2] }
end
local meta = { client_msg_id = cmid }
if A.template ~= '' then meta.template = cjson.decode(A.template) end
if A.public_note ~= '' then meta.public_note = A.public_note end
if A.cc ~= '' then meta.cc = cjson.decode(A.cc) end
meta = cjson.encode(meta)
redis.call('HSET', P .. 'msg:' .. mid,
  'id', mid, 'conversation', conv, 'customer', c[6], 'direction', 'out',
  'author', A.author == 'survey' and 'system' or A.author, 'author_id', agent,
  'author_name', name, 'text', text,
  'attachments', A.attachments ~= '' and A.attachments or '[]', 'channel', c[3],
  'status', 'queued', 'kind', 'message', 'meta', meta, 'created_at', now)
if A.attachments ~= '' then
  -- counted per message naming the file, as ingest.lua does
  for _, a in ipairs(cjson.decode(A.attachments)) do
    if a.stored == true and type(a.sha256) == 'string' then
      redis.call('HINCRBY', P .. 'files:refs', c[3] .. ':' .. a.sha256, 1)
    end
  end
end
redis.call('RPUSH', ckey .. ':msgs', mid)
redis.call('HINCRBY', ckey, 'msg_count', 1)
redis.call('HSET', ckey, 'updated_at', now, 'last_message_at', now, 'last_outbound_at', now)
F.words(conv, A.words, now)
if not redis.call('HGET', ckey, 'first_reply_at') then
  redis.call('HSET', ckey, 'first_reply_at', now)
end
redis.call('SET', dedup, mid, 'PX', A.dedup_ttl)
redis.call('ZADD', K.outbox, now, mid)
return { 'ok', mid, c[3], c[4], c[5], redis.call('HGETALL', P .. 'msg:' .. mid), c[2] or '' }
