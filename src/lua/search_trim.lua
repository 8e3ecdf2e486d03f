-- search_trim: words of the search index older than search.days go
-- (docs/search.md). Each node calls it with the retention timer; a call
-- looks at most `max` terms, those whose oldest entry is past the cutoff
-- (s:terms), so it is bounded and two nodes never do the work twice.
-- @key  terms   s:terms
-- @arg  days    int   entries older than this many days go
-- @arg  max     int   terms looked at, at most
-- @time
-- @reply more   int   1: there may be more to trim now
-- @reply terms  int   terms looked at
local since = NOW - A.days * 86400000
local ts = redis.call('ZRANGEBYSCORE', K.terms, '-inf', '(' .. since, 'LIMIT', 0, A.max)
for _, t in ipairs(ts) do
  local k = P .. 's:w:' .. t
  redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. since)
  local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', K.terms, first[2], t)
  else
    redis.call('ZREM', K.terms, t)
  end
end
return { #ts >= A.max and 1 or 0, #ts }
