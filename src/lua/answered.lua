-- answered: an offer was accepted: count the answer for the queue's
-- service level of the day (kept 35 days), and when it came later than the
-- queue's service level allows, withdraw from the customer's engagement
-- balance, in one step.
-- @key  stats  stats:{queue}:{day}
-- @arg  queue  str
-- @arg  day    str   YYYY-MM-DD (UTC)
-- @arg  in_sla bool  answered within the service level (or it has none)
-- @arg  customer str
-- @arg  conversation str
-- @arg  points int   a late answer's change of the balance (0: none)
-- @arg  min    int   the balance's bounds
-- @arg  max    int
-- @time
-- @lib  engage
-- Returns: 1
redis.call('HINCRBY', K.stats, 'answered', 1)
if A.in_sla then
  redis.call('HINCRBY', K.stats, 'in_sla', 1)
else
  E.move(A.customer, A.points, 'sla_breach', A.conversation, A.min, A.max)
end
redis.call('EXPIRE', K.stats, 3024000)
return 1
