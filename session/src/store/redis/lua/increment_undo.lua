-- Puts back a key that a pipelined increment (increment.rs) wrote to and found no session
-- in: another program's key, or what a late write of ours left behind, which its writer
-- deletes. In one step, so that deletion either came first (nothing to put back) or comes
-- after (and takes what this puts back with it).
--
-- KEYS[1]  the key
-- ARGV[1]  the field
-- ARGV[2]  what takes the increment back ('' when it wrote nothing)
-- ARGV[3]  '1' when the field was absent before the increment: it is removed again
-- ARGV[4]  the key's time-to-live before the increment, in milliseconds (-1: none)
--
-- Returns the key's type, for the log ('none': gone).
local key, field = KEYS[1], ARGV[1]
local kind = redis.call('TYPE', key).ok
if kind == 'none' then
  return kind
end
if kind == 'hash' then
  if redis.call('HEXISTS', key, '__created') == 1 then
    return kind
  end
  if ARGV[3] == '1' then
    redis.call('HDEL', key, field)
  elseif ARGV[2] ~= '' then
    redis.pcall('HINCRBY', key, field, ARGV[2])
  end
end
local ttl = tonumber(ARGV[4])
if ttl == -1 then
  redis.call('PERSIST', key)
elseif ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end
return kind
