-- Loads one JSON session and, when asked, refreshes its time-to-live, in one round trip.
--
-- KEYS[1]  the session key (a string holding the JSON document)
-- ARGV[1]  the time-to-live to set, in seconds (EXPIRE, as connect-redis' touch), or ""
--          to leave it as it is
-- ARGV[2]  with ARGV[1]: refresh only when less than this many milliseconds are left,
--          or "" to refresh whatever is left
-- ARGV[3]  the longest time-to-live a store gives, in seconds (`MAX_TTL` of
--          store/time.rs, passed in so that it is written down once)
--
-- A document carrying express-session's `cookie.originalMaxAge` is refreshed to that
-- lifetime instead, as express-session's touch and connect-redis do: a session the Node
-- side gave a short life keeps it when Rust reads it. That number is stored data, of any
-- size: past ARGV[3] it is clamped, as the Rust side clamps it (`positive_millis` in
-- envelope.rs), since EXPIRE refuses a huge one (1e300, or past i64 milliseconds) and
-- every load of the session would fail. An infinite one (cjson reads `Infinity`, which
-- JSON.stringify never writes) is no lifetime, as in Rust.
--
-- Returns nil when there is no session, the key's type (a string) when it holds
-- something other than a string (another program's data, never a session of ours), else
-- { document, pttl, refreshed }.
local key = KEYS[1]
local document = redis.pcall('GET', key)
if type(document) == 'table' and document.err then
  return redis.call('TYPE', key).ok
end
if not document then
  return false
end
local refreshed = 0
if ARGV[1] ~= '' then
  local left = redis.call('PTTL', key)
  if ARGV[2] == '' or (left >= 0 and left < tonumber(ARGV[2])) then
    local ttl = ARGV[1]
    local ok, parsed = pcall(cjson.decode, document)
    if ok and type(parsed) == 'table' and type(parsed.cookie) == 'table' then
      local max_age = parsed.cookie.originalMaxAge
      if type(max_age) == 'number' and max_age > 0 and max_age < math.huge then
        ttl = math.min(math.ceil(max_age / 1000), tonumber(ARGV[3]))
      end
    end
    redis.call('EXPIRE', key, ttl)
    refreshed = 1
  end
end
return { document, redis.call('PTTL', key), refreshed }
