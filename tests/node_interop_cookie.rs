//! koa-session's cookie mode shared live: the `counter` example with
//! `SESSION_COMPAT=koa-cookie` (the cookie store, `Compat::KoaSessionCookie`) and the Koa
//! app of `tests/node/koa-session-cookie.js` (koa-session 7 without a store), neither with
//! a Redis, driven by one browser whose cookies both see, as behind one domain. The whole
//! session is the cookie: a session started on either side is read and written by the
//! other, a logout on either side ends it for this browser on both, key rotation carries
//! over, both agree on `_expire`, both refuse a tampered cookie, and a Rust write keeps
//! what Koa wrote that Rust did not change, a string no Rust string can hold included.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_typed_session_tests::browser::Browser;
use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::node::{keygrip_sha1, NodeApp, NodePackage};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// Short, as a Node app's secrets often are: the Rust side accepts them by name.
const KEYS: &str = "first test key,second test key";
const NAME: &str = "koa.sess";
const SIG: &str = "koa.sess.sig";

fn node_app(keys: &str, env: &[(&str, &str)]) -> NodeApp {
    let mut all = vec![("SESSION_KEYS", keys)];
    all.extend_from_slice(env);
    NodeApp::start_without_redis(NodePackage::KoaSessionCookie, &all)
}

fn rust_app(keys: &str) -> Counter {
    Counter::start(&[
        ("SESSION_COMPAT", "koa-cookie".to_owned()),
        ("SESSION_KEYS", keys.to_owned()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
    ])
}

/// Asks `url` who is logged in: the name, or `None` for a 401.
async fn whoami(browser: &mut Browser, url: String) -> Option<String> {
    let reply = browser.get(&url).await;
    match reply.status {
        200 => Some(reply.body),
        401 => None,
        other => panic!("GET {url}: {other} {}", reply.body),
    }
}

/// The session the browser's `koa.sess` holds, as JSON.
fn session_in(browser: &Browser) -> Value {
    serde_json::from_str(&session_text(browser)).expect("JSON")
}

/// The JSON text of the browser's `koa.sess`.
fn session_text(browser: &Browser) -> String {
    let value = browser.cookie(NAME).expect("a koa.sess cookie");
    let json = STANDARD.decode(value).expect("standard base64, padded");
    String::from_utf8(json).expect("UTF-8")
}

/// A second browser holding the same two cookies: a copy of the session.
fn copy_of(browser: &Browser) -> Browser {
    let mut copy = Browser::new();
    for name in [NAME, SIG] {
        if let Some(value) = browser.cookie(name) {
            copy.set_cookie(name, value);
        }
    }
    copy
}

#[tokio::test]
async fn a_session_started_on_node_is_read_and_written_by_rust_and_back() {
    let (node, rust) = (node_app(KEYS, &[]), rust_app(KEYS));
    let mut browser = Browser::new();
    assert_eq!(browser.get(&node.url("/")).await.body, "1 views");
    assert_eq!(browser.get(&rust.url("/peek")).await.body, "1 views");
    let write = browser.get(&rust.url("/")).await;
    assert_eq!(write.body, "2 views");
    // What Rust wrote is koa-session's format: its envelope, the lifetime Node stored,
    // which the cookies carry too.
    assert_eq!(write.cookie_names(), [NAME, SIG]);
    for header in &write.set_cookies {
        assert!(header.contains("Max-Age=86400"), "{header}");
    }
    let written = session_in(&browser);
    assert_eq!(written["views"], 2);
    assert_eq!(written["_maxAge"], 86_400_000);
    assert!(written["_expire"].as_u64().is_some(), "{written}");
    assert_eq!(browser.get(&node.url("/peek")).await.body, "2 views");

    assert_eq!(
        browser.post(&node.url("/login?user=ada")).await.body,
        "welcome ada"
    );
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada")
    );
    assert_eq!(browser.get(&rust.url("/")).await.body, "3 views");
    assert_eq!(browser.get(&node.url("/")).await.body, "4 views");
    assert_eq!(
        whoami(&mut browser, node.url("/whoami")).await.as_deref(),
        Some("ada")
    );
}

#[tokio::test]
async fn a_session_started_on_rust_is_read_and_written_by_node() {
    let (node, rust) = (node_app(KEYS, &[]), rust_app(KEYS));
    let mut browser = Browser::new();
    assert_eq!(browser.get(&rust.url("/")).await.body, "1 views");
    assert_eq!(browser.get(&node.url("/peek")).await.body, "1 views");
    let login = browser.post(&rust.url("/login?user=grace")).await;
    assert_eq!(login.body, "welcome grace");
    assert_eq!(login.cookie_names(), [NAME, SIG]);
    assert_eq!(
        whoami(&mut browser, node.url("/whoami")).await.as_deref(),
        Some("grace")
    );
    assert_eq!(browser.get(&node.url("/")).await.body, "2 views");
    assert_eq!(browser.get(&rust.url("/peek")).await.body, "2 views");
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("grace")
    );
}

#[tokio::test]
async fn a_logout_on_either_side_ends_the_session_for_both() {
    let (node, rust) = (node_app(KEYS, &[]), rust_app(KEYS));

    let mut browser = Browser::new();
    browser.post(&node.url("/login?user=ada")).await;
    let copy = copy_of(&browser);
    let logout = browser.post(&rust.url("/logout")).await;
    assert_eq!(logout.body, "bye");
    assert_eq!(logout.cookie_names(), [NAME, SIG], "both cookies cleared");
    assert_eq!(browser.cookie(NAME), None);
    assert_eq!(whoami(&mut browser, node.url("/whoami")).await, None);
    assert_eq!(whoami(&mut browser, rust.url("/whoami")).await, None);

    let mut browser = Browser::new();
    browser.post(&rust.url("/login?user=grace")).await;
    assert_eq!(browser.post(&node.url("/logout")).await.body, "bye");
    assert_eq!(whoami(&mut browser, rust.url("/whoami")).await, None);
    assert_eq!(whoami(&mut browser, node.url("/whoami")).await, None);

    // The trap of the mode, the same on both sides: nothing on a server knew the
    // session, so a copy taken before the logout still holds it until its `_expire`.
    let mut copy = copy;
    assert_eq!(
        whoami(&mut copy, rust.url("/whoami")).await.as_deref(),
        Some("ada")
    );
    assert_eq!(
        whoami(&mut copy, node.url("/whoami")).await.as_deref(),
        Some("ada")
    );
}

#[tokio::test]
async fn key_rotation_carries_over() {
    let mut browser = Browser::new();
    {
        let old_node = node_app("old key", &[]);
        browser.post(&old_node.url("/login?user=ada")).await;
    }
    let rust = rust_app("new key,old key");
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada"),
        "Rust verifies with the old key"
    );
    assert_eq!(browser.get(&rust.url("/")).await.body, "1 views");
    let new_only = node_app("new key", &[]);
    assert_eq!(
        whoami(&mut browser, new_only.url("/whoami"))
            .await
            .as_deref(),
        Some("ada"),
        "Rust signed with the new key, which Node alone now holds"
    );

    // And the other way: a cookie Rust signed with a key Node has retired is refused.
    let mut stale = Browser::new();
    {
        let old_rust = rust_app("old key");
        stale.get(&old_rust.url("/")).await;
    }
    assert_eq!(stale.get(&new_only.url("/peek")).await.body, "0 views");
}

#[tokio::test]
async fn a_session_with_a_lone_surrogate_is_written_by_both_sides_and_keeps_it() {
    // `JSON.stringify` writes an unpaired surrogate as `\ud83d` (a Koa app that cut a
    // string in the middle of an emoji), which no Rust string holds: Rust writes took it
    // apart and failed with a 503 until the cookie was cleared.
    let (node, rust) = (node_app(KEYS, &[]), rust_app(KEYS));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    let expire = now.as_millis() + 3_600_000;
    let json = format!(r#"{{"views":1,"nick":"\ud83d","_expire":{expire},"_maxAge":3600000}}"#);
    let value = STANDARD.encode(json);
    let mut browser = Browser::new();
    browser.set_cookie(NAME, &value);
    browser.set_cookie(SIG, &keygrip_sha1("first test key", NAME, &value));

    assert_eq!(browser.get(&rust.url("/")).await.body, "2 views");
    let login = browser.post(&rust.url("/login?user=ada")).await;
    assert_eq!(login.body, "welcome ada");
    // Koa's order and text kept, what Rust added last.
    let written = session_text(&browser);
    assert!(
        written.starts_with(r#"{"views":2,"nick":"\ud83d","_expire":"#),
        "{written}"
    );
    assert!(
        written.ends_with(r#","_maxAge":3600000,"user":"ada"}"#),
        "{written}"
    );
    assert_eq!(browser.get(&node.url("/")).await.body, "3 views");
    assert!(session_text(&browser).contains(r#""nick":"\ud83d","#));
    assert_eq!(
        whoami(&mut browser, node.url("/whoami")).await.as_deref(),
        Some("ada")
    );
    assert_eq!(browser.get(&rust.url("/")).await.body, "4 views");
}

#[tokio::test]
async fn both_agree_that_a_session_expired() {
    let node = node_app(KEYS, &[("SESSION_MAX_AGE", "1500")]);
    let rust = rust_app(KEYS);
    let mut browser = Browser::new();
    browser.post(&node.url("/login?user=ada")).await;
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada")
    );
    // A Rust write keeps the 1.5 s lifetime Node stored (`_maxAge`), and moves `_expire`.
    assert_eq!(browser.get(&rust.url("/")).await.body, "1 views");
    assert_eq!(session_in(&browser)["_maxAge"], 1500);
    let mut copy = copy_of(&browser);
    tokio::time::sleep(Duration::from_millis(2500)).await;
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

#[tokio::test]
async fn a_tampered_cookie_is_a_fresh_session_on_both() {
    let (node, rust) = (node_app(KEYS, &[]), rust_app(KEYS));
    let mut browser = Browser::new();
    browser.post(&node.url("/login?user=ada")).await;
    // The client can read its session, and write it: the signature then fails.
    let mut forged = session_in(&browser);
    forged["user"] = Value::from("root");
    let forged = STANDARD.encode(forged.to_string());
    let signature = browser.cookie(SIG).expect("a signature").to_owned();

    let mut tampered = Browser::new();
    tampered.set_cookie(NAME, &forged);
    tampered.set_cookie(SIG, &signature);
    assert_eq!(whoami(&mut tampered, rust.url("/whoami")).await, None);
    let mut tampered = Browser::new();
    tampered.set_cookie(NAME, &forged);
    tampered.set_cookie(SIG, &signature);
    assert_eq!(whoami(&mut tampered, node.url("/whoami")).await, None);

    // Without its signature the value is nothing either.
    for app in [rust.url("/whoami"), node.url("/whoami")] {
        let mut unsigned = Browser::new();
        unsigned.set_cookie(NAME, browser.cookie(NAME).expect("cookie"));
        assert_eq!(whoami(&mut unsigned, app).await, None);
    }
    // A fresh session on either side, and the honest cookie still works on both.
    let mut tampered = Browser::new();
    tampered.set_cookie(NAME, &forged);
    tampered.set_cookie(SIG, &signature);
    assert_eq!(tampered.get(&rust.url("/")).await.body, "1 views");
    assert_eq!(tampered.get(&node.url("/")).await.body, "2 views");
    assert_eq!(
        whoami(&mut browser, rust.url("/whoami")).await.as_deref(),
        Some("ada")
    );
}

#[tokio::test]
async fn a_browser_session_cookie_stays_one_on_both_sides() {
    let node = node_app(KEYS, &[("SESSION_MAX_AGE", "session")]);
    let rust = rust_app(KEYS);
    let mut browser = Browser::new();
    assert_eq!(browser.get(&node.url("/")).await.body, "1 views");
    let write = browser.get(&rust.url("/")).await;
    assert_eq!(write.body, "2 views");
    for header in &write.set_cookies {
        let lower = header.to_ascii_lowercase();
        assert!(
            !lower.contains("max-age") && !lower.contains("expires"),
            "{header}"
        );
    }
    assert_eq!(
        session_in(&browser),
        serde_json::json!({"views": 2, "_session": true})
    );
    assert_eq!(browser.get(&node.url("/")).await.body, "3 views");
}
