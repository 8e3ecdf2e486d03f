-- conv_act: what an agent does to an assigned conversation: transfer it,
-- close it (wrap-up follows), or wrap it up (record why the customer got
-- in touch and how it ended; frees the capacity), atomically.
-- ARGV: 1 prefix  2 action: transfer | close | wrapup  3 conversation
--       4 agent  5 now (ms)
--   transfer: 6 'queue'|'agent'  7 target  8 note message id  9 note text
--             10 agent name  11 preference (ms)  12 queue score
--   wrapup:   6 wrapup JSON  7 reason  8 outcome  9 day (YYYY-MM-DD)
-- Returns: { 'ok', channel, queue, customer } or { 'not_yours' } / { 'bad_state', status }
local P, act, conv, agent, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ckey = P .. 'conv:' .. conv
local akey = P .. 'agent:' .. agent
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'queue', 'thread', 'customer')
if c[2] ~= agent or redis.call('SISMEMBER', akey .. ':convs', conv) == 0 then
  return { 'not_yours' }
end
local status, chan = c[1], c[3]

local function release()
  redis.call('HSET', akey, 'changed_at', now)
  redis.call('SREM', akey .. ':convs', conv)
  local l = redis.call('HINCRBY', akey, 'load:' .. chan, -1)
  if l < 0 then redis.call('HSET', akey, 'load:' .. chan, 0) end
end

if act == 'close' then
  if status ~= 'assigned' then return { 'bad_state', status } end
  redis.call('HSET', ckey, 'status', 'wrapup', 'ended_at', now, 'updated_at', now)
  return { 'ok', chan, c[4] }
end

if act == 'wrapup' then
  if status ~= 'assigned' and status ~= 'wrapup' then return { 'bad_state', status } end
  redis.call('HSET', ckey, 'status', 'closed', 'wrapup', ARGV[6], 'closed_at', now,
    'updated_at', now)
  if not redis.call('HGET', ckey, 'ended_at') then redis.call('HSET', ckey, 'ended_at', now) end
  local okey = P .. 'open:' .. chan .. ':' .. c[5]
  if redis.call('GET', okey) == conv then redis.call('DEL', okey) end
  release()
  redis.call('HSET', akey, 'last_assigned_at', now)
  -- how long it took, for waiting-time estimates of the queue
  local assigned = tonumber(redis.call('HGET', ckey, 'assigned_at') or '0')
  if assigned > 0 and c[4] then
    redis.call('LPUSH', P .. 'queue:' .. c[4] .. ':aht', now - assigned)
    redis.call('LTRIM', P .. 'queue:' .. c[4] .. ':aht', 0, 49)
  end
  if c[6] then
    redis.call('HSET', P .. 'cust:' .. c[6], 'last_agent', agent, 'last_closed_at', now)
  end
  redis.call('ZINCRBY', P .. 'report:reasons', 1, ARGV[7])
  redis.call('ZINCRBY', P .. 'report:reasons:' .. ARGV[9], 1, ARGV[7])
  redis.call('ZINCRBY', P .. 'report:outcomes', 1, ARGV[8])
  redis.call('ZADD', P .. 'report:days', 0, ARGV[9])
  return { 'ok', chan, c[4], c[6] or '' }
end

if act == 'transfer' then
  if status ~= 'assigned' then return { 'bad_state', status } end
  local queue = c[4]
  local prefer, until_ = '', 0
  if ARGV[6] == 'queue' then
    queue = ARGV[7] -- checked against the configuration by the caller
  else
    prefer, until_ = ARGV[7], now + tonumber(ARGV[11])
  end
  if ARGV[9] ~= '' then
    local nid = ARGV[8]
    redis.call('HSET', P .. 'msg:' .. nid, 'id', nid, 'conversation', conv,
      'customer', c[6], 'direction', 'note', 'author', 'agent', 'author_id', agent,
      'author_name', ARGV[10], 'text', ARGV[9], 'attachments', '[]', 'channel', chan,
      'status', 'internal', 'kind', 'note', 'meta', '{}', 'created_at', now)
    redis.call('RPUSH', ckey .. ':msgs', nid)
    redis.call('HINCRBY', ckey, 'msg_count', 1)
  end
  release()
  redis.call('HSET', ckey, 'status', 'queued', 'agent', '', 'queue', queue,
    'prefer_agent', prefer, 'prefer_until', until_, 'transferred_by', agent,
    'updated_at', now)
  redis.call('ZADD', P .. 'queue:' .. queue, ARGV[12], conv)
  return { 'ok', chan, queue }
end
return { 'bad_state', status }
