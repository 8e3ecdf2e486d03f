-- node_alive: this node's heartbeat. The nodes set holds every node with
-- when its heartbeat ends; a node whose time is past is dead until
-- reap.lua hands over what it answered for. (The sessions this node had
-- before a restart are set right by node_sync.lua.)
-- @key  alive   node:{node}:alive
-- @key  nodes   nodes
-- @arg  node    str
-- @arg  ttl     int   ms the heartbeat lives
-- @arg  start   bool  the first beat after a start
-- @time
-- @reply others  int   other nodes alive now (the bus skips Redis when none)
-- @reply rejoined int  1: not a start, yet this node had been reaped as
--                      dead (cut off from Redis longer than its ttl): its
--                      sessions must be counted again
redis.call('SET', K.alive, NOW, 'PX', A.ttl)
local new = redis.call('ZADD', K.nodes, NOW + A.ttl, A.node)
local others = redis.call('ZCOUNT', K.nodes, NOW, '+inf') - 1
return { others, A.start and 0 or new }
