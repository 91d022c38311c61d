-- Deletes a session that a renewal is about to replace, and marks its id as just used in
-- the per-user indexes it is in (`now_millis` comes from index.lua, which is put in front
-- of this file), so no listing drops it as stale before the renewal takes its place.
--
-- KEYS[1]  the session
-- KEYS[2 ..]  its indexes
-- ARGV[1]  the session id
--
-- Returns 1 when the session existed, else 0.
local now = now_millis()
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
return redis.call('DEL', KEYS[1])
