-- Takes one batch of ids out of a per-user index, to be ended: the caller deletes their
-- sessions and calls again until a batch comes back short. Taking them out first, in one
-- step, is what stops a renewal racing the ending: it finds its old id gone and gives up
-- (see `all_hold` in index.lua).
--
-- KEYS[1]  the index
-- ARGV[1]  the id to keep, or "" for none
-- ARGV[2]  the batch size
local batch = tonumber(ARGV[2])
local taken = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, batch)) do
  if id ~= ARGV[1] and #taken < batch then
    taken[#taken + 1] = id
  end
end
if #taken > 0 then
  redis.call('ZREM', KEYS[1], unpack(taken))
end
return taken
