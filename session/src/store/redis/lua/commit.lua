-- Applies one change set to one session hash, atomically, with the per-user indexes it
-- joins, takes over (a renewal) and leaves (`join_index` and `all_hold` come from
-- index.lua, which is put in front of this file).
--
-- KEYS[1]  the session hash
-- KEYS[2 .. 1 + j]          the indexes the session joins
-- KEYS[2 + j .. 1 + j + t]  the indexes in which it takes the place of the id it renews
-- KEYS[2 + j + t ..]        the indexes the session leaves
-- ARGV[1]  "create" or "update"
-- ARGV[2]  the time-to-live after the commit, in milliseconds; for an update, "" leaves
--          it as it is (the load just set it)
-- ARGV[3]  the creation time in milliseconds since the epoch; an update sends it only
--          when the loaded one did not parse (another program's), and "" otherwise
-- ARGV[4]  n, the number of fields to set
-- ARGV[5]  "" when no index is named (most writes, which then carry nothing more for
--          them), else "j|t|cap|ttl|id|from":
--            j     the number of indexes joined
--            t     the number of indexes taken over
--            cap   the most ids an index keeps
--            ttl   the least time-to-live of a joined index in milliseconds, or none
--            id    the session id, as the indexes hold it
--            from  the id of the session this one renews, for the indexes taken over
-- ARGV[6 .. 5 + 2n]  name, value pairs to set
-- ARGV[6 + 2n ..]    names to remove
--
-- Returns 0 when written, 1 when an update found no session (or a renewal found the
-- session it renews ended, out of an index it takes over), 2 when a create found the key
-- taken, 3 when written and an index it joined holds more ids than it keeps (the caller
-- then makes room). Nothing is written in cases 1 and 2: a late write never brings back a
-- session that was ended, and a create never overwrites one. A key that holds anything
-- but one of our sessions is taken, for a create, and no session, for an update.
local key = KEYS[1]
local create = ARGV[1] == 'create'
if create then
  if redis.call('EXISTS', key) == 1 then
    return 2
  end
-- A session of ours is a hash holding its creation time (see hash_load.rs): anything else
-- under the key (nothing, what a late write left, another program's data) is no session.
elseif redis.pcall('HEXISTS', key, '__created') ~= 1 then
  return 1
end

-- Indexes first: should one fail (a key of the wrong type), nothing else is written, and
-- a written session is never missing from its index.
local spec = {}
if ARGV[5] ~= '' then
  for part in (ARGV[5] .. '|'):gmatch('([^|]*)|') do
    spec[#spec + 1] = part
  end
end
local joins, id, from = tonumber(spec[1] or 0), spec[5], spec[6]
local taken = {}
for i = 2 + joins, 1 + joins + tonumber(spec[2] or 0) do
  taken[#taken + 1] = KEYS[i]
end
if not all_hold(taken, from) then
  return 1
end
local full = false
for i = 2, 1 + joins do
  full = join_index(KEYS[i], id, '', spec[4]) > tonumber(spec[3]) or full
end
for _, index in ipairs(taken) do
  join_index(index, id, from, spec[4])
end

-- Arguments go to HSET and HDEL in bounded slices: unpack() of an unbounded list can
-- overflow the Lua stack.
local CHUNK = 128
local last_set = 5 + 2 * tonumber(ARGV[4])
local first_set = 6
if create then
  -- The creation time goes with the first slice of fields; alone, it keeps a session
  -- without fields alive.
  first_set = 6 + 2 * CHUNK
  redis.call('HSET', key, '__created', ARGV[3], unpack(ARGV, 6, math.min(first_set - 1, last_set)))
elseif ARGV[3] ~= '' then
  -- The loaded creation time did not parse (another program's): from here on an absolute
  -- timeout counts from this first write of ours.
  redis.call('HSET', key, '__created', ARGV[3])
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
for i = 2 + joins + #taken, #KEYS do
  redis.call('ZREM', KEYS[i], id)
end
if full then
  return 3
end
return 0
