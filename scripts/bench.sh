#!/usr/bin/env bash
# The load benchmark: our counter example against actix-session 0.11 and bare actix-web,
# side by side on one redis-server. Writes bench/REPORT.md and bench/chart.svg.
# Installs wrk and redis-server (Debian packages) when missing. Takes about 5 minutes;
# BENCH_ROUNDS, BENCH_SECONDS and BENCH_CONNECTIONS change the load (see bench/src/main.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# One target folder for both workspaces, so the bench crate reuses the main build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --example counter
cargo build --release --manifest-path bench/Cargo.toml --bins

COUNTER_BIN="$CARGO_TARGET_DIR/release/examples/counter" BENCH_OUT="$PWD/bench" \
    "$CARGO_TARGET_DIR/release/bench"
