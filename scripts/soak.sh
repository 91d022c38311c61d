#!/usr/bin/env bash
# A bounded soak run: the counter example (release build) on its own redis-server, under
# wrk for SOAK_SECONDS, with the app's resident memory (from /proc) and its connections to
# Redis (connected_clients, less the sampler's own) sampled every SAMPLE_SECONDS. Prints the samples, then the start and
# end figures. Everything runs on loopback and a unix socket, and stops by itself.
#
#   scripts/soak.sh                      # 3 minutes
#   SOAK_SECONDS=600 scripts/soak.sh     # longer
#
# Environment: SOAK_SECONDS (default 180), SAMPLE_SECONDS (10), CONNECTIONS (wrk's, 16),
# SESSIONS (distinct sessions the load cycles through, 200), WORKERS (the app's, 2).
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-180}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-16}
SESSIONS=${SESSIONS:-200}
WORKERS=${WORKERS:-2}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
scripts/install-deps.sh >/dev/null
if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk (Debian package)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --example counter
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
counter="$target_dir/release/examples/counter"

work=$(mktemp -d)
redis_pid=""
app_pid=""
cleanup() {
    [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

socket="$work/redis.sock"
redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --save "" \
    --appendonly no --dir "$work" --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -s "$socket" ping >/dev/null 2>&1 && break
    sleep 0.1
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
BIND="127.0.0.1:$port" REDIS_URL="redis+unix://$socket" WORKERS="$WORKERS" \
    SESSION_KEYS="soak key" RUST_LOG=warn "$counter" >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 300); do
    curl -fs "$base/health" >/dev/null 2>&1 && break
    sleep 0.1
done

# The sessions the load cycles through, as Cookie header values.
cookies="$work/cookies.lua"
echo "cookies = {" >"$cookies"
for _ in $(seq "$SESSIONS"); do
    header=$(curl -fs -D - -o /dev/null "$base/" |
        sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | tr -d '\r' | paste -sd ';' - | sed 's/;/; /')
    echo "  \"$header\"," >>"$cookies"
done
echo "}" >>"$cookies"
cat >"$work/load.lua" <<EOF
dofile("$cookies")
local n = 0
request = function()
  n = n + 1
  local path = "/"
  if n % 10 == 0 then path = "/peek" end
  return wrk.format("GET", path, { ["Cookie"] = cookies[(n % #cookies) + 1] })
end
EOF

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$app_pid/status"; }
# Less one: redis-cli's own connection.
clients() {
    local all
    all=$(redis-cli -s "$socket" info clients | tr -d '\r' | sed -n 's/^connected_clients://p')
    echo $((all - 1))
}

echo "soak: ${SOAK_SECONDS}s, $CONNECTIONS connections, $SESSIONS sessions, $WORKERS workers"
start_rss=$(rss_kib)
start_clients=$(clients)
wrk -t 1 -c "$CONNECTIONS" -d "${SOAK_SECONDS}s" -s "$work/load.lua" "$base/" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
printf '%8s %10s %8s\n' seconds rss_kib clients
printf '%8s %10s %8s\n' 0 "$start_rss" "$start_clients"
elapsed=0
max_rss=$start_rss
warm_rss=""
while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep "$SAMPLE_SECONDS"
    elapsed=$((elapsed + SAMPLE_SECONDS))
    kill -0 "$app_pid" 2>/dev/null || { echo "the app died"; cat "$work/app.log"; exit 1; }
    rss=$(rss_kib)
    [ -z "$warm_rss" ] && warm_rss=$rss
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    printf '%8s %10s %8s\n' "$elapsed" "$rss" "$(clients)"
done
wait "$wrk_pid"
end_rss=$(rss_kib)
end_clients=$(clients)
cat "$work/wrk.txt"
errors=$(grep -c -i "panic\|error" "$work/app.log" || true)
echo "app RSS: start ${start_rss} KiB, after the first sample ${warm_rss:-?} KiB, end ${end_rss} KiB, max ${max_rss} KiB"
echo "the app's connections to Redis: start ${start_clients}, end ${end_clients}"
echo "error or panic lines in the app's log: $errors"
