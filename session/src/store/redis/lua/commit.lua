
-- Applies one change set to one session hash, atomically, with the per-user indexes it
-- joins and leaves (`join_index` comes from index.lua, which is put in front of this file).
--
-- KEYS[1]  the session hash
-- KEYS[2 .. 1 + j]  the index sets the session joins
-- KEYS[2 + j ..]    the index sets the session leaves
-- ARGV[1]  "create" or "update"
-- ARGV[2]  the time-to-live after the commit, in milliseconds; for an update, "" leaves
--          it as it is (the load just set it)
-- ARGV[3]  the creation time in milliseconds since the epoch; an update stores it only
--          when the hash has none (a hash written by another program), and sends "" when
--          the loaded session had one
-- ARGV[4]  n, the number of fields to set
-- ARGV[5]  j, the number of indexes joined
-- ARGV[6]  the least time-to-live of a joined index in milliseconds, or "" for none
-- ARGV[7]  the session id, as the indexes hold it; "" when no index is joined or left
-- ARGV[8 .. 7 + 2n]  name, value pairs to set
-- ARGV[8 + 2n ..]    names to remove
--
-- Returns 0 when written, 1 when an update found no session, 2 when a create found the
-- key taken. Nothing is written in the last two cases: a late write never brings back a
-- session that was ended, and a create never overwrites one. A key that holds something
-- other than a hash is another program's data, not a session: taken, for a create, and
-- no session, for an update.
local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
local create = ARGV[1] == 'create'
if create and kind ~= 'none' then
  return 2
elseif not create and kind ~= 'hash' then
  return 1
end

-- Indexes first: should one fail (a key of the wrong type), nothing else is written, and
-- a written session is never missing from its index.
local joins = tonumber(ARGV[5])
for i = 2, 1 + joins do
  join_index(KEYS[i], ARGV[7], ARGV[6])
end

-- Arguments go to HSET and HDEL in bounded slices: unpack() of an unbounded list can
-- overflow the Lua stack.
local CHUNK = 128
local last_set = 7 + 2 * tonumber(ARGV[4])
local first_set = 8
if create then
  -- The creation time goes with the first slice of fields; alone, it keeps a session
  -- without fields alive.
  first_set = 8 + 2 * CHUNK
  redis.call('HSET', key, '__created', ARGV[3], unpack(ARGV, 8, math.min(first_set - 1, last_set)))
elseif ARGV[3] ~= '' then
  -- From here on an absolute timeout can count from this first write of ours.
  redis.call('HSETNX', key, '__created', ARGV[3])
end
for i = first_set, last_set, 2 * CHUNK do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 2 * CHUNK - 1, last_set)))
end
for i = last_set + 1, #ARGV, CHUNK do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
if ARGV[2] ~= '' then
  redis.call('PEXPIRE', key, ARGV[2])
end
for i = 2 + joins, #KEYS do
  redis.call('SREM', KEYS[i], ARGV[7])
end
return 0
