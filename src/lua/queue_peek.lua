-- queue_peek: the first conversations waiting in a queue, with what the
-- dispatcher needs to choose candidate agents.
-- ARGV: 1 prefix  2 queue  3 how many
-- Returns: { { id, channel, skills JSON, language, prefer_agent, prefer_until,
--              queued_at, score, max_wait_done, escalation step applied,
--              strategy }, ... }
local P, queue, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local ids = redis.call('ZRANGE', P .. 'queue:' .. queue, 0, n - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local c = redis.call('HMGET', P .. 'conv:' .. ids[i], 'channel', 'skills', 'language',
    'prefer_agent', 'prefer_until', 'queued_at', 'status', 'max_wait_done', 'esc_step',
    'strategy')
  if c[7] == 'queued' then
    out[#out + 1] = { ids[i], c[1] or '', c[2] or '{}', c[3] or '', c[4] or '', c[5] or '0',
      c[6] or '0', ids[i + 1], c[8] or '0', c[9] or '-1', c[10] or '' }
  else
    -- not waiting any more (a crash between steps): drop the stale entry
    redis.call('ZREM', P .. 'queue:' .. queue, ids[i])
  end
end
return out
