-- Loads one session hash and, when asked, refreshes its time-to-live, in one round trip.
--
-- KEYS[1]  the session hash
-- ARGV[1]  the time-to-live to set, in milliseconds, or "" to leave it as it is
--
-- Returns nil when there is no session, else { {name, value, ...}, pttl }.
local key = KEYS[1]
local fields = redis.call('HGETALL', key)
if #fields == 0 then
  return false
end
if ARGV[1] ~= '' then
  redis.call('PEXPIRE', key, ARGV[1])
end
return { fields, redis.call('PTTL', key) }
