-- Deletes a session that a renewal is about to replace, and marks its id as just used in
-- the per-user indexes it is in (`now_millis` comes from index.lua, which is put in front
-- of this file), so no listing drops it as stale before the renewal takes its place. The
-- session is read in the same step: the renewal starts the new one from what it held
-- when it ended, with every write made since the renewal's load.
--
-- KEYS[1]  the session
-- KEYS[2 ..]  its indexes (none on a cluster, where they are in other slots)
-- ARGV[1]  the session id
--
-- Returns nil when there is no session, the key's type when it holds neither a hash nor
-- a string (left as it is), else { stored, pttl, 0 } as the load scripts answer: stored is
-- the hash's {name, value, ...} or the JSON text.
local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
local stored
if kind == 'hash' then
  stored = redis.call('HGETALL', key)
elseif kind == 'string' then
  stored = redis.call('GET', key)
elseif kind == 'none' then
  return false
else
  return kind
end
local pttl = redis.call('PTTL', key)
local now = now_millis()
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
redis.call('DEL', key)
return { stored, pttl, 0 }
