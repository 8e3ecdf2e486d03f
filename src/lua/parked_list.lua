-- parked_list: an agent's parked conversations, soonest back first (read
-- only), with what the console lists: channel, customer, subject.
-- @key  own     agent:{agent}:snoozed
-- @arg  agent   str
-- @reply items  any   { { conversation, due ms, on reply only '1'|'0', channel, customer name, subject }, ... }
-- @readonly
local out = {}
local all = redis.call('ZRANGE', K.own, 0, 199, 'WITHSCORES')
for i = 1, #all, 2 do
  local conv = all[i]
  local c = redis.call('HMGET', P .. 'conv:' .. conv, 'channel', 'customer', 'snooze_on_reply_only',
    'attrs', 'status')
  if c[5] == 'snoozed' then
    local name = c[2] and redis.call('HGET', P .. 'cust:' .. c[2], 'name') or ''
    local subject = ''
    local ok, attrs = pcall(cjson.decode, c[4] or '{}')
    if ok and type(attrs) == 'table' and type(attrs.subject) == 'string' then subject = attrs.subject end
    out[#out + 1] = { conv, all[i + 1], c[3] or '0', c[1] or '', name or '', subject }
  end
end
return { out }
