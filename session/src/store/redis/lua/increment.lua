-- Adds to one integer field of a live session hash, atomically, and refreshes the
-- session's time-to-live, in one step.
--
-- KEYS[1]  the session hash
-- ARGV[1]  the field
-- ARGV[2]  what to add
-- ARGV[3]  the value the field counts as holding when absent (its default)
-- ARGV[4]  the least value the field may take
-- ARGV[5]  the largest value the field may take
-- ARGV[6]  the time-to-live after the increment, in milliseconds
-- ARGV[7 ..]  name, value pairs to set with it (usually none)
--
-- Returns false when there is no live session: a hash is one only with its `__created`
-- field, so a key ended meanwhile (or another program's key) is never written, and a
-- late increment never brings back a session. Otherwise { 0, new value as text }, or
-- { 2 } when the result would leave ARGV[4]..ARGV[5] (or a 64-bit integer), in which case
-- nothing is written. A stored value that is not an integer counts as absent, as one
-- that no longer decodes takes its default when the session is loaded.
local key, field = KEYS[1], ARGV[1]
if redis.pcall('HEXISTS', key, '__created') ~= 1 then
  return false
end
local stored = redis.call('HGET', key, field)
if not stored then
  redis.call('HSET', key, field, ARGV[3])
end
local value = redis.pcall('HINCRBY', key, field, ARGV[2])
if type(value) == 'table' and not string.find(value.err, 'overflow', 1, true) then
  -- "hash value is not an integer"
  redis.call('HSET', key, field, ARGV[3])
  value = redis.pcall('HINCRBY', key, field, ARGV[2])
end
if type(value) == 'table' or value < tonumber(ARGV[4]) or value > tonumber(ARGV[5]) then
  -- Put the field back as it was, byte for byte.
  if stored then
    redis.call('HSET', key, field, stored)
  else
    redis.call('HDEL', key, field)
  end
  return { 2 }
end
if #ARGV > 6 then
  redis.call('HSET', key, unpack(ARGV, 7, #ARGV))
end
redis.call('PEXPIRE', key, ARGV[6])
-- As text. A Lua number is a double: exact below 2^53, where it is formatted here; past
-- that it rounds, and the stored text is read back instead.
if value > -9007199254740992 and value < 9007199254740992 then
  return { 0, string.format('%d', value) }
end
return { 0, redis.call('HGET', key, field) }
