//! Taking over an Express app's users, live: the real express-session + connect-redis app
//! logs users in on one Redis and stops; the `counter` example starts on another Redis in
//! the hash layout, reading express-session's signed `connect.sid` cookie, with a
//! `MigratingStore` whose old store is the first Redis in connect-redis' JSON layout.
//! Every user is still logged in with their count, and reading moves nothing; a first
//! write moves a session (its document leaves the old Redis, a hash without express's
//! `cookie` object appears on the new one); a logout of a session that never moved ends it
//! on both; and once every user wrote or left, the old Redis holds no session.
//! `tests/migrating_from_koa.rs` does the same from Koa onto a cluster.

use actix_typed_session::store::RedisStore;
use actix_typed_session_tests::browser::Browser;
use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::node::{NodeApp, NodePackage};
use actix_typed_session_tests::RedisServer;

/// express-session's `secret`, short as it often is: the Rust side accepts it by name.
const SECRET: &str = "an express secret";
/// connect-redis' key prefix, which the Rust app keeps in the new Redis.
const PREFIX: &str = "sess:";

/// The Rust app on `new`, moving sessions from connect-redis' documents on `old`.
fn rust_app(new: &RedisServer, old: &RedisServer) -> Counter {
    Counter::start(&[
        ("REDIS_URL", new.url()),
        ("SESSION_COMPAT", "express".to_owned()),
        ("SESSION_LAYOUT", "hash".to_owned()),
        ("MIGRATE_FROM_URL", old.url()),
        ("MIGRATE_FROM_COMPAT", "express".to_owned()),
        ("SESSION_KEYS", SECRET.to_owned()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
    ])
}

/// The session id in the browser's `connect.sid` cookie: `s:<id>.<signature>`, with the
/// `:` percent-encoded.
fn id_of(browser: &Browser) -> String {
    let cookie = browser.cookie("connect.sid").expect("a connect.sid cookie");
    let signed = cookie
        .strip_prefix("s%3A")
        .expect("a signed express cookie");
    let (id, _signature) = signed.rsplit_once('.').expect("id.signature");
    id.to_owned()
}

/// Whether `server` holds a key for session `id`; `hash`: a live hash of ours (one with
/// `__created`), else any key (connect-redis' JSON string).
fn holds(server: &RedisServer, id: &str, hash: bool) -> bool {
    let key = format!("{PREFIX}{id}");
    let mut conn = server.client().get_connection().expect("connect");
    let found: i64 = if hash {
        redis::cmd("HEXISTS")
            .arg(&key)
            .arg("__created")
            .query(&mut conn)
    } else {
        redis::cmd("EXISTS").arg(&key).query(&mut conn)
    }
    .expect("EXISTS");
    found == 1
}

#[tokio::test]
async fn express_users_stay_logged_in_in_the_hash_layout_and_the_old_redis_empties() {
    let old = RedisServer::start();
    let users = ["ada", "bob", "cy"];
    let mut browsers: Vec<Browser> = users.iter().map(|_| Browser::new()).collect();
    {
        let express = NodeApp::start_with(
            NodePackage::ExpressSession,
            &old,
            &[("SESSION_KEYS", SECRET)],
        );
        for (n, (user, browser)) in users.iter().zip(&mut browsers).enumerate() {
            let login = browser
                .post(&express.url(&format!("/login?user={user}")))
                .await;
            assert_eq!(login.body, format!("welcome {user}"), "{login:?}");
            for _ in 0..=n {
                browser.get(&express.url("/")).await;
            }
        }
    } // The Express app stops.
    let ids: Vec<String> = browsers.iter().map(id_of).collect();
    let old_store = RedisStore::connect(&old.url()).await.expect("connect");
    assert_eq!(old_store.count_sessions(PREFIX).await.unwrap(), 3);

    let new = RedisServer::start();
    let rust = rust_app(&new, &old);
    let new_store = RedisStore::connect(&new.url()).await.expect("connect");

    // Everyone is still logged in, with their count; reading moves nothing.
    for (n, (user, browser)) in users.iter().zip(&mut browsers).enumerate() {
        assert_eq!(rust.whoami(browser).await.as_deref(), Some(*user));
        let peek = browser.get(&rust.url("/peek")).await;
        assert_eq!(peek.body, format!("{} views", n + 1), "{user}");
    }
    assert_eq!(old_store.count_sessions(PREFIX).await.unwrap(), 3);
    assert_eq!(new_store.count_sessions(PREFIX).await.unwrap(), 0);

    // ada's first write (an increment) moves her session into a hash, without `cookie`.
    assert_eq!(browsers[0].get(&rust.url("/")).await.body, "2 views");
    assert!(
        !holds(&old, &ids[0], false),
        "the document is still on the old Redis"
    );
    assert!(holds(&new, &ids[0], true), "no hash on the new Redis");
    let moved: Vec<String> = redis::cmd("HKEYS")
        .arg(format!("{PREFIX}{}", ids[0]))
        .query(&mut new.client().get_connection().expect("connect"))
        .expect("HKEYS");
    assert!(
        !moved.iter().any(|field| field == "cookie"),
        "express's cookie object moved: {moved:?}"
    );
    assert_eq!(rust.whoami(&mut browsers[0]).await.as_deref(), Some("ada"));

    // cy logs out before her session ever moved: it is gone from both.
    assert_eq!(browsers[2].post(&rust.url("/logout")).await.body, "bye");
    assert!(!holds(&old, &ids[2], false) && !holds(&new, &ids[2], false));
    assert_eq!(rust.whoami(&mut browsers[2]).await, None);

    // bob, the last, writes; then the old Redis holds no session.
    assert_eq!(browsers[1].get(&rust.url("/")).await.body, "3 views");
    assert!(!holds(&old, &ids[1], false) && holds(&new, &ids[1], true));
    assert_eq!(
        old_store.count_sessions(PREFIX).await.unwrap(),
        0,
        "the old Redis is not empty"
    );
    assert_eq!(new_store.count_sessions(PREFIX).await.unwrap(), 2);
    assert_eq!(rust.whoami(&mut browsers[1]).await.as_deref(), Some("bob"));
}
