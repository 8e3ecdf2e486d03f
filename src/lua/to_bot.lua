-- to_bot: a new conversation goes to the bot tier (instead of a queue),
-- keeping the queue routing chose for a later handoff; acknowledges the
-- stream event, atomically.
-- @key  stream  events
-- @key  conv    conv:{conversation}
-- @arg  entry   str   stream entry id ('' none)
-- @arg  group   str   consumer group
-- @arg  conversation str
-- @arg  bot     str   the bot plugin
-- @arg  queue   str   the queue routing chose
-- @arg  priority int
-- @arg  skills  json
-- @arg  language str  '' none
-- @arg  tags    json
-- @arg  routing json
-- @time
-- Returns: 1 if handed to the bot now, 0 if nothing to do
local ckey = K.conv
local done = 0
if redis.call('HGET', ckey, 'status') == 'new' then
  redis.call('HSET', ckey, 'status', 'bot', 'bot', A.bot, 'queue', A.queue,
    'bot_at', NOW, 'priority', A.priority, 'skills', A.skills, 'tags', A.tags,
    'routing', A.routing, 'updated_at', NOW, 'bot_turns', 0, 'bot_misunderstood', 0,
    'bot_slots', '{}')
  if A.language ~= '' then redis.call('HSET', ckey, 'language', A.language) end
  redis.call('ZREM', P .. 'convs:new', A.conversation)
  done = 1
end
if A.entry ~= '' then redis.call('XACK', K.stream, A.group, A.entry) end
return done
