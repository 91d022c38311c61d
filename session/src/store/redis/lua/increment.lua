-- Adds to one integer field of a live session hash, atomically, and refreshes the
-- session's time-to-live, in one step.
--
-- KEYS[1]  the session hash
-- ARGV[1]  the field
-- ARGV[2]  what to add
-- ARGV[3]  the value the field counts as holding when absent (its default)
-- ARGV[4]  the least value the field's type holds
-- ARGV[5]  the largest value the field's type holds (a u64's is past what HINCRBY counts)
-- ARGV[6]  the time-to-live after the increment, in milliseconds
-- ARGV[7 ..]  name, value pairs to set with it (usually none)
--
-- Returns false when there is no live session: a hash is one only with its `__created`
-- field, so a key ended meanwhile (or another program's key) is never written, and a
-- late increment never brings back a session. Otherwise { 0, new value as text }, or
-- { 2 } when the result would leave ARGV[4]..ARGV[5] (or a 64-bit integer), in which case
-- nothing is written.
--
-- It counts from what a load shows, by the rule of `Increment` (store/mod.rs): from the
-- stored value when the field's type decodes it, else from the default; a value that
-- decodes but that HINCRBY cannot count from (a u64 past 2^63 - 1) is out of range.

-- The integer JSON text spells, as plain decimal text, or nil: JSON whitespace around it,
-- no fraction or exponent, no leading zero, and not -0, which JSON reads as a float.
local function json_integer(text)
  local number = string.match(text, '^[ \t\n\r]*(%-?%d+)[ \t\n\r]*$')
  if not number or string.find(number, '^%-?0%d') or number == '-0' then
    return nil
  end
  return number
end

-- Whether decimal integer a is below b, at any length (a Lua number is a double, which
-- would take 2^63 for 2^63 - 1).
local function below(a, b)
  local a_negative, b_negative = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if a_negative ~= b_negative then
    return a_negative
  end
  if a_negative then
    a, b = string.sub(b, 2), string.sub(a, 2)
  end
  if #a ~= #b then
    return #a < #b
  end
  return a < b
end

local key, field, by, absent, min, max = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.pcall('HEXISTS', key, '__created') ~= 1 then
  return false
end
local stored = redis.call('HGET', key, field)
local start = stored and json_integer(stored)
if not start or below(start, min) or below(max, start) then
  start = absent
end
if start ~= stored then
  redis.call('HSET', key, field, start)
end
-- An error: past 64 bits, or a start past them, which HINCRBY does not read.
local value = redis.pcall('HINCRBY', key, field, by)
if type(value) == 'table' or value < tonumber(min) or value > tonumber(max) then
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
