#!/usr/bin/env bash
# Checks the declared rust-version of the published crates without installing that
# toolchain (rustup downloads are not available everywhere this runs):
#
# 1. The highest `rust-version` in the dependency graph cargo resolved (Cargo.lock, all
#    features, normal and build dependencies of the two published crates; then the whole
#    workspace with dev-dependencies). Cargo refuses to build a package whose rust-version
#    is newer than the running rustc, so this is a hard lower bound for the lockfile.
# 2. clippy's `incompatible_msrv`: std APIs stabilised after the declared rust-version.
#    Set MSRV_PROBE=1.70 (any version) to list instead every std API newer than that,
#    i.e. what the code itself needs.
#
# Not covered: language features (no lint checks those against rust-version); the note
# in CONTRIBUTING.md says how they were checked. Needs python3 and no network (--offline).
set -euo pipefail
cd "$(dirname "$0")/.."

metadata=$(mktemp)
trap 'rm -f "$metadata"' EXIT
cargo metadata --format-version 1 --all-features --locked --offline >"$metadata"

graph() { # cargo tree of the given args -> "name version" lines
    cargo tree --locked --offline --all-features --prefix none --format '{p}' "$@" |
        sed 's/ (.*//; s/ v/ /; s/ (\*)$//' | sort -u
}

report() { # title, then "name version" lines on stdin
    python3 -c '
import json, sys
meta = json.load(open(sys.argv[1]))
title = sys.argv[2]
want = {tuple(l.split()[:2]) for l in sys.stdin if l.strip()}
key = lambda v: tuple(int(x) for x in v.split("."))
declared = next(p["rust_version"] for p in meta["packages"] if p["name"] == "actix-typed-session")
members = set(meta["workspace_members"])
rows, unset = [], []
for p in meta["packages"]:
    if (p["name"], p["version"]) in want and p["id"] not in members:
        if p.get("rust_version"):
            rows.append((key(p["rust_version"]), p["rust_version"], p["name"], p["version"]))
        else:
            unset.append("%s %s (edition %s)" % (p["name"], p["version"], p["edition"]))
rows.sort()
top = rows[-1]
print("%s: %d dependencies, highest rust-version %s (declared: %s), from:" % (title, len(rows) + len(unset), top[1], declared))
for r in rows:
    if r[0] == top[0]:
        print("   %s %s" % (r[2], r[3]))
if unset:
    print("   no rust-version declared: %d packages, newest edition %s" % (len(unset), max(u.split("edition ")[1][:-1] for u in unset)))
if top[0] > key(declared):
    print("   FAIL: the resolved graph needs a newer Rust than the declared rust-version")
    sys.exit(1)
' "$metadata" "$1"
}

status=0
graph -e normal,build -p actix-typed-session -p actix-typed-session-derive |
    report "published crates (normal + build deps)" || status=1
graph -e normal,build,dev --workspace | report "whole workspace (with dev-deps)" || status=1

if [[ -n "${MSRV_PROBE:-}" ]]; then
    conf=$(mktemp -d)
    echo "msrv = \"$MSRV_PROBE\"" >"$conf/clippy.toml"
    echo "std APIs newer than $MSRV_PROBE used by the published crates:"
    CLIPPY_CONF_DIR=$conf cargo clippy --offline -q -p actix-typed-session -p actix-typed-session-derive \
        --all-targets --all-features -- -A clippy::all -W clippy::incompatible_msrv 2>&1 |
        grep -A3 '^warning: current MSRV' | grep -oE 'stable since `[0-9.]+`|--> [^ ]+' |
        paste - - | sort -t'`' -k2,2Vr | head -20
    rm -rf "$conf"
else
    echo "clippy incompatible_msrv against the declared rust-version:"
    cargo clippy --offline -q -p actix-typed-session -p actix-typed-session-derive \
        --all-targets --all-features -- -D clippy::incompatible_msrv || status=1
fi
exit $status
