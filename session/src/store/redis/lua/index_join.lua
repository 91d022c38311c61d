-- Puts one session into one per-user index (`join_index` and `all_hold` come from
-- index.lua, which is put in front of this file). Used where the index and the session
-- may live on different cluster nodes, and for the JSON layout; elsewhere commit.lua does
-- it in the same call as the write.
--
-- KEYS[1]  the index
-- ARGV[1]  the session id
-- ARGV[2]  for a renewal, the id it replaces; "" for none
-- ARGV[3]  the index's least time-to-live in milliseconds, or "" for none
--
-- Returns how many ids the index holds after, or -1 when the replaced id is no longer
-- there (nothing is changed then). An id already there has joined: a retried call whose
-- first try landed succeeds again.
if ARGV[2] ~= '' and not redis.call('ZSCORE', KEYS[1], ARGV[1])
    and not all_hold({ KEYS[1] }, ARGV[2]) then
  return -1
end
return join_index(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
