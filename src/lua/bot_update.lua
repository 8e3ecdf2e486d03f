-- bot_update: what a bot's answer taught us about the conversation:
-- slots merged, the intent, the count of turns and of misunderstandings.
-- @key  conv   conv:{conversation}
-- @arg  conversation str
-- @arg  slots  json  merged in ('{}')
-- @arg  intent str   '' none
-- @arg  misunderstood bool
-- @time
-- @reply status str   the conversation's status (nil: gone)
-- @reply turns  int
-- @reply misunderstood int
local ckey = K.conv
local st = redis.call('HGET', ckey, 'status')
if not st then return {} end
local slots = cjson.decode(redis.call('HGET', ckey, 'bot_slots') or '{}')
for k, v in pairs(cjson.decode(A.slots)) do slots[k] = v end
redis.call('HSET', ckey, 'bot_slots', cjson.encode(slots), 'updated_at', NOW)
if A.intent ~= '' then
  redis.call('HSET', ckey, 'intent', A.intent)
  local attrs = cjson.decode(redis.call('HGET', ckey, 'attrs') or '{}')
  attrs.intent = A.intent
  redis.call('HSET', ckey, 'attrs', cjson.encode(attrs))
end
local turns = redis.call('HINCRBY', ckey, 'bot_turns', 1)
local mis = tonumber(redis.call('HGET', ckey, 'bot_misunderstood') or '0')
if A.misunderstood then mis = redis.call('HINCRBY', ckey, 'bot_misunderstood', 1) end
return { st, turns, mis }
