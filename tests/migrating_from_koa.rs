//! Taking over a Koa app's users, live: the real koa-session 7 + koa-redis app logs users
//! in on one Redis and stops; the `counter` example starts on a fresh Redis Cluster in the
//! hash layout, reading koa-session's cookie, with a `MigratingStore` whose old store is
//! that Redis in koa-session's JSON layout. Every user is still logged in with their
//! count; a first write moves a session (its document leaves the old Redis, a hash
//! appears on the cluster); a logout removes it from both; a late write never brings a
//! moved or logged-out session back, from either app; and the old Redis ends up holding
//! none of the sessions, as `count_sessions` tells an operator.

use actix_typed_session::store::{RedisClusterStore, RedisStore};
use actix_typed_session_tests::browser::Browser;
use actix_typed_session_tests::cluster::RedisCluster;
use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::node::{NodeApp, NodePackage};
use actix_typed_session_tests::RedisServer;

/// Short, as a Koa app's `app.keys` often are: the Rust side accepts them by name.
const KEYS: &str = "first koa key,second koa key";
/// The hash layout's prefix on the cluster; koa-redis keys are the bare id.
const PREFIX: &str = "session:";

/// The Rust app on `cluster`, moving sessions from koa-session's documents on `old`.
fn rust_app(cluster: &RedisCluster, old: &RedisServer) -> Counter {
    Counter::start(&[
        ("REDIS_CLUSTER", cluster.urls().join(",")),
        ("SESSION_COMPAT", "koa".to_owned()),
        ("SESSION_LAYOUT", "hash".to_owned()),
        ("SESSION_PREFIX", PREFIX.to_owned()),
        ("MIGRATE_FROM_URL", old.url()),
        ("MIGRATE_FROM_COMPAT", "koa".to_owned()),
        ("SESSION_KEYS", KEYS.to_owned()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".to_owned()),
    ])
}

/// The session id the browser's koa-session cookie carries.
fn id_of(browser: &Browser) -> String {
    browser
        .cookie("koa.sess")
        .expect("a koa.sess cookie")
        .to_owned()
}

/// Whether the old Redis holds a key for session `id` (koa-redis: the bare id).
fn in_old(old: &RedisServer, id: &str) -> bool {
    let exists: i64 = redis::cmd("EXISTS")
        .arg(id)
        .query(&mut old.client().get_connection().expect("connect"))
        .expect("EXISTS");
    exists == 1
}

/// Whether the cluster holds session `id` as a live hash (one with `__created`).
fn in_cluster(cluster: &RedisCluster, id: &str) -> bool {
    let key = format!("{PREFIX}{id}");
    let owner = cluster.owner_of_slot(0, cluster.slot_of(&key));
    cluster.query_int(owner, &["HEXISTS", &key, "__created"]) == 1
}

#[tokio::test]
async fn koa_users_stay_logged_in_on_a_cluster_in_the_hash_layout_and_the_old_redis_empties() {
    let old = RedisServer::start();
    let users = ["ada", "bob", "cy", "dee"];
    let mut browsers: Vec<Browser> = users.iter().map(|_| Browser::new()).collect();
    {
        let koa = NodeApp::start_with(NodePackage::KoaSession, &old, &[("SESSION_KEYS", KEYS)]);
        for (n, (user, browser)) in users.iter().zip(&mut browsers).enumerate() {
            let login = browser.post(&koa.url(&format!("/login?user={user}"))).await;
            assert_eq!(login.body, format!("welcome {user}"), "{login:?}");
            for _ in 0..=n {
                browser.get(&koa.url("/")).await;
            }
        }
    } // The Koa app stops.
    let ids: Vec<String> = browsers.iter().map(id_of).collect();
    let old_store = RedisStore::connect(&old.url()).await.expect("connect");
    assert_eq!(old_store.count_sessions("").await.unwrap(), 4);

    let cluster = RedisCluster::start();
    let rust = rust_app(&cluster, &old);
    let new_store = RedisClusterStore::connect(cluster.urls())
        .await
        .expect("connect");

    // Everyone is still logged in, with their count; reading moves nothing.
    for (n, (user, browser)) in users.iter().zip(&mut browsers).enumerate() {
        assert_eq!(rust.whoami(browser).await.as_deref(), Some(*user));
        let peek = browser.get(&rust.url("/peek")).await;
        assert_eq!(peek.body, format!("{} views", n + 1), "{user}");
    }
    assert_eq!(old_store.count_sessions("").await.unwrap(), 4);
    assert_eq!(new_store.count_sessions(PREFIX).await.unwrap(), 0);

    // ada's first write (an increment) moves her session into a hash on the cluster.
    assert_eq!(browsers[0].get(&rust.url("/")).await.body, "2 views");
    assert!(
        !in_old(&old, &ids[0]),
        "the document is still on the old Redis"
    );
    assert!(in_cluster(&cluster, &ids[0]), "no hash on the cluster");

    // bob logs in again: his session moves, then takes a new id.
    let login = browsers[1].post(&rust.url("/login?user=bob")).await;
    assert_eq!(login.body, "welcome bob");
    let renewed = id_of(&browsers[1]);
    assert_ne!(renewed, ids[1], "a login renews the id");
    assert!(!in_old(&old, &ids[1]) && !in_cluster(&cluster, &ids[1]));
    assert!(in_cluster(&cluster, &renewed));
    assert_eq!(browsers[1].get(&rust.url("/peek")).await.body, "2 views");

    // cy logs out before her session ever moved: it is gone from both.
    assert_eq!(browsers[2].post(&rust.url("/logout")).await.body, "bye");
    assert!(!in_old(&old, &ids[2]) && !in_cluster(&cluster, &ids[2]));
    assert_eq!(rust.whoami(&mut browsers[2]).await, None);

    // ada, moved, logs out; copies of her cookies write late, on both apps.
    let ada: Vec<(&str, String)> = ["koa.sess", "koa.sess.sig"]
        .into_iter()
        .map(|name| (name, browsers[0].cookie(name).expect("a cookie").to_owned()))
        .collect();
    let (mut late, mut koa_late) = (Browser::new(), Browser::new());
    for (name, value) in &ada {
        late.set_cookie(name, value);
        koa_late.set_cookie(name, value);
    }
    assert_eq!(browsers[0].post(&rust.url("/logout")).await.body, "bye");
    assert!(!in_old(&old, &ids[0]) && !in_cluster(&cluster, &ids[0]));
    let written = late.get(&rust.url("/")).await;
    assert_eq!(written.body, "1 views", "a fresh session, not ada's");
    assert_ne!(id_of(&late), ids[0]);
    assert!(!in_old(&old, &ids[0]) && !in_cluster(&cluster, &ids[0]));

    {
        let koa = NodeApp::start_with(NodePackage::KoaSession, &old, &[("SESSION_KEYS", KEYS)]);
        let written = koa_late.get(&koa.url("/")).await;
        assert_eq!(written.body, "1 views", "koa-session started afresh");
    }
    assert_ne!(id_of(&koa_late), ids[0], "koa-redis brought ada's id back");
    assert!(!in_old(&old, &ids[0]) && !in_cluster(&cluster, &ids[0]));
    // That fresh Koa session is one more for the Rust app to take over: a logout.
    assert_eq!(rust.whoami(&mut koa_late).await, None);
    assert_eq!(koa_late.post(&rust.url("/logout")).await.body, "bye");

    // dee, the last, writes; then the old Redis holds no session.
    assert_eq!(browsers[3].get(&rust.url("/")).await.body, "5 views");
    assert!(!in_old(&old, &ids[3]) && in_cluster(&cluster, &ids[3]));
    assert_eq!(
        old_store.count_sessions("").await.unwrap(),
        0,
        "the old Redis is not empty"
    );
    for id in &ids {
        assert!(!in_old(&old, id), "{id} is still on the old Redis");
    }
    // On the cluster: dee, bob's renewed session and the late writer's fresh one.
    assert_eq!(new_store.count_sessions(PREFIX).await.unwrap(), 3);
    assert_eq!(rust.whoami(&mut browsers[3]).await.as_deref(), Some("dee"));
}
