//! The store through Sentinel (a master, a replica, a sentinel): the conformance suite, and
//! a master killed mid-test, the sentinel promoting the replica, the store following it.

use std::time::{Duration, Instant};

use actix_typed_session::store::RedisSentinelStore;
use actix_typed_session::{Keys, SessionMiddleware};
use actix_typed_session_tests::conformance;
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::failover::Visitors;
use actix_typed_session_tests::sentinel::{SentinelSetup, MASTER_NAME};
use actix_web::{test, App};

#[tokio::test]
async fn sentinel_store_conforms() {
    let setup = SentinelSetup::start();
    let store = RedisSentinelStore::connect([setup.sentinel_url()], MASTER_NAME)
        .await
        .expect("connect through the sentinel");
    conformance::run(&store).await;
    conformance::run_in(&store, &conformance::Cx::json()).await;
}

#[actix_web::test]
async fn the_store_follows_a_failover_with_503s_only_and_no_wrong_answer() {
    const VISITORS: usize = 10;
    let mut setup = SentinelSetup::start();
    let store = RedisSentinelStore::builder([setup.sentinel_url()], MASTER_NAME)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("connect through the sentinel");
    let sessions = SessionMiddleware::new(store, Keys::new(["sentinel test key"]));
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
