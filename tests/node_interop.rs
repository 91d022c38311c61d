//! Sessions shared with real Node apps: the `counter` example with `SESSION_COMPAT` and a
//! Koa or Express app from `tests/node/`, on one Redis, driven by one browser whose cookies
//! both see, as behind one domain. Every direction: a login on either side is seen by the
//! other, writes cross over, a logout on either side ends the session for both, key
//! rotation carries over, and both agree when a session has expired.

use std::time::Duration;

use actix_typed_session_tests::browser::Browser;
use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::node::{NodeApp, NodePackage};
use actix_typed_session_tests::RedisServer;

/// The Rust app and the Node app for one package, on one Redis.
struct Pair {
    // Fields drop in order: the apps go before the Redis they talk to.
    rust: Counter,
    node: NodeApp,
    _redis: RedisServer,
}

/// `SESSION_COMPAT` for the package.
fn compat(package: NodePackage) -> &'static str {
    match package {
        NodePackage::KoaSession => "koa",
        NodePackage::ExpressSession => "express",
        other => panic!("the counter example has no preset for {other:?}"),
    }
}

impl Pair {
    /// Both apps signing with `keys` (comma-separated, the first signs).
    fn start(package: NodePackage, keys: &str) -> Self {
        let redis = RedisServer::start();
        let node = NodeApp::start_with(package, &redis, &[("SESSION_KEYS", keys)]);
        let rust = Counter::start(&[
            ("REDIS_URL", redis.url()),
            ("SESSION_COMPAT", compat(package).to_owned()),
            ("SESSION_KEYS", keys.to_owned()),
            ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
        ]);
        Pair {
            rust,
            node,
            _redis: redis,
        }
    }
}

/// Short, as a Node app's secrets often are: the Rust side accepts them by name
/// (`SESSION_ALLOW_SHORT_KEYS=1`).
const KEYS: &str = "first test key,second test key";

/// Asks `url` who is logged in: the name, or `None` for a 401.
async fn whoami(browser: &mut Browser, url: String) -> Option<String> {
    let reply = browser.get(&url).await;
    match reply.status {
        200 => Some(reply.body),
        401 => None,
        other => panic!("GET {url}: {other} {}", reply.body),
    }
}

async fn a_login_on_node_is_seen_by_rust_and_writes_cross_over(package: NodePackage) {
    let pair = Pair::start(package, KEYS);
    let mut browser = Browser::new();
    let login = browser.post(&pair.node.url("/login?user=ada")).await;
    assert_eq!(login.body, "welcome ada", "{login:?}");

    assert_eq!(
        whoami(&mut browser, pair.rust.url("/whoami"))
            .await
            .as_deref(),
        Some("ada")
    );
    assert_eq!(
        browser.get(&pair.rust.url("/")).await.body,
        "1 views",
        "a write on Rust"
    );
    assert_eq!(
        browser.get(&pair.node.url("/peek")).await.body,
        "1 views",
        "seen on Node"
    );
    assert_eq!(
        browser.get(&pair.node.url("/")).await.body,
        "2 views",
        "a write on Node"
    );
    assert_eq!(
        browser.get(&pair.rust.url("/peek")).await.body,
        "2 views",
        "seen on Rust"
    );
    assert_eq!(
        whoami(&mut browser, pair.node.url("/whoami"))
            .await
            .as_deref(),
        Some("ada")
    );
}

async fn a_session_created_on_rust_is_read_by_node(package: NodePackage) {
    let pair = Pair::start(package, KEYS);
    let mut browser = Browser::new();
    assert_eq!(browser.get(&pair.rust.url("/")).await.body, "1 views");
    assert_eq!(browser.get(&pair.node.url("/peek")).await.body, "1 views");
    let login = browser.post(&pair.rust.url("/login?user=grace")).await;
    assert_eq!(login.body, "welcome grace");
    assert_eq!(
        whoami(&mut browser, pair.node.url("/whoami"))
            .await
            .as_deref(),
        Some("grace")
    );
    assert_eq!(
        browser.get(&pair.node.url("/")).await.body,
        "2 views",
        "the renewal kept the data"
    );
    assert_eq!(browser.get(&pair.rust.url("/peek")).await.body, "2 views");
}

async fn a_logout_on_either_side_ends_the_session_for_both(package: NodePackage) {
    let pair = Pair::start(package, KEYS);

    let mut browser = Browser::new();
    browser.post(&pair.node.url("/login?user=ada")).await;
    assert_eq!(browser.post(&pair.rust.url("/logout")).await.body, "bye");
    assert_eq!(
        whoami(&mut browser, pair.node.url("/whoami")).await,
        None,
        "logged out on Rust"
    );

    let mut browser = Browser::new();
    browser.post(&pair.rust.url("/login?user=ada")).await;
    // Keep the cookie: express-session's destroy() leaves it in the browser, and a
    // stolen copy must be worthless too.
    let copy = (
        package.cookie_name(),
        browser.cookie(package.cookie_name()).map(str::to_owned),
    );
    assert_eq!(browser.post(&pair.node.url("/logout")).await.body, "bye");
    if let (name, Some(value)) = copy {
        browser.set_cookie(name, &value);
    }
    assert_eq!(
        whoami(&mut browser, pair.rust.url("/whoami")).await,
        None,
        "logged out on Node"
    );
    assert_eq!(whoami(&mut browser, pair.node.url("/whoami")).await, None);
}

async fn key_rotation_carries_over(package: NodePackage) {
    let redis = RedisServer::start();
    let mut browser = Browser::new();
    {
        let old_node = NodeApp::start_with(package, &redis, &[("SESSION_KEYS", "old key")]);
        browser.post(&old_node.url("/login?user=ada")).await;
    }
    let rust = Counter::start(&[
        ("REDIS_URL", redis.url()),
        ("SESSION_COMPAT", compat(package).to_owned()),
        ("SESSION_KEYS", "new key,old key".to_owned()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
    ]);
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada"),
        "Rust verifies with the old key"
    );
    // A write re-signs with the new key wherever the package re-signs only on a write.
    assert_eq!(browser.get(&rust.url("/")).await.body, "1 views");
    let new_only = NodeApp::start_with(package, &redis, &[("SESSION_KEYS", "new key")]);
    assert_eq!(
        whoami(&mut browser, new_only.url("/whoami"))
            .await
            .as_deref(),
        Some("ada"),
        "Rust re-signed with the new key, which Node alone now holds"
    );
}

async fn both_agree_that_a_session_expired(package: NodePackage) {
    let redis = RedisServer::start();
    let node = NodeApp::start_with(
        package,
        &redis,
        &[("SESSION_KEYS", KEYS), ("SESSION_MAX_AGE", "1500")],
    );
    let rust = Counter::start(&[
        ("REDIS_URL", redis.url()),
        ("SESSION_COMPAT", compat(package).to_owned()),
        ("SESSION_KEYS", KEYS.to_owned()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
    ]);
    let mut browser = Browser::new();
    browser.post(&node.url("/login?user=ada")).await;
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada")
    );
    // Past the 1.5 s lifetime: koa-session's `_expire` has passed (its Redis key lives 10 s
    // longer), express's key is gone.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut copy = Browser::new();
    if let Some(value) = browser.cookie(package.cookie_name()) {
        copy.set_cookie(package.cookie_name(), value);
    }
    let sig = format!("{}.sig", package.cookie_name());
    if let Some(value) = browser.cookie(&sig) {
        copy.set_cookie(&sig, value);
    }
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await,
        None,
        "expired for Rust"
    );
    assert_eq!(
        whoami(&mut copy, node.url("/whoami")).await,
        None,
        "expired for Node"
    );
}

macro_rules! for_each_package {
    ($($name:ident),* $(,)?) => {
        mod koa_session {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(NodePackage::KoaSession).await;
                }
            )*
        }
        mod express_session {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(NodePackage::ExpressSession).await;
                }
            )*
        }
    };
}

for_each_package!(
    a_login_on_node_is_seen_by_rust_and_writes_cross_over,
    a_session_created_on_rust_is_read_by_node,
    a_logout_on_either_side_ends_the_session_for_both,
    key_rotation_carries_over,
    both_agree_that_a_session_expired,
);
