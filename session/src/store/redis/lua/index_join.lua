
-- Puts one session into one per-user index (`join_index` comes from index.lua, which is
-- put in front of this file). Used where the index and the session may live on different
-- cluster nodes; elsewhere commit.lua does it in the same call as the write.
--
-- KEYS[1]  the index set
-- ARGV[1]  the session id
-- ARGV[2]  the index's least time-to-live in milliseconds, or "" for none
join_index(KEYS[1], ARGV[1], ARGV[2])
return 0
