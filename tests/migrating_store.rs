//! `MigratingStore`: sessions found in the old store move to the new one on their first
//! write (or load), whole, with nobody logged out; deletes and "sign out everywhere" reach
//! both stores; a late write on the old store never brings a moved session back. Checked
//! on the in-memory stores call by call, then live: sessions made on one Redis, the app
//! restarted on a Redis Cluster with the migrating store.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use actix_http::Request;
use actix_typed_session::store::{
    ChangeSet, CommitOutcome, Committed, IndexKey, JsonWrite, Layout, Listed, LoadOptions,
    MemoryStore, MigratingStore, Record, RedisClusterStore, RedisStore, SessionKey, SessionStore,
    TakeOver,
};
use actix_typed_session::{Compat, Keys, SessionId, SessionMiddleware, StoreError};
use actix_typed_session_tests::cluster::RedisCluster;
use actix_typed_session_tests::conformance::{self, fresh_key, ids, listed, now_ms, Cx};
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::{counter_app, RedisServer};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, App, Error};
use async_trait::async_trait;

const LONG: Duration = Duration::from_secs(60);

fn plain() -> LoadOptions {
    LoadOptions::default()
}

/// The session under `key` in `store`, as it is now.
async fn stored<S: SessionStore>(store: &S, key: &SessionKey) -> Option<Record> {
    store.load(key, plain()).await.expect("load")
}

/// A session created in `store` with `fields`, created at `created_at`.
async fn seed<S: SessionStore>(
    store: &S,
    fields: &[(&str, &[u8])],
    created_at: SystemTime,
    ttl: Duration,
) -> SessionKey {
    let key = fresh_key();
    let outcome = store
        .commit(&key, &conformance::create(fields, created_at, ttl))
        .await
        .expect("commit");
    assert_eq!(outcome, CommitOutcome::Written);
    key
}

fn update(set: &[(&str, &[u8])]) -> ChangeSet {
    conformance::update(set, &[], LONG)
}

fn index() -> IndexKey {
    conformance::fresh_index()
}

#[tokio::test]
async fn the_first_write_moves_the_whole_session_and_a_late_write_on_the_old_store_is_refused() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new.clone());
    let created_at = now_ms() - Duration::from_secs(3600);
    let key = seed(
        &old,
        &[("user", b"\"ann\""), ("cart", b"[1,2]")],
        created_at,
        Duration::from_secs(30),
    )
    .await;

    // A read finds it in the old store and leaves it there.
    let read = stored(&store, &key).await.expect("found in the old store");
    assert_eq!(read.fields["cart"], b"[1,2]");
    assert!(stored(&new, &key).await.is_none(), "a read moved it");

    // The write carries one dirty field; the whole session moves.
    let outcome = store
        .commit(&key, &update(&[("cart", b"[1,2,3]")]))
        .await
        .expect("commit");
    assert_eq!(outcome, CommitOutcome::Written);
    assert!(stored(&old, &key).await.is_none(), "still in the old store");
    let moved = stored(&new, &key).await.expect("in the new store");
    assert_eq!(
        moved.fields["user"], b"\"ann\"",
        "an untouched field was lost"
    );
    assert_eq!(moved.fields["cart"], b"[1,2,3]");
    assert_eq!(
        moved.created_at,
        Some(created_at),
        "the creation time moved"
    );
    assert!(
        moved.ttl.expect("a TTL") > Duration::from_secs(30),
        "the write's TTL"
    );

    // An app still on the old store writes late: its store's own guard refuses.
    let late = old
        .commit(&key, &update(&[("cart", b"[]")]))
        .await
        .expect("commit");
    assert_eq!(late, CommitOutcome::Missing);
    assert!(
        stored(&old, &key).await.is_none(),
        "a late write brought it back"
    );
    assert_eq!(old.count_sessions("conformance:"), 0);
    assert_eq!(
        stored(&store, &key).await.expect("the session").fields["cart"],
        b"[1,2,3]"
    );
}

#[tokio::test]
async fn a_move_keeps_the_time_to_live_left_when_nothing_sets_one() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::builder(old.clone(), new.clone())
        .move_on_read(true)
        .build();
    let key = seed(&old, &[("a", b"1")], now_ms(), Duration::from_secs(30)).await;
    let read = stored(&store, &key).await.expect("the session");
    assert_eq!(read.fields["a"], b"1");
    assert!(
        stored(&old, &key).await.is_none(),
        "the load did not move it"
    );
    let ttl = stored(&new, &key).await.expect("moved").ttl.expect("a TTL");
    assert!(
        ttl <= Duration::from_secs(30) && ttl > Duration::from_secs(25),
        "ttl {ttl:?}"
    );
}

#[tokio::test]
async fn an_increment_moves_the_session_then_counts_in_the_new_store() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new.clone());
    let key = seed(
        &old,
        &[("views", b"41"), ("user", b"\"ann\"")],
        now_ms(),
        LONG,
    )
    .await;
    let change = Cx::fields().increment("views", 1, LONG);
    assert_eq!(
        store.increment(&key, &change).await.expect("increment"),
        Some(42)
    );
    assert!(stored(&old, &key).await.is_none());
    let moved = stored(&new, &key).await.expect("moved");
    assert_eq!(moved.fields["views"], b"42");
    assert_eq!(moved.fields["user"], b"\"ann\"");
    let missing = store
        .increment(&fresh_key(), &change)
        .await
        .expect("increment");
    assert_eq!(missing, None, "an increment created a session");
}

#[tokio::test]
async fn a_logout_removes_the_session_from_both_stores() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new.clone());
    let unmoved = seed(&old, &[("a", b"1")], now_ms(), LONG).await;
    assert!(store.delete(&unmoved, &[]).await.expect("delete"));
    assert!(stored(&store, &unmoved).await.is_none());
    // A copy in both stores (a move whose delete in the old store failed) goes from both.
    let both = seed(&old, &[("a", b"1")], now_ms(), LONG).await;
    new.commit(&both, &conformance::create(&[("a", b"2")], now_ms(), LONG))
        .await
        .expect("commit");
    assert!(store.delete(&both, &[]).await.expect("delete"));
    assert!(stored(&old, &both).await.is_none(), "the old copy survived");
    assert!(stored(&store, &both).await.is_none());
    assert!(!store.delete(&both, &[]).await.expect("delete"));
}

/// `fields` recording that the session is in `index`, as the middleware records it.
fn in_index(index: &IndexKey) -> Vec<u8> {
    let name = index
        .as_str()
        .strip_prefix("conformance:")
        .expect("the conformance prefix");
    format!("{{\"user\":\"{name}\"}}").into_bytes()
}

/// A session created in `index` of `store`, recording it.
async fn seed_in<S: SessionStore>(store: &S, index: &IndexKey) -> SessionKey {
    let key = fresh_key();
    let mut changes = conformance::create(
        &[("user", b"1"), ("__index", &in_index(index))],
        now_ms(),
        LONG,
    );
    changes.index.join = vec![index.clone()];
    assert_eq!(
        store.commit(&key, &changes).await.expect("commit"),
        CommitOutcome::Written
    );
    key
}

#[tokio::test]
async fn a_moved_session_joins_its_indexes_in_the_new_store_and_sign_out_everywhere_reaches_both() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new.clone());
    let user = index();
    let laptop = seed_in(&old, &user).await;
    let phone = seed_in(&old, &user).await;
    let tablet = seed_in(&store, &user).await;
    assert_eq!(
        listed(&store, &user).await,
        ids(&[&laptop, &phone, &tablet])
    );

    store
        .commit(&laptop, &update(&[("theme", b"\"dark\"")]))
        .await
        .expect("commit");
    assert_eq!(
        listed(&new, &user).await,
        ids(&[&laptop, &tablet]),
        "joined there"
    );
    assert_eq!(
        listed(&old, &user).await,
        ids(&[&phone]),
        "left the old index"
    );
    assert_eq!(
        listed(&store, &user).await,
        ids(&[&laptop, &phone, &tablet])
    );

    let keep = SessionId::parse(tablet.id()).expect("an id");
    assert_eq!(
        store
            .index_end(&user, Some(&keep))
            .await
            .expect("end")
            .len(),
        2
    );
    assert!(stored(&store, &laptop).await.is_none());
    assert!(
        stored(&store, &phone).await.is_none(),
        "the old store's session lives on"
    );
    assert!(stored(&store, &tablet).await.is_some());
    assert_eq!(listed(&store, &user).await, ids(&[&tablet]));
}

#[tokio::test]
async fn a_renewal_of_a_session_in_the_old_store_takes_its_place_in_the_new_one() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new.clone());
    let user = index();
    let before = seed_in(&old, &user).await;
    // The renewal's two steps, as `commit.rs` makes them.
    let hold = std::slice::from_ref(&user);
    assert!(store.retire(&before, hold).await.expect("retire").is_some());
    let after = fresh_key();
    let mut changes = conformance::create(&[("user", b"1")], now_ms(), LONG);
    changes.fresh_id = true;
    changes.index.take_over = Some(TakeOver {
        from: SessionId::parse(before.id()).expect("an id"),
        indexes: vec![user.clone()],
    });
    assert_eq!(
        store.commit(&after, &changes).await.expect("commit"),
        CommitOutcome::Written,
        "the renewal was refused"
    );
    assert!(stored(&store, &before).await.is_none());
    assert!(stored(&old, &before).await.is_none());
    assert_eq!(listed(&store, &user).await, ids(&[&after]));
    assert_eq!(store.index_end(&user, None).await.expect("end").len(), 1);
    assert!(stored(&store, &after).await.is_none());
}

#[tokio::test]
async fn a_key_taken_in_the_old_store_is_taken() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = MigratingStore::new(old.clone(), new);
    let key = seed(&old, &[("a", b"1")], now_ms(), LONG).await;
    let create = conformance::create(&[("a", b"2")], now_ms(), LONG);
    assert_eq!(
        store.commit(&key, &create).await.expect("commit"),
        CommitOutcome::Collision
    );
    assert_eq!(stored(&store, &key).await.expect("kept").fields["a"], b"1");
}

#[tokio::test]
async fn the_json_layout_is_refused_with_a_clear_error() {
    let store = MigratingStore::new(MemoryStore::new(), MemoryStore::new());
    let json = LoadOptions {
        layout: Layout::Json(JsonWrite::SetEx),
        ..LoadOptions::default()
    };
    let refused = store.load(&fresh_key(), json).await;
    assert!(
        matches!(&refused, Err(StoreError::Unsupported(why)) if why.contains("field layout")),
        "{refused:?}"
    );
    let refused = store
        .commit(&fresh_key(), &Cx::json().update(&[], &[], LONG))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unsupported(_))),
        "{refused:?}"
    );
}

// ---- From koa-session's JSON documents (koa-redis: the bare id as the key) to hashes. ----

const KOA: Layout = Layout::Json(JsonWrite::Setex);

fn koa_options() -> LoadOptions {
    LoadOptions {
        layout: KOA,
        ..LoadOptions::default()
    }
}

/// Milliseconds since the epoch, `from_now` away (negative: in the past), as koa-session
/// writes `_expire`.
fn epoch_ms(from_now: i64) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now + from_now).to_string().into_bytes()
}

/// A koa-session document put in `old` by hand under koa-redis' key (the bare id), living
/// `ttl` in the store: returns the key the middleware asks for (`session:` + id) and the
/// old store's key.
async fn koa_document<S: SessionStore>(
    old: &S,
    fields: &[(&str, &[u8])],
    ttl: Duration,
) -> (SessionKey, SessionKey) {
    let id = SessionId::generate().expect("OS randomness");
    let mut create = conformance::create(fields, now_ms(), ttl);
    create.layout = KOA;
    let old_key = SessionKey::new("", &id);
    let outcome = old.commit(&old_key, &create).await.expect("commit");
    assert_eq!(outcome, CommitOutcome::Written);
    (SessionKey::new("session:", &id), old_key)
}

fn from_koa<Old: SessionStore, New: SessionStore>(old: Old, new: New) -> MigratingStore<Old, New> {
    MigratingStore::builder(old, new)
        .old_format(Compat::KoaSession)
        .build()
}

fn names(record: &Record) -> Vec<&str> {
    let mut names: Vec<&str> = record.fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn a_koa_document_moves_into_the_field_layout_without_its_envelope() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = from_koa(old.clone(), new.clone());
    let expire = epoch_ms(30_000);
    let (key, old_key) = koa_document(
        &old,
        &[
            ("user", b"\"ann\""),
            ("views", b"3"),
            ("flash", b"{\"seen\":false}"),
            ("_expire", &expire),
            ("_maxAge", b"86400000"),
        ],
        Duration::from_secs(40),
    )
    .await;

    // A read converts it and leaves it where it is.
    let read = stored(&store, &key).await.expect("found in the old store");
    assert_eq!(names(&read), ["flash", "user", "views"], "{read:?}");
    assert_eq!(read.created_at, None);
    let ttl = read.ttl.expect("a TTL");
    assert!(
        ttl <= Duration::from_secs(30) && ttl > Duration::from_secs(25),
        "the time left by _expire, not the store's: {ttl:?}"
    );
    assert!(old.load(&old_key, koa_options()).await.unwrap().is_some());
    assert!(stored(&new, &key).await.is_none(), "a read moved it");

    let before_move = now_ms();
    let outcome = store
        .commit(&key, &update(&[("views", b"4")]))
        .await
        .expect("commit");
    assert_eq!(outcome, CommitOutcome::Written);
    assert!(
        old.load(&old_key, koa_options()).await.unwrap().is_none(),
        "still in the old store"
    );
    assert_eq!(old.count_sessions(""), 0);
    let moved = stored(&new, &key).await.expect("a hash in the new store");
    assert_eq!(names(&moved), ["flash", "user", "views"]);
    assert_eq!(moved.fields["views"], b"4");
    assert_eq!(moved.fields["flash"], b"{\"seen\":false}", "an unknown key");
    assert!(
        moved.created_at.expect("a creation time") >= before_move,
        "an absolute timeout counts from the move"
    );

    // koa-redis writes blindly, but an update through a guarded store is refused; and
    // the migrating store reads the new copy first either way.
    let mut late = update(&[("views", b"100")]);
    late.layout = KOA;
    assert_eq!(
        old.commit(&old_key, &late).await.unwrap(),
        CommitOutcome::Missing
    );
    assert_eq!(stored(&store, &key).await.unwrap().fields["views"], b"4");
}

#[tokio::test]
async fn a_koa_document_past_its_expire_is_no_session_and_moves_nowhere() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let store = from_koa(old.clone(), new.clone());
    let expired = epoch_ms(-1000);
    let fields: &[(&str, &[u8])] = &[("user", b"\"ann\""), ("_expire", &expired)];
    // koa-redis keeps the key ten seconds past `_expire`.
    let (key, _) = koa_document(&old, fields, Duration::from_secs(9)).await;
    assert!(stored(&store, &key).await.is_none());
    let outcome = store
        .commit(&key, &update(&[("views", b"1")]))
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Missing);
    let counted = Cx::fields().increment("views", 1, LONG);
    assert_eq!(store.increment(&key, &counted).await.unwrap(), None);
    assert_eq!(
        new.count_sessions("session:"),
        0,
        "an expired session moved"
    );

    // A document whose `_expire` is no number states no expiry: the store's TTL rules.
    let (key, _) = koa_document(
        &old,
        &[("user", b"\"bob\""), ("_expire", b"\"soon\"")],
        Duration::from_secs(20),
    )
    .await;
    let read = stored(&store, &key).await.expect("a session");
    assert_eq!(names(&read), ["user"]);
    assert!(read.ttl.unwrap() <= Duration::from_secs(20));
}

#[tokio::test]
async fn koa_documents_move_on_read_on_increment_and_a_logout_ends_them_in_both_stores() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let expire = epoch_ms(50_000);
    let doc: &[(&str, &[u8])] = &[("views", b"3"), ("_expire", &expire), ("_maxAge", b"60000")];

    let on_read = MigratingStore::builder(old.clone(), new.clone())
        .old_format(Compat::KoaSession)
        .move_on_read(true)
        .build();
    let (key, old_key) = koa_document(&old, doc, LONG).await;
    let read = stored(&on_read, &key).await.expect("found");
    assert_eq!(names(&read), ["views"]);
    assert!(old.load(&old_key, koa_options()).await.unwrap().is_none());
    let moved = stored(&new, &key).await.expect("moved by the read");
    assert!(moved.ttl.unwrap() <= Duration::from_secs(50), "{moved:?}");

    let store = from_koa(old.clone(), new.clone());
    let (key, old_key) = koa_document(&old, doc, LONG).await;
    let counted = Cx::fields().increment("views", 1, LONG);
    assert_eq!(store.increment(&key, &counted).await.unwrap(), Some(4));
    assert!(old.load(&old_key, koa_options()).await.unwrap().is_none());
    assert_eq!(stored(&new, &key).await.unwrap().fields["views"], b"4");

    let (key, old_key) = koa_document(&old, doc, LONG).await;
    assert!(store.delete(&key, &[]).await.unwrap(), "it existed");
    assert!(old.load(&old_key, koa_options()).await.unwrap().is_none());
    assert!(stored(&store, &key).await.is_none());
}

#[tokio::test]
async fn a_koa_session_logged_out_while_it_moves_is_not_brought_back() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let expire = epoch_ms(50_000);
    let (key, old_key) = koa_document(&old, &[("a", b"1"), ("_expire", &expire)], LONG).await;
    let ending = Interleaved {
        inner: old.clone(),
        ended_after_load: true,
        ..Interleaved::default()
    };
    let store = from_koa(ending, new.clone());
    let outcome = store.commit(&key, &update(&[("a", b"2")])).await.unwrap();
    assert_eq!(outcome, CommitOutcome::Missing, "the write was taken");
    assert!(
        stored(&new, &key).await.is_none(),
        "the move brought it back"
    );
    assert!(old.load(&old_key, koa_options()).await.unwrap().is_none());
}

/// The hash a document moved into on the `target` Redis, after a write of `views = 3` to
/// a session of user "ann": checked to hold both, and the creation time.
async fn moved_hash(target: &RedisServer, key: &SessionKey) -> HashMap<String, String> {
    let hash: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(key.as_str())
        .query_async(&mut target.connection().await)
        .await
        .unwrap();
    assert_eq!(hash.get("user").map(String::as_str), Some("\"ann\""));
    assert_eq!(hash.get("views").map(String::as_str), Some("3"));
    assert!(hash.contains_key("__created"), "{hash:?}");
    hash
}

#[tokio::test]
async fn what_is_no_koa_document_on_the_old_redis_is_no_session_and_never_a_panic() {
    let (single, target) = (RedisServer::start(), RedisServer::start());
    let old = RedisStore::connect(&single.url()).await.expect("connect");
    let new = RedisStore::connect(&target.url()).await.expect("connect");
    let store = from_koa(old, new.clone());
    let mut conn = single.connection().await;
    for (stored_text, _) in [("not json", 0), ("[1,2]", 1), ("{\"_expire\":", 2)] {
        let id = SessionId::generate().unwrap();
        let _: () = redis::cmd("SET")
            .arg(id.as_str())
            .arg(stored_text)
            .arg("EX")
            .arg(60)
            .query_async(&mut conn)
            .await
            .unwrap();
        let key = SessionKey::new("session:", &id);
        assert!(stored(&store, &key).await.is_none(), "{stored_text}");
        let outcome = store.commit(&key, &update(&[("a", b"1")])).await.unwrap();
        assert_eq!(outcome, CommitOutcome::Missing, "{stored_text}");
    }
    // A real koa-redis document moves across servers into a hash.
    let expire = epoch_ms(50_000);
    let id = SessionId::generate().unwrap();
    let document = format!(
        r#"{{"user":"ann","views":2,"_expire":{},"_maxAge":86400000}}"#,
        String::from_utf8(expire).unwrap()
    );
    let _: () = redis::cmd("SETEX")
        .arg(id.as_str())
        .arg(86410)
        .arg(&document)
        .query_async(&mut conn)
        .await
        .unwrap();
    let key = SessionKey::new("session:", &id);
    let outcome = store
        .commit(&key, &update(&[("views", b"3")]))
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Written);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(id.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the document is still on the old Redis");
    let hash = moved_hash(&target, &key).await;
    let mut target_conn = target.connection().await;
    assert!(!hash.contains_key("_expire") && !hash.contains_key("_maxAge"));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(key.as_str())
        .query_async(&mut target_conn)
        .await
        .unwrap();
    assert!(ttl > 0, "no TTL: {ttl}");
    assert_eq!(new.count_sessions("session:").await.unwrap(), 1);
}

// ---- From express-session's JSON documents (connect-redis: `sess:` + the id) to hashes. ----

/// An express-session document for `id` written on the old Redis as connect-redis writes
/// it: `SET sess:<id> <json> EX <ttl>`, the `cookie` object first.
async fn connect_redis_document(conn: &mut redis::aio::MultiplexedConnection, id: &SessionId) {
    let document = r#"{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-01T00:00:00.000Z","secure":false,"httpOnly":true,"path":"/"},"user":"ann","views":2}"#;
    let _: () = redis::cmd("SET")
        .arg(format!("sess:{}", id.as_str()))
        .arg(document)
        .arg("EX")
        .arg(60)
        .query_async(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_connect_redis_document_moves_into_a_hash_without_its_cookie() {
    let (single, target) = (RedisServer::start(), RedisServer::start());
    let old = RedisStore::connect(&single.url()).await.expect("connect");
    let new = RedisStore::connect(&target.url()).await.expect("connect");
    let store = MigratingStore::builder(old, new.clone())
        .old_format(Compat::ExpressSession)
        .build();
    let mut conn = single.connection().await;
    let probe = conn.clone();
    let old_exists = |id: SessionId| {
        let mut conn = probe.clone();
        async move {
            let exists: i64 = redis::cmd("EXISTS")
                .arg(format!("sess:{}", id.as_str()))
                .query_async(&mut conn)
                .await
                .unwrap();
            exists == 1
        }
    };

    // A read finds the app's keys, without express's `cookie`, and moves nothing.
    let id = SessionId::generate().unwrap();
    connect_redis_document(&mut conn, &id).await;
    let key = SessionKey::new("session:", &id);
    let read = stored(&store, &key).await.expect("found under sess:");
    assert_eq!(names(&read), ["user", "views"], "{read:?}");
    assert_eq!(read.fields["user"], b"\"ann\"");
    assert!(read.ttl.expect("the document's TTL") <= Duration::from_secs(60));
    assert!(old_exists(id.clone()).await, "a read moved it");

    // The first write moves it whole into a hash on the new Redis.
    let outcome = store
        .commit(&key, &update(&[("views", b"3")]))
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Written);
    assert!(
        !old_exists(id).await,
        "the document is still on the old Redis"
    );
    let hash = moved_hash(&target, &key).await;
    assert!(
        !hash.contains_key("cookie"),
        "express's envelope moved: {hash:?}"
    );

    // A logout ends a session still on the old Redis.
    let id = SessionId::generate().unwrap();
    connect_redis_document(&mut conn, &id).await;
    let key = SessionKey::new("session:", &id);
    assert!(store.delete(&key, &[]).await.unwrap(), "it existed");
    assert!(!old_exists(id).await);
    assert!(stored(&store, &key).await.is_none());
    assert_eq!(new.count_sessions("session:").await.unwrap(), 1);
}

/// The memory store, giving way to other tasks before each call, so that two requests'
/// calls interleave; with `ended_after_load`, reached by a logout right after each load
/// (between a move's load and its delete in the old store); with `moved_by_another`, an
/// old store whose sessions another request moves to that store just before each load.
#[derive(Clone, Default)]
struct Interleaved {
    inner: MemoryStore,
    ended_after_load: bool,
    moved_by_another: Option<MemoryStore>,
}

#[async_trait]
impl SessionStore for Interleaved {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        tokio::task::yield_now().await;
        if let Some(new) = &self.moved_by_another {
            if let Some(record) = self.inner.load(key, options).await? {
                let mut create = conformance::create(&[], now_ms(), LONG);
                create.set = record.fields.into_iter().collect();
                new.commit(key, &create).await?;
                self.inner.delete(key, &[]).await?;
            }
        }
        let record = self.inner.load(key, options).await?;
        if self.ended_after_load {
            self.inner.delete(key, &[]).await?;
        }
        Ok(record)
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        tokio::task::yield_now().await;
        self.inner.commit(key, changes).await
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.inner.delete(key, leave).await
    }

    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        tokio::task::yield_now().await;
        self.inner.retire(key, hold).await
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        tokio::task::yield_now().await;
        self.inner.index_list(index, limit).await
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        tokio::task::yield_now().await;
        self.inner.index_end(index, keep).await
    }
}

#[tokio::test]
async fn a_session_logged_out_while_it_moves_is_not_brought_back() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let key = seed(&old, &[("a", b"1")], now_ms(), LONG).await;
    let ending = Interleaved {
        inner: old.clone(),
        ended_after_load: true,
        ..Interleaved::default()
    };
    let store = MigratingStore::new(ending, new.clone());
    let outcome = store
        .commit(&key, &update(&[("a", b"2")]))
        .await
        .expect("commit");
    assert_eq!(outcome, CommitOutcome::Missing, "the write was taken");
    assert!(
        stored(&new, &key).await.is_none(),
        "the move brought it back"
    );
    assert!(stored(&old, &key).await.is_none());
}

#[tokio::test]
async fn a_session_another_request_moves_meanwhile_is_found_in_the_new_store() {
    let (old, new) = (MemoryStore::new(), MemoryStore::new());
    let racing = Interleaved {
        inner: old.clone(),
        moved_by_another: Some(new.clone()),
        ..Interleaved::default()
    };
    let store = MigratingStore::new(racing, new.clone());
    let read = seed(&old, &[("a", b"1")], now_ms(), LONG).await;
    let found = stored(&store, &read).await.expect("taken for no session");
    assert_eq!(found.fields["a"], b"1");

    let written = seed(&old, &[("a", b"1"), ("b", b"1")], now_ms(), LONG).await;
    let outcome = store
        .commit(&written, &update(&[("a", b"2")]))
        .await
        .expect("commit");
    assert_eq!(
        outcome,
        CommitOutcome::Written,
        "taken for an ended session"
    );
    let record = stored(&new, &written).await.expect("in the new store");
    assert_eq!(record.fields["a"], b"2");
    assert_eq!(record.fields["b"], b"1");

    let counted = seed(&old, &[("views", b"1")], now_ms(), LONG).await;
    let change = Cx::fields().increment("views", 1, LONG);
    let value = store.increment(&counted, &change).await.expect("increment");
    assert_eq!(value, Some(2), "taken for no session");
}

#[tokio::test]
async fn two_requests_moving_one_session_both_land() {
    let (old, new) = (Interleaved::default(), Interleaved::default());
    let store = MigratingStore::new(old.clone(), new.clone());
    let key = seed(&old, &[("a", b"1"), ("b", b"1")], now_ms(), LONG).await;
    let (one, two) = (update(&[("a", b"2")]), update(&[("b", b"2")]));
    let (first, second) =
        futures_util::future::join(store.commit(&key, &one), store.commit(&key, &two)).await;
    assert_eq!(first.expect("commit"), CommitOutcome::Written);
    assert_eq!(second.expect("commit"), CommitOutcome::Written);
    let record = stored(&new, &key).await.expect("moved");
    assert_eq!(
        (&record.fields["a"][..], &record.fields["b"][..]),
        (&b"2"[..], &b"2"[..])
    );
    assert!(stored(&old, &key).await.is_none());
}

// ---- Live: one Redis, then a Redis Cluster through the migrating store. ----

const APP_KEY: &str = "migration test key, long enough to sign";

async fn app<S: SessionStore>(
    store: S,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let sessions = SessionMiddleware::new(store, Keys::new([APP_KEY]));
    test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await
}

async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    let status = res.status();
    jar.absorb(&res);
    (status, body(res).await)
}

fn session_key(jar: &Jar) -> SessionKey {
    let id = jar.get("session").expect("a session cookie").value();
    SessionKey::new("session:", &SessionId::parse(id).expect("an id"))
}

#[actix_web::test]
async fn sessions_made_on_one_redis_live_on_in_a_cluster_and_the_old_store_empties() {
    let single = RedisServer::start();
    let old = RedisStore::connect(&single.url()).await.expect("connect");
    let before = app(old.clone()).await;
    // Five devices of one user, each with its own count.
    let mut jars = vec![Jar::default(); 5];
    for (device, jar) in jars.iter_mut().enumerate() {
        assert_eq!(send(&before, jar, "POST", "/login").await.0, StatusCode::OK);
        for _ in 0..=device {
            assert_eq!(send(&before, jar, "GET", "/modify").await.0, StatusCode::OK);
        }
    }
    assert_eq!(old.count_sessions("session:").await.expect("count"), 5);

    // The app restarts on the cluster, the old Redis behind it.
    let cluster = RedisCluster::start();
    let new = RedisClusterStore::connect(cluster.urls())
        .await
        .expect("connect");
    let store = MigratingStore::new(old.clone(), new.clone());
    let after = app(store).await;
    for (device, jar) in jars.iter_mut().enumerate() {
        let (status, user) = send(&after, jar, "GET", "/whoami").await;
        assert_eq!(
            (status, user.as_str()),
            (StatusCode::OK, "ada"),
            "device {device}"
        );
        let (_, views) = send(&after, jar, "GET", "/peek").await;
        assert_eq!(views, format!("{} views", device + 1), "device {device}");
    }
    assert_eq!(
        old.count_sessions("session:").await.expect("count"),
        5,
        "reads move nothing"
    );

    // Three devices write (a read-modify-write, an increment, a login): they move.
    assert_eq!(
        send(&after, &mut jars[0], "GET", "/modify").await.1,
        "2 views"
    );
    assert_eq!(send(&after, &mut jars[1], "GET", "/").await.1, "3 views");
    let renewed_from = session_key(&jars[2]);
    assert_eq!(
        send(&after, &mut jars[2], "POST", "/login").await.0,
        StatusCode::OK
    );
    assert_ne!(session_key(&jars[2]), renewed_from, "a login renews the id");
    assert_eq!(old.count_sessions("session:").await.expect("count"), 2);

    // Mid-migration, the user's session list covers both stores.
    let (status, listed) = send(&after, &mut jars[0], "GET", "/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.lines().count(), 5, "{listed}");

    for jar in &mut jars[3..] {
        assert_eq!(send(&after, jar, "GET", "/modify").await.0, StatusCode::OK);
    }
    assert_eq!(
        old.count_sessions("session:").await.expect("count"),
        0,
        "the old store is empty"
    );
    let counts: Vec<String> = {
        let mut counts = Vec::new();
        for jar in &mut jars {
            counts.push(send(&after, jar, "GET", "/peek").await.1);
        }
        counts
    };
    assert_eq!(
        counts,
        ["2 views", "3 views", "3 views", "5 views", "6 views"]
    );

    // A late write from an app still on the old Redis: refused, nothing comes back.
    let key = session_key(&jars[0]);
    let late = old
        .commit(&key, &conformance::update(&[("views", b"100")], &[], LONG))
        .await
        .expect("commit");
    assert_eq!(late, CommitOutcome::Missing);
    assert_eq!(old.count_sessions("session:").await.expect("count"), 0);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(key.as_str())
        .query(&mut single.client().get_connection().expect("connect"))
        .expect("EXISTS");
    assert_eq!(exists, 0, "the late write left a key behind");
    assert_eq!(
        send(&after, &mut jars[0], "GET", "/peek").await.1,
        "2 views"
    );

    // Sign out everywhere, from the cluster alone now.
    let (_, ended) = send(&after, &mut jars[4], "POST", "/logout-everywhere").await;
    assert_eq!(ended, "ended 5");
    for jar in &mut jars {
        assert_eq!(
            send(&after, jar, "GET", "/whoami").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
