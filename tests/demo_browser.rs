//! The demo example in a real browser: headless Chromium (Debian's `chromium`), driven by
//! playwright-core from `tests/node/demo-browser.js`, against the demo running as its own
//! process, once on a Redis this test starts and once on the in-memory store. The script
//! logs in from two browser contexts, counts, fills a cart, signs one context out from the
//! other and checks the cookies the browser holds (`Secure` among them, over plain
//! `http://127.0.0.1`, which browsers treat as secure); these tests check that it passed, that
//! the sessions were where they should be, and that the screenshots were written to
//! `<target dir>/browser-artifacts/{redis,memory}/`.

use std::path::{Path, PathBuf};

use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::node::node_command;
use actix_typed_session_tests::RedisServer;

/// The screenshots the script takes, in order.
const SCREENSHOTS: [&str; 7] = [
    "01-guest-login-form",
    "02-home-signed-in",
    "03-cart",
    "04-sessions-second-device",
    "05-signed-out-everywhere-else",
    "06-second-device-signed-out",
    "07-name-escaped",
];

/// The first bytes of every PNG file.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `<target dir>/browser-artifacts/<run>`, emptied: the test binary is
/// `<target dir>/<profile>/deps/<test>`.
fn artifacts_dir(run: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("<target dir>/<profile>/deps/<test>");
    let dir = target.join("browser-artifacts").join(run);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the artifacts folder");
    dir
}

/// Debian's chromium, or the browser `CHROMIUM` names.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-deps.sh (it installs Debian's chromium)",
        path.display()
    );
    path
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(PNG_SIGNATURE),
        "{} is not a PNG",
        path.display()
    );
    // A blank page of this size compresses to well under this; the pages have text.
    assert!(bytes.len() > 5_000, "{} looks empty", path.display());
}

/// Runs the browser flow against `demo`, checks the screenshots and returns the folder
/// that holds them.
fn browse(demo: &Counter, run: &str) -> PathBuf {
    let artifacts = artifacts_dir(run);
    let output = node_command("demo-browser.js")
        .env("BASE_URL", demo.url(""))
        .env("CHROMIUM", chromium())
        .env("ARTIFACTS", &artifacts)
        // The demo keeps the builder's defaults, and SameSite defaults to Lax.
        .env("SAME_SITE", "Lax")
        .output()
        .expect("run node");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the browser flow failed:\n{printed}"
    );
    assert!(printed.contains("browser flow passed"), "{printed}");
    for name in SCREENSHOTS {
        assert_png(&artifacts.join(format!("{name}.png")));
    }
    println!("screenshots in {}", artifacts.display());
    artifacts
}

#[test]
fn on_redis_two_devices_log_in_count_fill_a_cart_and_one_signs_the_other_out() {
    let redis = RedisServer::start();
    let demo = Counter::start_example("demo", &[("REDIS_URL", redis.url())]);
    browse(&demo, "redis");

    assert!(
        demo.output().contains("session store: Redis at"),
        "the demo ran on the in-memory store:\n{}",
        demo.output()
    );
    let mut conn = redis.client().get_connection().expect("connect to Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("session:*")
        .query(&mut conn)
        .expect("KEYS");
    assert!(
        keys.iter().any(|key| key.starts_with("session:index:")),
        "a per-user index in Redis: {keys:?}"
    );
}

#[test]
fn on_the_memory_store_by_default() {
    let demo = Counter::start_example("demo", &[]);
    browse(&demo, "memory");
    assert!(
        demo.output().contains("session store: in memory"),
        "{}",
        demo.output()
    );
}
