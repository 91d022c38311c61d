-- Loads one session hash and, when asked, refreshes its time-to-live, in one round trip.
-- On one node only a load with a refresh threshold runs this script: the others are a
-- pipeline of plain commands (see `hash_load.rs`). On a cluster every load runs it,
-- because the cluster client follows a redirection (a slot on the move) for a single
-- command but not inside a pipeline.
--
-- KEYS[1]  the session hash
-- ARGV[1]  the time-to-live to set, in milliseconds, or "" to leave it as it is
-- ARGV[2]  with ARGV[1]: refresh only when less than this many milliseconds are left,
--          or "" to refresh whatever is left
--
-- Returns nil when there is no session, the key's type (a string) when it holds
-- something other than a session of ours (a key of another type, or a hash without the
-- reserved field `__created`), else
-- { {name, value, ...}, pttl, refreshed } where refreshed is 1 when the time-to-live was
-- set, else 0.
local key = KEYS[1]
local fields = redis.pcall('HGETALL', key)
if fields.err then
  return redis.call('TYPE', key).ok
end
if #fields == 0 then
  return false
end
-- A hash without its creation time is not a session of ours (see hash_load.rs): left as
-- it is, and named like a key of another type.
local marked = false
for i = 1, #fields, 2 do
  if fields[i] == '__created' then
    marked = true
    break
  end
end
if not marked then
  return 'hash'
end
if ARGV[1] == '' then
  return { fields, redis.call('PTTL', key), 0 }
end
-- Refreshing on every access (no threshold) needs no PTTL at all: the time left is the
-- time just set. That is the default policy, so the common load runs two commands.
if ARGV[2] ~= '' then
  local left = redis.call('PTTL', key)
  -- A key without an expiry (-1) has all the time in the world: never "below".
  if left < 0 or left >= tonumber(ARGV[2]) then
    return { fields, left, 0 }
  end
end
redis.call('PEXPIRE', key, ARGV[1])
return { fields, tonumber(ARGV[1]), 1 }
