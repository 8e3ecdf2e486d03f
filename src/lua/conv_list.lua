-- conv_list: newest conversations first, optionally of one channel and/or
-- status. Scans at most `cap` entries so a query cannot stall Redis.
-- The index is ordered by (created_at, id); ids made in the same
-- millisecond sort in the order they were made, so an id cursor neither
-- skips nor repeats a conversation.
-- @key  convs   convs
-- @arg  channel str   '' : every channel
-- @arg  status  str   '' : any
-- @arg  limit   int
-- @arg  cap     int   entries scanned at most
-- @arg  cursor  str   '' (from the newest), a time (ms: those created before
--                     it) or a conversation id (those listed after it)
-- Returns: { 'ok', next, { conv hash }, ... } where next is the cursor of
-- the following page ('' when the index is at its end), or { 'nocursor' }
-- when an id cursor is not in this index.
-- @readonly
local st, limit, cap, cur = A.status, A.limit, A.cap, A.cursor
local idx = K.convs
if A.channel ~= '' then idx = P .. 'convs:ch:' .. A.channel end
local max, after = '+inf', nil
if cur:match('^%d+$') then
  max = '(' .. cur
elseif cur ~= '' then
  local score = redis.call('ZSCORE', idx, cur)
  if not score then return { 'nocursor' } end
  max, after = score, cur
end
local batch = 100
local out, scanned, offset, last = { 'ok', '' }, 0, 0, nil
local full, ended = false, false
while not full and scanned < cap do
  local page = redis.call('ZREVRANGEBYSCORE', idx, max, '-inf', 'WITHSCORES', 'LIMIT', offset, batch)
  if #page == 0 then ended = true break end
  offset = offset + #page / 2
  for i = 1, #page, 2 do
    local id = page[i]
    -- an id cursor: the ones of its millisecond up to it came before
    if not (after and page[i + 1] == max and id >= after) then
      scanned = scanned + 1
      last = id
      if st == '' or redis.call('HGET', P .. 'conv:' .. id, 'status') == st then
        out[#out + 1] = redis.call('HGETALL', P .. 'conv:' .. id)
        if #out - 2 >= limit then full = true break end
      end
      if scanned >= cap then break end
    end
  end
  -- a short page (id and score per entry) was the index's last
  if not full and scanned < cap and #page < 2 * batch then ended = true end
end
if not ended and last then out[2] = last end
return out
