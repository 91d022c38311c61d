#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, then the gate every commit passes.
# Tests start their own redis-server processes on free ports; nothing uses port 6379.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features
# The fuzz targets of fuzz/, a bounded libFuzzer run of each (installs cargo-fuzz).
scripts/fuzz.sh
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features
