-- to_bot: a new conversation goes to the bot tier (instead of a queue),
-- keeping the queue routing chose for a later handoff; acknowledges the
-- stream event, atomically.
-- KEYS[1]: the event stream
-- ARGV: 1 prefix  2 stream id  3 group  4 conversation  5 bot plugin
--       6 queue  7 now  8 priority  9 skills JSON  10 language  11 tags JSON
--       12 routing JSON
-- Returns: 1 if handed to the bot now, 0 if nothing to do
local P, sid, group, conv = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ckey = P .. 'conv:' .. conv
local done = 0
if redis.call('HGET', ckey, 'status') == 'new' then
  redis.call('HSET', ckey, 'status', 'bot', 'bot', ARGV[5], 'queue', ARGV[6],
    'bot_at', ARGV[7], 'priority', ARGV[8], 'skills', ARGV[9], 'tags', ARGV[11],
    'routing', ARGV[12], 'updated_at', ARGV[7], 'bot_turns', 0, 'bot_misunderstood', 0,
    'bot_slots', '{}')
  if ARGV[10] ~= '' then redis.call('HSET', ckey, 'language', ARGV[10]) end
  redis.call('ZREM', P .. 'convs:new', conv)
  done = 1
end
if sid ~= '' then redis.call('XACK', KEYS[1], group, sid) end
return done
