-- bot_idle: conversations left with the bot tier (status bot) or parked
-- after an automatic answer, in which the customer has written nothing for
-- the idle time, are closed: the customer got what they came for, or left.
-- bot:idle holds them, score = the customer's last message (ms; an
-- automatic mail such as an out-of-office does not count).
-- @key  idle   bot:idle
-- @arg  idle   int   ms without a word from the customer
-- @arg  day    str   no longer read (report.lib: Redis' clock); kept for the callers
-- @arg  most   int   conversations closed at most
-- @time
-- @lib  report
-- Returns: { conversation, status it had, ... } of those closed
local zkey = K.idle
local out = {}
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', zkey, '-inf', NOW - A.idle, 'LIMIT', 0, A.most)) do
  local ckey = P .. 'conv:' .. conv
  local c = redis.call('HMGET', ckey, 'status', 'channel', 'thread', 'queue')
  if c[1] ~= 'bot' and c[1] ~= 'parked' then
    redis.call('ZREM', zkey, conv)      -- a person has it, or it is closed
  else
    local outcome = c[1] == 'bot' and 'resolved by bot' or 'automated'
    local reason = 'no reply from the customer'
    redis.call('HSET', ckey, 'status', 'closed', 'closed_at', NOW, 'ended_at', NOW,
      'updated_at', NOW, 'wrapup', cjson.encode({ reason = reason, outcome = outcome, at = NOW,
                                                  idle = true }))
    local okey = P .. 'open:' .. c[2] .. ':' .. c[3]
    if redis.call('GET', okey) == conv then redis.call('DEL', okey) end
    redis.call('ZREM', zkey, conv)
    redis.call('ZREM', P .. 'bot:waiting', conv)
    if c[1] == 'bot' then T.bot_contained(c[4], c[2]) end
    T.closed(c[4], c[2], reason, outcome)
    out[#out + 1] = conv
    out[#out + 1] = c[1]
  end
end
return out
