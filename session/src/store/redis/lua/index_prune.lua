-- Drops the given ids from a per-user index, each only if it joined (or was held) longer
-- ago than the grace period: the caller found their sessions gone, but a younger entry may
-- belong to a write still on its way.
--
-- KEYS[1]  the index
-- ARGV[1]  the grace period in milliseconds
-- ARGV[2 ..]  the ids whose sessions were found gone
local before = now_millis() - tonumber(ARGV[1])
local dropped = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) < before then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return dropped
