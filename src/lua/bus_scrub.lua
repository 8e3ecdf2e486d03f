-- bus_scrub: after an erasure, the node bus (bus: frames between nodes,
-- trimmed to ~10 000 entries) loses the entries that name one of the
-- erased conversations (a frame to an agent may carry the customer's
-- text). One batch per call, from `after` on; the caller goes on with
-- `next` until it is ''.
-- @key  bus     bus
-- @arg  after   str   '' from the start, else the last entry looked at
-- @arg  count   int   entries looked at, at most
-- @rest conversations  the erased conversations' ids
-- @reply next    str   the last entry looked at ('' done)
-- @reply deleted int
local start = A.after == '' and '-' or '(' .. A.after
local entries = redis.call('XRANGE', K.bus, start, '+', 'COUNT', A.count)
local deleted, last = 0, ''
-- the erased ids as a set: each frame is read once, however many there are
local erased = {}
for _, id in ipairs(REST) do erased[id] = true end
for _, e in ipairs(entries) do
  last = e[1]
  local f = e[2]
  for i = 1, #f - 1, 2 do
    if f[i] == 'm' then
      for id in f[i + 1]:gmatch('c_[0-9a-z]+') do
        if erased[id] then
          redis.call('XDEL', K.bus, e[1])
          deleted = deleted + 1
          break
        end
      end
    end
  end
end
if #entries < A.count then last = '' end
return { last, deleted }
