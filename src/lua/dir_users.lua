-- dir_users: the directory users (agents.yaml directory:) whom their groups
-- describe, as the directory named them at their last log-in, so that
-- every node knows them (routing, a console session resumed on another
-- node, a node started later), not only the node they logged in on. Each
-- node makes the profile from the name and groups with its own
-- configuration (omr_agents_dir.c). An entry stays until the user logs in
-- again: one the directory no longer knows can never log in, so its entry
-- is never an agent who takes conversations.
-- @key  users   agents:directory
-- @arg  action  str   put | get | all
-- @arg  id      str   put, get
-- @arg  entry   str   put: JSON {"name", "groups": [...]}
-- @reply tag    str   'ok' | 'none' (get: not known)
-- @reply users  any   get: { id, entry }; all: { id, entry, ... }
if A.action == 'put' then
  redis.call('HSET', K.users, A.id, A.entry)
  return { 'ok', {} }
end
if A.action == 'get' then
  local e = redis.call('HGET', K.users, A.id)
  if not e then return { 'none', {} } end
  return { 'ok', { A.id, e } }
end
return { 'ok', redis.call('HGETALL', K.users) }
