-- Marks a session that a renewal is about to replace as just used in one per-user index
-- (`now_millis` comes from index.lua, which is put in front of this file), if it is
-- there, so no listing drops it as stale while the renewal is under way. Used where the
-- index may live on another cluster node than the session; elsewhere retire.lua does it.
--
-- KEYS[1]  the index
-- ARGV[1]  the session id
redis.call('ZADD', KEYS[1], 'XX', now_millis(), ARGV[1])
return 0
