//! The store on a real Redis Cluster (three masters, three replicas): the conformance
//! suite, sessions spread over every master, the round-trip budget, scripts loaded again
//! after `NOSCRIPT`, a slot migrating under a live session (`ASK`, then `MOVED`), a master
//! killed mid-test, an answer lost on its way back, and a connection that dies without a
//! word.

use std::fmt::Debug;
use std::time::{Duration, Instant, SystemTime};

use actix_http::Request;
use actix_typed_session::store::RedisClusterStore;
use actix_typed_session::{Keys, SessionMiddleware};
use actix_typed_session_tests::cluster::RedisCluster;
use actix_typed_session_tests::cut_proxy::CutProxy;
use actix_typed_session_tests::failover::{send, Visitors};
use actix_typed_session_tests::http::Jar;
use actix_typed_session_tests::{conformance, counter_app, names, CommandLog, LoggedCommand};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, App, Error};
use redis::Value;

async fn store(cluster: &RedisCluster) -> RedisClusterStore {
    RedisClusterStore::connect(cluster.urls())
        .await
        .expect("connect to the cluster")
}

/// The counter app on the cluster.
async fn counter(
    store: RedisClusterStore,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let sessions =
        SessionMiddleware::new(store, Keys::new(["cluster test key, long enough to sign"]));
    test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await
}

/// Every key held by master `index`.
fn keys_on(cluster: &RedisCluster, index: usize) -> Vec<String> {
    match cluster.query(index, &["KEYS", "*"]) {
        Value::Array(keys) => keys
            .into_iter()
            .map(|key| match key {
                Value::BulkString(bytes) => String::from_utf8(bytes).expect("UTF-8 key"),
                other => panic!("not a key: {other:?}"),
            })
            .collect(),
        other => panic!("KEYS: {other:?}"),
    }
}

/// The one session key in the cluster.
fn only_session_key(cluster: &RedisCluster) -> String {
    let mut keys: Vec<String> = cluster
        .masters(0)
        .into_iter()
        .flat_map(|master| keys_on(cluster, master))
        .collect();
    assert_eq!(keys.len(), 1, "one session: {keys:?}");
    keys.remove(0)
}

#[actix_web::test]
async fn cluster_store_conforms() {
    let cluster = RedisCluster::start();
    let store = store(&cluster).await;
    conformance::run(&store).await;
    conformance::run_in(&store, &conformance::Cx::json()).await;
    actix_typed_session_tests::admin::run(store).await;
}

#[actix_web::test]
async fn sessions_spread_across_every_master_and_are_all_counted() {
    let cluster = RedisCluster::start();
    let counting = store(&cluster).await;
    let app = counter(counting.clone()).await;
    for _ in 0..60 {
        let (status, text) = send(&app, &mut Jar::default(), "GET", "/").await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "1 views"));
    }
    let masters = cluster.masters(0);
    assert_eq!(masters.len(), 3);
    let mut per_master = Vec::new();
    for master in masters {
        let keys = keys_on(&cluster, master);
        for key in &keys {
            let slot = cluster.slot_of(key);
            assert_eq!(
                cluster.owner_of_slot(0, slot),
                master,
                "{key} is on the master serving its slot"
            );
        }
        per_master.push(cluster.query_int(master, &["DBSIZE"]));
    }
    eprintln!("sessions per master: {per_master:?}");
    assert_eq!(per_master.iter().sum::<i64>(), 60);
    assert!(
        per_master.iter().all(|&n| n > 0),
        "every master holds sessions: {per_master:?}"
    );
    // Counted master by master, as the end of a migration off this cluster is known.
    let counted = counting.count_sessions("session:").await.expect("count");
    assert_eq!(counted, 60);
    assert_eq!(counting.count_sessions("other:").await.expect("count"), 0);
}

#[actix_web::test]
async fn round_trips_stay_in_budget_on_a_cluster() {
    let cluster = RedisCluster::start();
    let store = store(&cluster).await;
    // Masters only: a replica's MONITOR shows the replication stream, not round trips.
    let mut logs = Vec::new();
    for master in cluster.masters(0) {
        logs.push(CommandLog::start(&cluster.nodes()[master]).await);
    }
    let app = counter(store).await;
    let mut jar = Jar::default();

    /// The commands every master received since the last call, master by master.
    async fn taken(logs: &mut [CommandLog]) -> Vec<LoggedCommand> {
        let mut all = Vec::new();
        for log in logs {
            all.extend(log.take().await);
        }
        all
    }

    let mut budget = Vec::new();
    for (what, method, path, expected) in [
        ("first write", "GET", "/", &["EVALSHA"][..]),
        ("untouched", "GET", "/health", &[][..]),
        ("read only", "GET", "/peek", &["EVALSHA"][..]),
        ("increment", "GET", "/", &["EVALSHA"][..]),
        ("modify", "GET", "/modify", &["EVALSHA", "EVALSHA"][..]),
        // The user's index lives in another slot than the session: joining it is a
        // script call of its own, sent before the create, and checked after it (an
        // ending may have taken the new id out meanwhile).
        (
            "renew",
            "POST",
            "/login",
            &["EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA", "ZSCORE"][..],
        ),
        (
            "list sessions",
            "GET",
            "/sessions",
            &["EVALSHA", "ZREVRANGE", "EVALSHA"][..],
        ),
        ("purge", "POST", "/logout", &["EVALSHA", "DEL", "ZREM"][..]),
    ] {
        let (status, _) = send(&app, &mut jar, method, path).await;
        assert_eq!(status, StatusCode::OK, "{what}");
        let commands = taken(&mut logs).await;
        // Sorted: the logs are read master by master, so the order across masters (a
        // renewal's new key may live on another master than the old one) is lost.
        let mut sent = names(&commands);
        sent.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(sent, expected, "{what}: {commands:?}");
        budget.push(format!("{what}: {}", commands.len()));
    }
    eprintln!("round trips on the cluster: {}", budget.join(", "));
}

#[actix_web::test]
async fn a_master_that_lost_its_scripts_gets_them_again() {
    let cluster = RedisCluster::start();
    let app = counter(store(&cluster).await).await;
    let mut jar = Jar::default();
    let (_, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!(text, "1 views");
    // As after a restart, or on a replica promoted before it ever saw `SCRIPT LOAD`.
    for master in cluster.masters(0) {
        cluster.query(master, &["SCRIPT", "FLUSH"]);
    }
    let owner = cluster.owner_of_slot(0, cluster.slot_of(&only_session_key(&cluster)));
    let mut log = CommandLog::start(&cluster.nodes()[owner]).await;

    let (status, text) = send(&app, &mut jar, "GET", "/modify").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "2 views"));
    let commands = log.take().await;
    assert_eq!(
        names(&commands),
        ["EVALSHA", "SCRIPT", "EVALSHA", "EVALSHA", "SCRIPT", "EVALSHA"],
        "NOSCRIPT, SCRIPT LOAD and a retry, for the load and for the commit: {commands:?}"
    );
    let (status, text) = send(&app, &mut jar, "GET", "/modify").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "3 views"));
    assert_eq!(names(&log.take().await), ["EVALSHA", "EVALSHA"]);
    // The increment's script, too.
    for master in cluster.masters(0) {
        cluster.query(master, &["SCRIPT", "FLUSH"]);
    }
    log.take().await; // the flush itself
    let (status, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "4 views"));
    assert_eq!(names(&log.take().await), ["EVALSHA", "SCRIPT", "EVALSHA"]);
}

#[actix_web::test]
async fn a_session_keeps_working_while_its_slot_migrates() {
    let cluster = RedisCluster::start();
    let app = counter(store(&cluster).await).await;
    let mut jar = Jar::default();
    let (_, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!(text, "1 views");

    let key = only_session_key(&cluster);
    let slot = cluster.slot_of(&key).to_string();
    let source = cluster.owner_of_slot(0, cluster.slot_of(&key));
    let target = cluster
        .masters(0)
        .into_iter()
        .find(|&master| master != source)
        .expect("another master");
    let (source_id, target_id) = (cluster.node_id(source), cluster.node_id(target));

    cluster.query(
        target,
        &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source_id],
    );
    cluster.query(
        source,
        &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target_id],
    );
    // Migrating, the key still on the source: served there.
    let (status, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "2 views"));

    let target_port = cluster.nodes()[target].port().to_string();
    cluster.query(
        source,
        &["MIGRATE", "127.0.0.1", &target_port, &key, "0", "5000"],
    );
    // The key moved, the slot not yet: the source answers ASK, the client follows it.
    let (status, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "3 views"));
    assert_eq!(keys_on(&cluster, target), std::slice::from_ref(&key));

    for master in cluster.masters(0) {
        cluster.query(master, &["CLUSTER", "SETSLOT", &slot, "NODE", &target_id]);
    }
    // The slot moved: MOVED, the client refreshes its slot map.
    let (status, text) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "4 views"));
    let (status, text) = send(&app, &mut jar, "GET", "/peek").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "4 views"));
    assert_eq!(cluster.owner_of_slot(0, cluster.slot_of(&key)), target);
}

#[actix_web::test]
async fn a_killed_master_fails_over_with_503s_only_and_no_wrong_answer() {
    const VISITORS: usize = 30;
    let mut cluster = RedisCluster::start();
    let store = RedisClusterStore::builder(cluster.urls())
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_secs(1))
        .connect()
        .await
        .expect("connect");
    let app = counter(store).await;
    let mut visitors = Visitors::start(&app, VISITORS).await;
    // Every replica has every write before the kill: a write acknowledged by the master
    // alone may be lost in a failover, by Redis's design, and that is not what we test.
    cluster.wait_for_replicas();
    let victim = cluster.masters(0)[0];
    let replica = cluster.replica_of(victim);
    let on_victim = cluster.query_int(victim, &["DBSIZE"]);
    assert!(on_victim > 0, "the master to kill holds sessions");
    // Should a loaded machine make the cluster fail over on its own before the kill, a
    // lost write would be Redis's doing, not the store's: rule that out here.
    let stored: i64 = cluster
        .masters(0)
        .into_iter()
        .map(|master| cluster.query_int(master, &["DBSIZE"]))
        .sum();
    assert_eq!(stored, VISITORS as i64, "every session is on a master");
    assert_eq!(
        cluster.query_int(replica, &["DBSIZE"]),
        on_victim,
        "the replica holds every session of its master"
    );

    cluster.node_mut(victim).stop();
    let report = visitors
        .ride_out(&app, Instant::now(), Duration::from_secs(40))
        .await;
    eprintln!(
        "cluster failover ({on_victim} of {VISITORS} sessions on the killed master): {report}"
    );
    assert_eq!(report.wrong, Vec::<String>::new(), "never a wrong answer");
    assert!(
        cluster.masters(replica).contains(&replica),
        "the replica of the killed master was promoted"
    );
    visitors.check_all_readable(&app).await;
}

/// Sessions on every master expire, and two app instances with a listener each report
/// each expiry once: the listener subscribes on every master, not only on one.
#[actix_web::test]
async fn expired_sessions_on_every_master_are_reported_once() {
    let cluster = RedisCluster::start();
    actix_typed_session_tests::expiry::run(
        || store(&cluster),
        12,
        || {
            let holding = cluster
                .masters(0)
                .into_iter()
                .filter(|&master| !keys_on(&cluster, master).is_empty())
                .count();
            assert!(holding >= 2, "sessions on {holding} master(s) only");
        },
    )
    .await;
}

/// A proxy in front of master `index`, which the cluster then announces in its place: a
/// client that learns the slot map reaches that master only through the proxy.
async fn proxy_in_front_of(cluster: &RedisCluster, index: usize) -> CutProxy {
    let proxy = CutProxy::start(cluster.nodes()[index].port()).await;
    let proxy_port = proxy.url().rsplit(':').next().expect("a port").to_owned();
    cluster.query(
        index,
        &["CONFIG", "SET", "cluster-announce-ip", "127.0.0.1"],
    );
    cluster.query(
        index,
        &["CONFIG", "SET", "cluster-announce-port", &proxy_port],
    );
    // Until the other nodes have heard of it through the cluster bus.
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy
}

/// The cluster client repeats a command whose connection dropped, out of the store's
/// sight. A renewal's create that landed, its answer lost, comes back from the repeat as a
/// collision with its own first copy: taken for one, the store gave up the index entry
/// the create had taken over, and the user was logged out.
#[actix_web::test]
async fn a_renewal_whose_answer_is_lost_keeps_the_user_logged_in() {
    use actix_typed_session::store::{CommitOutcome, IndexMoves, SessionStore, TakeOver};
    use actix_typed_session::SessionId;

    let cluster = RedisCluster::start();
    let cx = conformance::Cx::fields();
    let new = conformance::fresh_key();
    let owner = cluster.owner_of_slot(0, cluster.slot_of(new.as_str()));
    // The index on another master, so the proxy cuts only the create's answer.
    let index = loop {
        let index = conformance::fresh_index();
        if cluster.owner_of_slot(0, cluster.slot_of(index.as_str())) != owner {
            break index;
        }
    };
    // The master of the new session is reached through a proxy that can cut an answer.
    let proxy = proxy_in_front_of(&cluster, owner).await;
    let store = RedisClusterStore::connect([proxy.url()])
        .await
        .expect("connect");

    let old = conformance::fresh_key();
    let mut login = cx.create(&[("user", b"1")], SystemTime::now(), cx.long);
    login.index = IndexMoves {
        join: vec![index.clone()],
        ..IndexMoves::default()
    };
    let logged_in = store.commit(&old, &login).await.expect("login");
    assert_eq!(logged_in, CommitOutcome::Written);
    let retired = store.retire(&old, std::slice::from_ref(&index)).await;
    assert!(retired.expect("retire").is_some());
    // The renewal's create, as the middleware sends it: under a fresh id.
    let mut renewal = cx.create(&[("user", b"1")], SystemTime::now(), cx.long);
    renewal.fresh_id = true;
    renewal.index = IndexMoves {
        take_over: Some(TakeOver {
            from: SessionId::parse(old.id()).expect("a generated id"),
            indexes: vec![index.clone()],
        }),
        ..IndexMoves::default()
    };
    proxy.lose_answer_to(1);
    let renewed = store.commit(&new, &renewal).await.expect("renewal");
    assert!(proxy.answer_lost(), "the proxy cut no answer");
    assert_eq!(renewed, CommitOutcome::Written, "the renewal was saved");
    assert_eq!(
        conformance::listed(&store, &index).await,
        conformance::ids(&[&new]),
        "the new id took the old one's place"
    );
}

/// A connection to a master that dies without a word (no close, no reset) is replaced
/// once a fresh one answers: without that, every call for that master's keys timed out
/// until the kernel gave up on the connection. The calls that find it dead come from a
/// worker's runtime, which then ends, as workers do at shutdown: the connections replaced
/// are shared by every worker, and keep serving the others.
#[actix_web::test]
async fn a_node_connection_that_dies_without_a_word_is_replaced() {
    use actix_typed_session::store::{CommitOutcome, SessionStore};

    let cluster = RedisCluster::start();
    let cx = conformance::Cx::fields();
    let key = conformance::fresh_key();
    let owner = cluster.owner_of_slot(0, cluster.slot_of(key.as_str()));
    let proxy = proxy_in_front_of(&cluster, owner).await;
    let store = RedisClusterStore::builder([proxy.url()])
        .response_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(600))
        .connect()
        .await
        .expect("connect");
    let created = cx.create(&[("user", b"1")], SystemTime::now(), cx.long);
    assert_eq!(
        store.commit(&key, &created).await.expect("create"),
        CommitOutcome::Written
    );

    proxy.freeze_latest_connection();
    let on_worker = (store.clone(), key.clone(), cx.load_options());
    // This runtime keeps running the proxy meanwhile.
    let tries = tokio::task::spawn_blocking(move || {
        let (store, key, options) = on_worker;
        actix_rt::System::new().block_on(async move {
            let mut tries = 0;
            loop {
                tries += 1;
                match store.load(&key, options).await {
                    Ok(loaded) => {
                        assert!(loaded.is_some(), "the session outlived its connection");
                        return tries;
                    }
                    Err(err) if tries < 40 => eprintln!("try {tries}: {err}"),
                    Err(err) => panic!("the dead connection was in use after {tries} tries: {err}"),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    })
    .await
    .expect("the worker thread");
    assert!(tries > 1, "the frozen connection was not the one in use");
    eprintln!("a fresh connection served try {tries}");

    // The worker's runtime is gone; the connections it had replaced serve on.
    let loaded = store.load(&key, cx.load_options()).await;
    assert!(loaded.expect("a load after the worker ended").is_some());
}
