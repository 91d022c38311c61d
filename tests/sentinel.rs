//! The store through Sentinel (a master, a replica, a sentinel): the conformance suite, a
//! master killed mid-test, the sentinel promoting the replica, the store following it, and
//! a master restarted in place, which costs no request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_typed_session::store::{ExpiryNotifications, RedisSentinelStore, SessionStore};
use actix_typed_session::{Keys, SessionEvent, SessionEventKind, SessionId, SessionMiddleware};
use actix_typed_session_tests::conformance;
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::failover::{send, Visitors};
use actix_typed_session_tests::http::Jar;
use actix_typed_session_tests::sentinel::{SentinelSetup, MASTER_NAME};
use actix_web::http::StatusCode;
use actix_web::{test, App};

#[actix_web::test]
async fn sentinel_store_conforms() {
    let setup = SentinelSetup::start();
    let store = RedisSentinelStore::connect([setup.sentinel_url()], MASTER_NAME)
        .await
        .expect("connect through the sentinel");
    conformance::run(&store).await;
    conformance::run_in(&store, &conformance::Cx::json()).await;
    actix_typed_session_tests::admin::run(store).await;
}

#[actix_web::test]
async fn the_sessions_on_the_master_are_counted() {
    let setup = SentinelSetup::start();
    let store = RedisSentinelStore::connect([setup.sentinel_url()], MASTER_NAME)
        .await
        .expect("connect through the sentinel");
    let created = conformance::create(
        &[("a", b"1")],
        conformance::now_ms(),
        Duration::from_secs(60),
    );
    for _ in 0..3 {
        let key = conformance::fresh_key();
        store.commit(&key, &created).await.expect("commit");
    }
    assert_eq!(
        store.count_sessions("conformance:").await.expect("count"),
        3
    );
    assert_eq!(store.count_sessions("session:").await.expect("count"), 0);
}

/// A store that gives up on a dead master quickly, for tests that kill it.
async fn quick_to_give_up(setup: &SentinelSetup) -> RedisSentinelStore {
    RedisSentinelStore::builder([setup.sentinel_url()], MASTER_NAME)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("connect through the sentinel")
}

#[actix_web::test]
async fn the_store_follows_a_failover_with_503s_only_and_no_wrong_answer() {
    const VISITORS: usize = 10;
    let mut setup = SentinelSetup::start();
    let store = quick_to_give_up(&setup).await;
    let sessions =
        SessionMiddleware::new(store, Keys::new(["sentinel test key, long enough to sign"]));
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let mut visitors = Visitors::start(&app, VISITORS).await;
    // A write the replica never received is lost in a failover, by Redis's design: not
    // what this test is about.
    setup.wait_for_replica();
    let replica_port = setup.servers()[1].port();

    setup.server_mut(0).stop();
    let report = visitors
        .ride_out(&app, Instant::now(), Duration::from_secs(40))
        .await;
    eprintln!("sentinel failover: {report}");
    assert_eq!(report.wrong, Vec::<String>::new(), "never a wrong answer");
    assert!(report.failures > 0, "the outage was seen");
    assert_eq!(
        setup.master_port(),
        replica_port,
        "the sentinel promoted the replica"
    );
    visitors.check_all_readable(&app).await;
}

#[actix_web::test]
async fn the_first_request_after_the_master_restarts_is_served() {
    let mut setup = SentinelSetup::start();
    let store = RedisSentinelStore::connect([setup.sentinel_url()], MASTER_NAME)
        .await
        .expect("connect through the sentinel");
    let sessions =
        SessionMiddleware::new(store, Keys::new(["sentinel test key, long enough to sign"]));
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 views");

    // Back before the sentinel counts it as down, so no failover; the store's connection
    // is dead and does not know it yet. The master kept nothing (no persistence).
    setup.server_mut(0).restart();
    // `/modify`: its load is made again on a fresh connection. An increment (`GET /`) is
    // not (a repeat could count twice): the first one on a dead connection answers 503.
    assert_eq!(
        send(&app, &mut jar, "GET", "/modify").await,
        (StatusCode::OK, "1 views".to_owned()),
        "the first request after the restart: a fresh session"
    );
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "2 views");
}

/// Sessions on the master the sentinel names expire, and two app instances with a
/// listener each report each expiry once.
#[actix_web::test]
async fn expired_sessions_are_reported_once_through_sentinel() {
    let setup = SentinelSetup::start();
    let connect = || async {
        RedisSentinelStore::connect([setup.sentinel_url()], MASTER_NAME)
            .await
            .expect("connect through the sentinel")
    };
    actix_typed_session_tests::expiry::run(connect, 4, || {}).await;
}

/// After the sentinel promotes the replica, the listener subscribes on the new master: a
/// session made there and expired is reported.
#[actix_web::test]
async fn the_expiry_listener_follows_a_failover() {
    let mut setup = SentinelSetup::start();
    let store = quick_to_give_up(&setup).await;
    let expired = Arc::new(Mutex::new(Vec::new()));
    let hook = {
        let expired = Arc::clone(&expired);
        move |event: &SessionEvent| {
            if event.kind() == SessionEventKind::Expired {
                expired
                    .lock()
                    .expect("lock")
                    .push(event.fingerprint().to_owned());
            }
        }
    };
    let sessions = SessionMiddleware::builder(
        store.clone(),
        Keys::new(["sentinel test key, long enough to sign"]),
    )
    .ttl(Duration::from_secs(1))
    .on_event(hook)
    .build();
    let _listener = store
        .expiry_events(sessions.events(), ExpiryNotifications::Configure)
        .await
        .expect("listen");
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let replica_port = setup.servers()[1].port();

    setup.server_mut(0).stop();
    let deadline = Instant::now() + Duration::from_secs(40);
    while setup.master_port() != replica_port {
        assert!(
            Instant::now() < deadline,
            "the sentinel promoted no replica"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let mut jar = Jar::default();
    while send(&app, &mut jar, "GET", "/").await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the new master never served");
        jar = Jar::default();
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let id = jar.get("session").map(|cookie| cookie.value().to_owned());
    let fingerprint = SessionId::parse(&id.expect("a session cookie"))
        .expect("an id")
        .fingerprint();
    let deadline = Instant::now() + Duration::from_secs(20);
    while expired.lock().expect("lock").is_empty() && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(*expired.lock().expect("lock"), [fingerprint]);
}
