-- Writes one JSON session whole, if it is still as the writer last saw it.
--
-- The document is merged in the client, never here: Lua's cjson would reorder keys and
-- reformat numbers that a Node app compares byte for byte.
--
-- KEYS[1]  the session key
-- ARGV[1]  "create" or "update"
-- ARGV[2]  the new document
-- ARGV[3]  the time-to-live, in seconds
-- ARGV[4]  "SETEX" (SETEX key seconds doc) or "SET" (SET key doc EX seconds)
-- ARGV[5]  update: SHA-1 (hex) of the document the change was merged into, or "" when
--          the writer has none
--
-- Returns 0 when written, 1 when an update found no session, 2 when a create found the
-- key taken, and { 3, current } when an update found another document: merge into
-- `current` and try again. Nothing is written in the last three cases. A key that holds
-- something other than a string is another program's data: no session, for an update.
local key = KEYS[1]
if ARGV[1] == 'create' then
  if redis.call('EXISTS', key) == 1 then
    return 2
  end
else
  local current = redis.pcall('GET', key)
  if not current or current.err then
    return 1
  end
  if redis.sha1hex(current) ~= ARGV[5] then
    return { 3, current }
  end
end
if ARGV[4] == 'SETEX' then
  redis.call('SETEX', key, ARGV[3], ARGV[2])
else
  redis.call('SET', key, ARGV[2], 'EX', ARGV[3])
end
return 0
