#!/usr/bin/env bash
# The fuzz targets of fuzz/ under libFuzzer, each for FUZZ_SECONDS (default 12): the seed
# corpus first, then new inputs, kept in a temporary directory. Prints how many inputs
# each target ran. A crash fails the script and leaves the input in the current directory
# of the run (fuzz/), named crash-<hash>.
#
# Built with plain cargo and the coverage flags cargo-fuzz passes, without a sanitizer (the
# code under test has no unsafe of its own; the targets assert what must hold): no
# cargo-fuzz to install, which saves CI a minute and a half, and no nightly flag. By hand,
# `cargo fuzz run <target>` works as well (RUSTC_BOOTSTRAP=1 on a stable toolchain).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

FUZZ_SECONDS=${FUZZ_SECONDS:-12}
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"

cargo fmt -- --check
# An explicit --target keeps the flags off build scripts and proc macros, as cargo-fuzz does.
cargo build --release --bins --target "$host"
bin_dir="${CARGO_TARGET_DIR:-target}/$host/release"
for source in fuzz_targets/*.rs; do
    target=$(basename "$source" .rs)
    found=$(mktemp -d)
    log=$(mktemp)
    if ! "$bin_dir/$target" "$found" "corpus/$target" \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
        cat "$log"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $target: $runs inputs in ${FUZZ_SECONDS}s, no crash"
    rm -rf "$found" "$log"
done
