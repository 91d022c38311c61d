//! The middleware on a Redis that goes away and comes back: empty 503s while it is gone,
//! never a 2xx for a write that was not saved, and service on its own once it returns,
//! or once a connection that died without a word has been replaced.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::{Keys, SessionMiddleware};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::cut_proxy::CutProxy;
use actix_typed_session_tests::http::{body, set_cookies, Jar};
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use actix_web::{App, Error};

/// Requests tried, 100 ms apart, before recovery counts as failed: the store reconnects on
/// the first call after Redis is back, so one or two tries are expected.
const RECOVERY_TRIES: usize = 50;

/// A store on the Redis at `url`, with `timeout` for connecting and for each answer.
async fn store_at(url: String, timeout: Duration) -> RedisStore {
    RedisStore::builder()
        .url(url)
        .connect_timeout(timeout)
        .response_timeout(timeout)
        .connect()
        .await
        .expect("connect")
}

/// The counter app on `store`, and a client that has already counted once.
async fn counter_with_one_visit(
    store: RedisStore,
) -> (
    impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>,
    Jar,
) {
    let sessions =
        SessionMiddleware::new(store, Keys::new(["outage test key, long enough to sign"]));
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    assert_eq!(body(res).await, "1 views");
    (app, jar)
}

/// `GET /` with `jar`'s cookies, 100 ms apart, until it answers 200 or
/// [`RECOVERY_TRIES`] run out. Returns the last response and how many tries it took.
async fn count_until_ok<S, B>(app: &S, jar: &Jar) -> (ServiceResponse<B>, usize)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let res = test::call_service(app, jar.request("GET", "/").to_request()).await;
        if res.status() == StatusCode::OK || tries == RECOVERY_TRIES {
            return (res, tries);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_stopped_redis_gives_empty_503s_and_service_resumes_when_it_returns() {
    let mut server = RedisServer::start();
    let (app, mut jar) =
        counter_with_one_visit(store_at(server.url(), Duration::from_millis(300)).await).await;

    server.stop();
    for (who, method, path) in [
        (&jar, "GET", "/peek"),
        (&jar, "GET", "/"),
        (&Jar::default(), "GET", "/"),
    ] {
        let res = test::call_service(&app, who.request(method, path).to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert!(
            set_cookies(&res).is_empty(),
            "no cookie for a session that was not saved"
        );
        assert_eq!(body(res).await, "", "opaque: nothing internal in the body");
    }
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "routes without the session keep working"
    );

    server.restart();
    let (res, tries) = count_until_ok(&app, &jar).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "service did not resume after {tries} tries"
    );
    jar.absorb(&res);
    // The restarted server kept nothing (no persistence), so the old cookie found no
    // session and a new one was started.
    assert_eq!(body(res).await, "1 views");
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "2 views");
    eprintln!("recovered on try {tries}");
}

#[actix_web::test]
async fn a_hung_redis_gives_503s_bounded_by_the_timeout_and_no_worker_is_stuck() {
    let server = RedisServer::start();
    let timeout = Duration::from_millis(300);
    let (app, jar) = counter_with_one_visit(store_at(server.url(), timeout).await).await;

    server.pause();
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        // A load, then a write: the load times out and nothing is sent after it. (An
        // increment is one command, which a hung Redis runs once it wakes up although its
        // request was answered 503, as any write whose answer was lost.)
        let call = test::call_service(&app, jar.request("GET", "/modify").to_request());
        // Only there so a missing timeout fails the test instead of hanging it.
        let res = tokio::time::timeout(Duration::from_secs(15), call)
            .await
            .expect("a worker hung");
        slowest = slowest.max(started.elapsed());
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body(res).await, "");
        // The worker is free again: a route without the session answers at once.
        let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // A figure for the notes, not an assertion: shared machines are noisy.
    eprintln!("hung Redis: slowest 503 took {slowest:?} with a {timeout:?} response timeout");

    server.resume();
    let (res, tries) = count_until_ok(&app, &jar).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "service did not resume after {tries} tries"
    );
    assert_eq!(
        body(res).await,
        "2 views",
        "nothing was lost or written twice while hung"
    );
    eprintln!("recovered from the hang on try {tries}");
}

/// Counts once on `store`, freezes the connection that carried it, and counts until
/// served again. Returns how many tries that took.
async fn count_across_a_frozen_connection(store: RedisStore, proxy: &CutProxy) -> usize {
    let (app, mut jar) = counter_with_one_visit(store).await;
    // The connection now carries nothing and never closes: without a check, every call
    // would time out until the kernel gave up on it, some fifteen minutes.
    proxy.freeze_latest_connection();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

    let (res, tries) = count_until_ok(&app, &jar).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the dead connection was still in use after {tries} tries"
    );
    jar.absorb(&res);
    assert_eq!(
        body(res).await,
        "2 views",
        "the session outlived its connection"
    );
    tries
}

#[actix_web::test]
async fn a_connection_that_dies_without_a_word_is_replaced_once_a_fresh_one_answers() {
    let server = RedisServer::start();
    let proxy = CutProxy::start(server.port()).await;
    let store = store_at(proxy.url(), Duration::from_millis(300)).await;
    // The store's own connection, made by `connect`, serves this runtime.
    let tries = count_across_a_frozen_connection(store, &proxy).await;
    eprintln!("a fresh connection served try {tries}");
}

#[actix_web::test]
async fn a_worker_connection_that_dies_without_a_word_is_replaced_too() {
    let server = RedisServer::start();
    let proxy = Arc::new(CutProxy::start(server.port()).await);
    let store = store_at(proxy.url(), Duration::from_millis(300)).await;
    // Another runtime, as on an `HttpServer` worker: the store connects again there, and
    // that connection is the one frozen. This runtime keeps running the proxy meanwhile.
    let on_worker = proxy.clone();
    let tries = tokio::task::spawn_blocking(move || {
        actix_rt::System::new().block_on(count_across_a_frozen_connection(store, &on_worker))
    })
    .await
    .expect("the worker thread");
    eprintln!("a fresh worker connection served try {tries}");
}
