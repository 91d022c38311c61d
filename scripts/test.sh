#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, then the gate every commit passes.
# Tests start their own redis-server processes on free ports; nothing uses port 6379.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# One build from scratch gains nothing from incremental caches, which would take about a
# third of the target directory's 4 GB.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features
# The fuzz targets of fuzz/, a bounded libFuzzer run of each (installs cargo-fuzz).
scripts/fuzz.sh
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features
