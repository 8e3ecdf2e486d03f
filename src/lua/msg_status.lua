-- msg_status: record the delivery outcome of an outbound message.
-- Providers report out of order (a "read" may arrive before "delivered"),
-- so a status only moves forward: queued < sent < delivered < read;
-- "failed" is final unless a later "delivered"/"read" proves otherwise.
-- @key  outbox  outbox
-- @arg  message str   our id ('' : look it up by the channel's id)
-- @arg  status  str   queued | sent | delivered | read | failed
-- @arg  channel str
-- @arg  channel_msg_id str  '' if none
-- @arg  error   str
-- @time
-- A status by channel id that comes before the send's own result (a
-- provider's status webhook can beat the response to the send) is kept
-- for 10 minutes under early:<channel>:<channel id> and applied when the
-- result names that id.
-- @reply message str   (nil: unknown)
-- @reply conversation str
-- @reply agent   str   of the conversation
-- @reply moved   str   '1' if the status changed
-- @reply hash    any   the message hash
local id, st, ch, cmid, err, now = A.message, A.status, A.channel, A.channel_msg_id, A.error, NOW
local early = P .. 'early:' .. ch .. ':' .. cmid
if id == '' then
  if cmid == '' then return {} end
  id = redis.call('GET', P .. 'outid:' .. ch .. ':' .. cmid)
  if not id then
    if redis.call('LLEN', early) < 10 then
      redis.call('RPUSH', early, st .. '\n' .. err)
      redis.call('PEXPIRE', early, 600000)
    end
    return {}
  end
end
local key = P .. 'msg:' .. id
if redis.call('EXISTS', key) == 0 then return {} end
local rank = { queued = 1, sent = 2, delivered = 3, read = 4, failed = 5 }
local function apply(s, e)
  local cur = redis.call('HGET', key, 'status') or 'queued'
  local move
  if s == 'failed' then
    move = (rank[cur] or 0) < 3
  elseif cur == 'failed' then
    move = s == 'delivered' or s == 'read'
  else
    move = (rank[s] or 0) > (rank[cur] or 0)
  end
  if move then
    redis.call('HSET', key, 'status', s, 'status_at', now)
    if e ~= '' then redis.call('HSET', key, 'error', e) end
    if s ~= 'queued' then redis.call('ZREM', K.outbox, id) end
  end
  return move
end
local move = apply(st, err)
if cmid ~= '' then
  redis.call('HSET', key, 'channel_msg_id', cmid)
  redis.call('SET', P .. 'outid:' .. ch .. ':' .. cmid, id, 'EX', 2592000)
  for _, v in ipairs(redis.call('LRANGE', early, 0, -1)) do
    local nl = string.find(v, '\n', 1, true)
    if nl and apply(string.sub(v, 1, nl - 1), string.sub(v, nl + 1)) then move = true end
  end
  redis.call('DEL', early)
end
local conv = redis.call('HGET', key, 'conversation') or ''
if st == 'failed' and string.sub(err, 1, 10) == 'opted_out:' and conv ~= '' then
  -- the channel says the recipient refuses our messages (plugin.h
  -- send_result): on the opt-out list, as if they had sent a stop word
  local c = redis.call('HMGET', P .. 'conv:' .. conv, 'channel', 'address', 'customer')
  if c[1] and c[2] and redis.call('HEXISTS', P .. 'optout:' .. c[1], c[2]) == 0 then
    redis.call('HSET', P .. 'optout:' .. c[1], c[2],
      cjson.encode({ at = now, via = 'channel', customer = c[3] or '' }))
  end
end
local agent = conv ~= '' and redis.call('HGET', P .. 'conv:' .. conv, 'agent') or ''
return { id, conv, agent or '', move and '1' or '0', redis.call('HGETALL', key) }
