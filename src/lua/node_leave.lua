-- node_leave: this node stops on purpose (SIGTERM, an upgrade): it is
-- dead to the others at once, so that the first to look (every 2 s) takes
-- over its agents and its unfinished events (reap.lua), rather than once
-- its heartbeat has run out. Its consoles reconnect elsewhere meanwhile.
-- @key  alive   node:{node}:alive
-- @key  nodes   nodes
-- @arg  node    str
redis.call('DEL', K.alive)
redis.call('ZADD', K.nodes, 0, A.node)
return 1
