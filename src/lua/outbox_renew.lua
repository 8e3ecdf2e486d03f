-- outbox_renew: the messages this node is still sending (a provider that
-- asks to retry later, a busy rate lane) are not due for a resend: their
-- outbox entries are renewed (XX: one whose outcome came meanwhile stays
-- out).
-- @key  outbox  outbox
-- @rest messages  message ids
-- @time
-- Returns: how many were renewed
local n = 0
for _, id in ipairs(REST) do
  n = n + redis.call('ZADD', K.outbox, 'XX', 'CH', NOW, id)
end
return n
