//! What `RedisStore` does beyond the shared contract: its layout, its round trips and bytes
//! as Redis counts them, its connection options, and how it fails and recovers.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_typed_session::store::{
    CommitOutcome, Increment, Layout, LoadOptions, RedisStore, SessionKey, SessionStore,
};
use actix_typed_session::StoreError;
use actix_typed_session_tests::conformance::{create, fresh_key, now_ms, update};
use actix_typed_session_tests::keys::{dump, exists, pttl};
use actix_typed_session_tests::{
    conformance, free_port, names, wire_size, CommandLog, RedisServer,
};
use redis::aio::MultiplexedConnection;

const LONG: Duration = Duration::from_secs(60);
/// Upper bound for a failure to show up: only there so a hang fails the test instead of
/// stalling it. The timeouts under test are far shorter.
const NO_HANG: Duration = Duration::from_secs(15);

async fn raw(server: &RedisServer) -> MultiplexedConnection {
    server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a plain connection")
}

async fn load(store: &RedisStore, key: &SessionKey) -> Option<actix_typed_session::store::Record> {
    store.load(key, LoadOptions::default()).await.expect("load")
}

#[test]
fn the_store_is_clone_send_sync() {
    fn assert<T: Clone + Send + Sync + 'static>() {}
    assert::<RedisStore>();
}

#[tokio::test]
async fn each_operation_is_one_round_trip() {
    let server = RedisServer::start();
    let mut log = CommandLog::start(&server).await;
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let on_connect = log.take().await;
    eprintln!("on connect: {on_connect:#?}");
    let loads = on_connect.iter().filter(|c| c.name() == "SCRIPT").count();
    assert_eq!(
        loads, 12,
        "the scripts of both layouts, of the index (with the listing's details) and of \
         increments are loaded on connect: \
         {on_connect:#?}"
    );

    let key = fresh_key();
    let refresh = LoadOptions {
        refresh_ttl: Some(LONG),
        ..LoadOptions::default()
    };
    let fields: &[(&str, &[u8])] = &[("views", b"1"), ("user", b"\"ann\"")];
    let many: Vec<(String, Vec<u8>)> = (0..1000)
        .map(|i| (format!("f{i}"), vec![b'1'; 10]))
        .collect();
    let many: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();

    let mut observed = Vec::new();
    macro_rules! once {
        ($what:expr, $op:expr, $expected:expr) => {{
            let result = $op;
            let traffic = log.take_traffic().await;
            eprintln!("{}: {traffic:#?}", $what);
            assert_eq!(names(&traffic.commands), $expected, "{}", $what);
            // Redis reads at most 16 KB at a time: a bigger request takes more reads, and
            // a single command is one round trip anyway.
            if wire_size(&traffic.commands) < 16 * 1024 {
                assert_eq!(traffic.round_trips, 1, "{}", $what);
            }
            observed.push(traffic.commands);
            result
        }};
    }
    let load_commands = ["HGETALL", "PTTL", "PEXPIRE"];
    let missing = once!(
        "load missing",
        store.load(&key, refresh).await,
        load_commands
    );
    assert_eq!(missing.expect("load"), None);
    let created = once!(
        "create",
        store.commit(&key, &create(fields, now_ms(), LONG)).await,
        ["EVALSHA"]
    );
    assert_eq!(created.expect("commit"), CommitOutcome::Written);
    let loaded = once!(
        "load with refresh",
        store.load(&key, refresh).await,
        load_commands
    );
    assert!(loaded.expect("load").is_some());
    // An update is plain commands, ending with the check that the session is still there.
    let updated = once!(
        "update",
        store
            .commit(&key, &update(&[("views", b"2")], &["user"], LONG))
            .await,
        ["HSET", "HDEL", "PEXPIRE", "HEXISTS"]
    );
    assert_eq!(updated.expect("commit"), CommitOutcome::Written);
    let updated = once!(
        "update of 1000 fields",
        store.commit(&key, &update(&many, &[], LONG)).await,
        ["HSET", "PEXPIRE", "HEXISTS"]
    );
    assert_eq!(updated.expect("commit"), CommitOutcome::Written);
    // An increment that can pass its bound only where `HINCRBY` refuses it is plain
    // commands; one that could pass a narrower bound, the script that checks first.
    let incremented = once!(
        "increment",
        store
            .increment(&key, &Increment::new("views", 1, LONG, Layout::Fields))
            .await,
        ["PTTL", "HEXISTS", "HINCRBY", "PEXPIRE", "HEXISTS"]
    );
    assert_eq!(incremented.expect("increment"), Some(3));
    let mut bounded = Increment::new("views", 1, LONG, Layout::Fields);
    bounded.max = 255;
    let incremented = once!(
        "increment within 0..=255",
        store.increment(&key, &bounded).await,
        ["EVALSHA"]
    );
    assert_eq!(incremented.expect("increment"), Some(4));
    let deleted = once!("delete", store.delete(&key, &[]).await, ["DEL"]);
    assert!(deleted.expect("delete"));

    let clients: HashSet<_> = observed
        .iter()
        .flatten()
        .map(|c| c.client.clone())
        .collect();
    assert_eq!(clients.len(), 1, "every operation used the one connection");
}

#[tokio::test]
async fn clones_share_one_multiplexed_connection() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut log = CommandLog::start(&server).await;
    let key = fresh_key();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.load(&key, LoadOptions::default()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("load"), None);
    }
    let commands = log.take().await;
    assert_eq!(commands.len(), 32 * 2, "HGETALL and PTTL per load");
    let clients: HashSet<_> = commands.iter().map(|c| &c.client).collect();
    assert_eq!(clients.len(), 1, "{commands:#?}");
}

#[tokio::test]
async fn an_update_sends_only_the_changed_fields() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut log = CommandLog::start(&server).await;
    let big = vec![b'x'; 1024];
    let mut bulky: Vec<(String, &[u8])> = (0..50).map(|i| (format!("big{i}"), &big[..])).collect();
    bulky.push(("views".into(), b"1"));
    let bulky: Vec<(&str, &[u8])> = bulky.iter().map(|(n, v)| (n.as_str(), *v)).collect();

    let (small_key, bulky_key) = (fresh_key(), fresh_key());
    let created_at = now_ms();
    store
        .commit(&small_key, &create(&[("views", b"1")], created_at, LONG))
        .await
        .expect("commit");
    store
        .commit(&bulky_key, &create(&bulky, created_at, LONG))
        .await
        .expect("commit");
    let created = log.take().await;
    assert!(
        wire_size(&created[1..]) > 50 * 1024,
        "the bulky create carries its fields"
    );

    let change = update(&[("views", b"2")], &[], LONG);
    store.commit(&small_key, &change).await.expect("commit");
    let small = log.take().await;
    store.commit(&bulky_key, &change).await.expect("commit");
    let bulky = log.take().await;
    eprintln!("one-field update: {} bytes: {small:#?}", wire_size(&small));
    assert_eq!(
        wire_size(&small),
        wire_size(&bulky),
        "an update's size depends only on what changed"
    );
    assert!(wire_size(&bulky) < 256, "{bulky:#?}");
}

#[tokio::test]
async fn the_layout_is_one_hash_per_session() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut raw = raw(&server).await;
    let key = fresh_key();
    let created_at = now_ms();
    let fields: &[(&str, &[u8])] = &[("views", b"1"), ("user", b"\"ann\"")];
    store
        .commit(&key, &create(fields, created_at, LONG))
        .await
        .expect("commit");

    let kind: String = redis::cmd("TYPE")
        .arg(key.as_str())
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(kind, "hash");
    let stored: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
        .arg(key.as_str())
        .query_async(&mut raw)
        .await
        .unwrap();
    let created_ms = created_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let expected: HashMap<String, Vec<u8>> = [
        ("views", &b"1"[..]),
        ("user", b"\"ann\""),
        ("__created", created_ms.to_string().as_bytes()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v.to_vec()))
    .collect();
    assert_eq!(stored, expected);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(key.as_str())
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 60_000, "pttl {pttl}");

    // A field another program (or a newer deploy) wrote: loaded, and left alone by updates.
    let _: () = redis::cmd("HSET")
        .arg(key.as_str())
        .arg("from_elsewhere")
        .arg("42")
        .query_async(&mut raw)
        .await
        .unwrap();
    let changes = update(&[("views", b"2")], &["user"], LONG);
    store.commit(&key, &changes).await.expect("commit");
    let record = load(&store, &key).await.expect("the session");
    assert_eq!(
        record.fields.get("from_elsewhere").map(Vec::as_slice),
        Some(&b"42"[..])
    );
    assert!(!record.fields.contains_key("__created"));
    assert_eq!(record.created_at, Some(created_at));
}

#[tokio::test]
async fn scripts_are_reloaded_after_script_flush() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();

    let mut log = CommandLog::start(&server).await;
    // A create under a key that was not freshly generated checks the key in the script.
    let changes = create(&[("a", b"2")], now_ms(), LONG);
    assert_eq!(
        store.commit(&fresh_key(), &changes).await.expect("commit"),
        CommitOutcome::Written
    );
    assert_eq!(names(&log.take().await), ["EVALSHA", "SCRIPT", "EVALSHA"]);
    store.commit(&fresh_key(), &changes).await.expect("commit");
    assert_eq!(
        names(&log.take().await),
        ["EVALSHA"],
        "loaded once, then cached"
    );
    let changes = update(&[("a", b"3")], &[], LONG);
    store.commit(&key, &changes).await.expect("commit");
    log.take().await;
    // Only a load with a refresh threshold runs a script.
    let threshold = LoadOptions {
        refresh_ttl: Some(LONG),
        refresh_below: Some(LONG / 2),
        ..LoadOptions::default()
    };
    let record = store.load(&key, threshold).await.expect("load");
    assert_eq!(record.expect("the session").fields["a"], b"3");
    assert_eq!(names(&log.take().await), ["EVALSHA", "SCRIPT", "EVALSHA"]);
}

#[tokio::test]
async fn the_store_fails_fast_while_redis_is_down_and_recovers_after_a_restart() {
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");

    server.stop();
    let result = tokio::time::timeout(NO_HANG, store.load(&key, LoadOptions::default()))
        .await
        .expect("a load hung while Redis was down");
    assert!(
        matches!(
            result,
            Err(StoreError::Unavailable(_) | StoreError::ConnectionLost(_))
        ),
        "{result:?}"
    );

    // Nothing persists, so the session is gone and the script cache is empty.
    server.restart();
    let deadline = tokio::time::Instant::now() + NO_HANG;
    loop {
        match store.load(&key, LoadOptions::default()).await {
            Ok(record) => break assert_eq!(record, None),
            Err(StoreError::Unavailable(_) | StoreError::ConnectionLost(_))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("no recovery after the restart: {err}"),
        }
    }
    let created = store
        .commit(&key, &create(&[("a", b"2")], now_ms(), LONG))
        .await;
    assert_eq!(created.expect("commit"), CommitOutcome::Written);
    assert_eq!(
        load(&store, &key).await.expect("the new session").fields["a"],
        b"2"
    );
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_refused() {
    let connect = RedisStore::builder()
        .port(free_port())
        .connect_timeout(Duration::from_millis(300))
        .connect();
    let result = tokio::time::timeout(NO_HANG, connect)
        .await
        .expect("connect hung");
    assert!(
        matches!(result, Err(StoreError::ConnectionLost(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable() {
    // The kernel accepts connections into the backlog; nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("address").port();
    let connect = RedisStore::builder()
        .port(port)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .connect();
    let result = tokio::time::timeout(NO_HANG, connect)
        .await
        .expect("connect hung");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_unavailable_after_the_response_timeout() {
    let server = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    let store = RedisStore::builder()
        .port(server.port())
        .response_timeout(Duration::from_millis(200))
        .connect()
        .await
        .expect("connect");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");

    let mut blocker = raw(&server).await;
    let sleeping = tokio::spawn(async move {
        let _: redis::RedisResult<()> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(1)
            .query_async(&mut blocker)
            .await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let result = tokio::time::timeout(NO_HANG, store.load(&key, LoadOptions::default()))
        .await
        .expect("a load hung on a stalled server");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    sleeping.await.expect("the DEBUG SLEEP task");

    // The timeout makes the connection manager reconnect, and a reconnect that raced the
    // stall may fail one more request; after that the store is back.
    let deadline = tokio::time::Instant::now() + NO_HANG;
    while store.load(&key, LoadOptions::default()).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery after a stall"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The late answer to the timed-out load must not be taken for a later one's.
    let other = fresh_key();
    assert_eq!(load(&store, &other).await, None);
    assert_eq!(
        load(&store, &key).await.expect("the session").fields["a"],
        b"1"
    );
}

#[tokio::test]
async fn the_builder_connects_with_a_password_and_a_database() {
    let password = "a long pass phrase";
    let server = RedisServer::start_with(&["--requirepass", password]);
    let store = RedisStore::builder()
        .host("127.0.0.1")
        .port(server.port())
        .db(3)
        .password(password)
        .connect()
        .await
        .expect("connect");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");

    for (db, expected) in [(3, 1), (0, 0)] {
        let url = format!(
            "redis://:{}@127.0.0.1:{}/{db}",
            "a%20long%20pass%20phrase",
            server.port()
        );
        let mut raw = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let exists: i64 = redis::cmd("EXISTS")
            .arg(key.as_str())
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(exists, expected, "in db {db}");
    }

    for wrong in [Some("wrong"), None] {
        let mut builder = RedisStore::builder().port(server.port());
        if let Some(wrong) = wrong {
            builder = builder.password(wrong);
        }
        let result = tokio::time::timeout(NO_HANG, builder.connect())
            .await
            .expect("hung");
        assert!(result.is_err(), "connected with password {wrong:?}");
    }
}

#[tokio::test]
async fn the_builder_and_urls_connect_as_an_acl_user() {
    let server = RedisServer::start_with(&[
        "--user",
        "sessions",
        "on",
        ">s3cret",
        "~conformance:*",
        "+@all",
        "--user",
        "default",
        "off",
    ]);
    let store = RedisStore::builder()
        .port(server.port())
        .username("sessions")
        .password("s3cret")
        .connect()
        .await
        .expect("connect as an ACL user");
    conformance::run(&store).await;

    let url = format!("redis://sessions:s3cret@127.0.0.1:{}/2", server.port());
    let store = RedisStore::connect(&url).await.expect("connect by URL");
    let key = fresh_key();
    let created = store.commit(&key, &create(&[], now_ms(), LONG)).await;
    assert_eq!(created.expect("commit"), CommitOutcome::Written);
}

#[tokio::test]
async fn the_builder_resolves_the_host_to_the_chosen_family() {
    let server = RedisServer::start();
    let store = RedisStore::builder()
        .host("localhost")
        .port(server.port())
        .ipv4()
        .connect()
        .await
        .expect("connect over IPv4");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");
    assert!(load(&store, &key).await.is_some());

    // The server listens on 127.0.0.1 only: over IPv6 there is nothing to reach.
    let v6 = RedisStore::builder()
        .host("localhost")
        .port(server.port())
        .ipv6()
        .connect_timeout(Duration::from_millis(300))
        .connect();
    let result = tokio::time::timeout(NO_HANG, v6).await.expect("hung");
    // Refused where `localhost` has an IPv6 address, unresolvable where it has none.
    assert!(
        matches!(
            result,
            Err(StoreError::Unavailable(_) | StoreError::ConnectionLost(_))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_url_selects_the_database() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&format!("{}/5", server.url()))
        .await
        .expect("connect");
    let key = fresh_key();
    store
        .commit(&key, &create(&[("a", b"1")], now_ms(), LONG))
        .await
        .expect("commit");
    let mut log = CommandLog::start(&server).await;
    load(&store, &key).await;
    let commands = log.take().await;
    assert_eq!(names(&commands), ["HGETALL", "PTTL"]);
    assert!(commands.iter().all(|c| c.db == "5"), "{commands:#?}");
}

#[tokio::test]
async fn a_url_that_is_not_redis_is_refused() {
    for url in ["http://127.0.0.1:1", "not a url"] {
        let result = RedisStore::connect(url).await;
        assert!(result.is_err(), "accepted {url}");
    }
}

/// Clients connected to `server`, less the one that asks.
fn connected_clients(server: &RedisServer) -> usize {
    let mut conn = server
        .client()
        .get_connection()
        .expect("a plain connection");
    let info: String = redis::cmd("INFO")
        .arg("clients")
        .query(&mut conn)
        .expect("INFO clients");
    let connected: usize = info
        .lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("connected_clients");
    connected - 1
}

/// A worker thread's commands go through a connection of that thread, made on its first
/// command and kept, never through the connecting thread's (a round trip across threads).
#[test]
fn each_thread_that_uses_the_store_gets_one_connection_of_its_own() {
    let server = RedisServer::start();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    // Kept alive: the connection made by `connect` lives on it.
    let home = runtime();
    let store = home
        .block_on(RedisStore::connect(&server.url()))
        .expect("connect");
    let key = fresh_key();
    assert_eq!(
        connected_clients(&server),
        1,
        "connect makes one connection"
    );
    home.block_on(load(&store, &key));
    assert_eq!(connected_clients(&server), 1, "its own thread uses it");

    // A scoped thread, as an actix worker is to the thread that connected the store.
    let counts = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = runtime();
                (0..3)
                    .map(|_| {
                        runtime.block_on(load(&store, &key));
                        connected_clients(&server)
                    })
                    .collect::<Vec<_>>()
            })
            .join()
            .expect("the worker thread")
    });
    assert_eq!(
        counts,
        [2, 2, 2],
        "the worker connects once, on its first command"
    );

    // A thread whose runtime ended (its connection's task with it) and that starts
    // another, as `actix_rt::System` does in tests, still gets answers.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            runtime().block_on(load(&store, &key));
            let again = runtime().block_on(store.load(&key, LoadOptions::default()));
            assert!(again.is_ok(), "a second runtime on the thread: {again:?}");
        });
    });
}

/// A session of `views = 1` under a fresh key, created and then deleted (a logout).
async fn ended_session(store: &RedisStore) -> SessionKey {
    let key = fresh_key();
    store
        .commit(&key, &create(&[("views", b"1")], now_ms(), LONG))
        .await
        .expect("commit");
    assert!(store.delete(&key, &[]).await.expect("delete"));
    key
}

#[tokio::test]
async fn a_late_update_leaves_no_key_behind() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    // Logged out between this request's load and its write.
    let key = ended_session(&store).await;
    let late = update(&[("views", b"2")], &[], LONG);
    assert_eq!(
        store.commit(&key, &late).await.expect("commit"),
        CommitOutcome::Missing
    );
    assert!(
        !exists(&mut raw(&server).await, key.as_str()).await,
        "the hash the late write made is deleted"
    );
}

/// An increment that finds no session (on the pipelined path: `HINCRBY` first, the check
/// after) leaves nothing behind and every other program's key as it was: its value, its
/// field, its time-to-live.
#[tokio::test]
async fn an_increment_without_a_session_leaves_every_key_as_it_was() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut conn = raw(&server).await;
    let views = Increment::new("views", 1, LONG, Layout::Fields);

    let ended = ended_session(&store).await;
    assert_eq!(
        store.increment(&ended, &views).await.expect("increment"),
        None
    );
    assert!(
        !exists(&mut conn, ended.as_str()).await,
        "the hash the late increment made is deleted"
    );

    let mut absent_default = views.clone();
    absent_default.absent = 7;
    // The command that writes another program's key, its arguments after the key, and
    // its time-to-live in milliseconds.
    type Plant = (&'static str, &'static [&'static [u8]], Option<u64>);
    let plants: [Plant; 5] = [
        ("HSET", &[b"views", b"5", b"other", b"x"], Some(600_000)),
        ("HSET", &[b"other", b"x"], Some(600_000)),
        ("HSET", &[b"views", b"not a number"], None),
        ("SET", &[b"a string"], Some(600_000)),
        ("SET", &[b"a string"], None),
    ];
    for (command, args, ttl) in plants {
        for change in [&views, &absent_default] {
            let key = fresh_key();
            let shown: Vec<_> = args
                .iter()
                .map(|arg| String::from_utf8_lossy(arg))
                .collect();
            let case = format!(
                "{command} {shown:?}, expiring in {ttl:?}, absent {}",
                change.absent
            );
            let mut plant = redis::cmd(command);
            plant.arg(key.as_str()).arg(args);
            let _: () = plant.query_async(&mut conn).await.unwrap();
            if let Some(ms) = ttl {
                let _: () = redis::cmd("PEXPIRE")
                    .arg(key.as_str())
                    .arg(ms)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
            let before = dump(&mut conn, key.as_str()).await;
            assert!(before.is_some(), "{case}: planted");
            assert_eq!(
                store.increment(&key, change).await.expect("increment"),
                None,
                "{case}"
            );
            let after = dump(&mut conn, key.as_str()).await;
            assert_eq!(after, before, "{case}: the key holds what it held");
            let left = pttl(&mut conn, key.as_str()).await;
            match ttl {
                None => assert_eq!(left, -1, "{case}: still without an expiry"),
                Some(ms) => assert!(
                    left <= ms as i64 && left > ms as i64 - 10_000,
                    "{case}: {left} ms left, planted with {ms}"
                ),
            }
        }
    }
}
