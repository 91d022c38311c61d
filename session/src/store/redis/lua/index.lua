-- Shared by the scripts that put a session into a per-user index: a sorted set of session
-- ids, each scored with the time (milliseconds, this server's clock) it joined, or was
-- last held for a renewal. The oldest go first when an index is over its cap, and an
-- entry whose session is gone is dropped as stale only once it is old enough that no
-- write can still be on its way (see `index_prune.lua`).

local function now_millis()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Whether `old` is still in every index of `indexes`: a renewal takes its place only
-- then, so a session ended meanwhile ("sign out everywhere") cannot escape by renewing.
local function all_hold(indexes, old)
  for _, index in ipairs(indexes) do
    if not redis.call('ZSCORE', index, old) then
      return false
    end
  end
  return true
end

-- Adds `id` to `index`, in the place of `old` unless that is "" (check `all_hold` first).
-- With `ttl` (milliseconds, or "" for none) the index lives at least that long from now;
-- its time-to-live is only ever lengthened, and an index without one keeps none, so no
-- index ever expires before a session it lists. Returns how many ids the index holds.
local function join_index(index, id, old, ttl)
  local left = redis.call('PTTL', index)
  if old ~= '' then
    redis.call('ZREM', index, old)
  end
  redis.call('ZADD', index, now_millis(), id)
  if ttl ~= '' and (left == -2 or (left >= 0 and left < tonumber(ttl))) then
    redis.call('PEXPIRE', index, ttl)
  elseif ttl == '' and left >= 0 then
    redis.call('PERSIST', index)
  end
  return redis.call('ZCARD', index)
end
