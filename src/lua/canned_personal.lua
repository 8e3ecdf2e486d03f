-- canned_personal: an agent's own canned responses (a hash per agent:
-- shortcut -> JSON {title, text}), read, saved or deleted, at most `max`.
-- @key  own     canned:agent:{agent}
-- @arg  agent   str
-- @arg  op      str   get | set | del
-- @arg  shortcut str  set, del
-- @arg  value   str   set: the JSON {title, text}
-- @arg  max     int   responses an agent may keep
-- @reply tag    str   'ok' | 'full' (set: already max others) | 'none' (del: no such)
-- @reply all    any   HGETALL of the hash after the change
if A.op == 'set' then
  if redis.call('HEXISTS', K.own, A.shortcut) == 0 and redis.call('HLEN', K.own) >= A.max then
    return { 'full', redis.call('HGETALL', K.own) }
  end
  redis.call('HSET', K.own, A.shortcut, A.value)
elseif A.op == 'del' then
  if redis.call('HDEL', K.own, A.shortcut) == 0 then
    return { 'none', redis.call('HGETALL', K.own) }
  end
end
return { 'ok', redis.call('HGETALL', K.own) }
