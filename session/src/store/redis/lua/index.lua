-- Shared by the scripts that put a session into a per-user index (a set of session ids).
--
-- Adds `id` to the index set `index`. With `ttl` (milliseconds, or "" for none) the set
-- lives at least that long from now; its time-to-live is only ever lengthened, and a set
-- without one keeps none, so no index ever expires before a session it lists.
local function join_index(index, id, ttl)
  local left = redis.call('PTTL', index)
  redis.call('SADD', index, id)
  if ttl ~= '' and (left == -2 or (left >= 0 and left < tonumber(ttl))) then
    redis.call('PEXPIRE', index, ttl)
  elseif ttl == '' and left >= 0 then
    redis.call('PERSIST', index)
  end
end
