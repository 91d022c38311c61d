-- One listed session, checked and described in one step (in place of an EXISTS): its
-- time-to-live in ms (-1: none) and, for a hash, its `__created` and `__device` fields.
-- KEYS[1]: the session key. Returns nil when there is no such key.
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  return nil
end
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return {ttl, false, false}
end
local fields = redis.call('HMGET', KEYS[1], '__created', '__device')
return {ttl, fields[1], fields[2]}
