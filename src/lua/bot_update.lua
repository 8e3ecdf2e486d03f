-- bot_update: what a bot's answer taught us about the conversation:
-- slots merged, the intent, the count of turns and of misunderstandings.
-- ARGV: 1 prefix  2 conversation  3 slots JSON ('{}')  4 intent ('')
--       5 misunderstood (0|1)  6 now
-- Returns: { status, turns, misunderstood } or {} when gone
local P, conv = ARGV[1], ARGV[2]
local ckey = P .. 'conv:' .. conv
local st = redis.call('HGET', ckey, 'status')
if not st then return {} end
local slots = cjson.decode(redis.call('HGET', ckey, 'bot_slots') or '{}')
for k, v in pairs(cjson.decode(ARGV[3])) do slots[k] = v end
redis.call('HSET', ckey, 'bot_slots', cjson.encode(slots), 'updated_at', ARGV[6])
if ARGV[4] ~= '' then
  redis.call('HSET', ckey, 'intent', ARGV[4])
  local attrs = cjson.decode(redis.call('HGET', ckey, 'attrs') or '{}')
  attrs.intent = ARGV[4]
  redis.call('HSET', ckey, 'attrs', cjson.encode(attrs))
end
local turns = redis.call('HINCRBY', ckey, 'bot_turns', 1)
local mis = tonumber(redis.call('HGET', ckey, 'bot_misunderstood') or '0')
if ARGV[5] == '1' then mis = redis.call('HINCRBY', ckey, 'bot_misunderstood', 1) end
return { st, turns, mis }
