//! A connection that Redis dropped costs no request when the call can safely be made
//! again: after a restart or an outage, the first request is served, and a connection cut
//! before an index listing or a create is reconnected and the call made once more. A
//! create whose answer was lost after Redis carried it out is one session, not two. An
//! update is never sent twice: its repeat could undo another request's write.

use std::fmt::Debug;
use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::{
    Compat, Keys, Session, SessionData, SessionError, SessionMiddleware, TtlPolicy,
};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::cut_proxy::CutProxy;
use actix_typed_session_tests::failover::send;
use actix_typed_session_tests::http::{set_cookies, Jar};
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error};

#[derive(SessionData)]
struct Visit {
    views: u64,
    #[session(index)]
    user: Option<String>,
}

/// Closes every ordinary client connection to the server but the one asking: the store's
/// connection then fails on its next command, as after a restart or a failover.
async fn cut_connections(server: &redis::Client) {
    let mut conn = server
        .get_multiplexed_async_connection()
        .await
        .expect("a connection of the test's own");
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query_async(&mut conn)
        .await
        .expect("CLIENT KILL");
}

/// `GET /cut`: views += 1, with the store's connection cut after the load.
async fn count_after_cut(mut session: Session<Visit>, server: web::Data<redis::Client>) -> String {
    let views = *session.views() + 1;
    cut_connections(&server).await;
    session.set_views(views);
    format!("{views} views")
}

/// `POST /login`: logs `ada` in, keeping the id.
async fn login(mut session: Session<Visit>) -> &'static str {
    session.set_user(Some("ada".to_owned()));
    "welcome"
}

/// `GET /sessions-after-cut`: how many sessions the user has, listed after the store's
/// connection was cut.
async fn list_after_cut(
    session: Session<Visit>,
    server: web::Data<redis::Client>,
) -> Result<String, SessionError> {
    cut_connections(&server).await;
    Ok(format!("{} sessions", session.sessions().await?.len()))
}

/// The counter's routes on `server`, plus the ones above.
async fn app(
    server: &RedisServer,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    app_through(server, &server.url(), None).await
}

/// As [`app`], with the store connected to `url` (a proxy of `server`) and the session
/// format of `compat`.
async fn app_through(
    server: &RedisServer,
    url: &str,
    compat: Option<Compat>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let store = RedisStore::connect(url).await.expect("connect");
    let mut sessions = SessionMiddleware::builder(
        store,
        Keys::new(["reconnect test key, long enough to sign"]),
    );
    if let Some(compat) = compat {
        sessions = sessions.compat(compat);
    }
    let sessions = sessions.build();
    test::init_service(
        App::new()
            .app_data(web::Data::new(server.client()))
            .wrap(sessions)
            .configure(counter_app::routes)
            .route("/cut", web::get().to(count_after_cut))
            .route("/login-keeping-id", web::post().to(login))
            .route("/sessions-after-cut", web::get().to(list_after_cut)),
    )
    .await
}

#[actix_web::test]
async fn the_first_request_after_a_redis_restart_is_served_with_the_session_kept() {
    let mut server = RedisServer::start_persistent();
    let app = app(&server).await;
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 views");

    // Redis goes and comes back with its data; the store's connection is dead and does
    // not know it yet.
    server.restart();
    // `/modify`: its load is made again on the fresh connection. An increment (`GET /`)
    // is not: it may have landed before the connection died, and a repeat would count
    // twice, so the first one on each dead connection answers 503.
    assert_eq!(
        send(&app, &mut jar, "GET", "/modify").await,
        (StatusCode::OK, "2 views".to_owned()),
        "the first request after the restart"
    );
    assert_eq!(send(&app, &mut jar, "GET", "/peek").await.1, "2 views");
}

/// While Redis is down the store's reconnection fails, and the connection it holds is that
/// failure: the first request after Redis is back finds it, and is served all the same.
#[actix_web::test]
async fn the_first_request_after_an_outage_is_served_with_the_session_kept() {
    let mut server = RedisServer::start_persistent();
    let app = app(&server).await;
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 views");

    server.stop();
    let (status, _) = send(&app, &mut jar, "GET", "/").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "while Redis is down"
    );
    // Time for the reconnection that request set off to fail: refused at once, retried
    // once after a backoff of a few hundred milliseconds at most.
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.start_again();
    assert_eq!(
        send(&app, &mut jar, "GET", "/modify").await,
        (StatusCode::OK, "2 views".to_owned()),
        "the first request after Redis is back"
    );
}

/// An update whose first try may have landed is not sent again: another request could
/// have written the same field since, and the repeat would undo that. So a cut just
/// before an update is an empty 503, and the count stays where it was.
#[actix_web::test]
async fn an_update_whose_connection_was_cut_after_the_load_is_not_sent_twice() {
    let server = RedisServer::start();
    let app = app(&server).await;
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 views");

    assert_eq!(
        send(&app, &mut jar, "GET", "/cut").await,
        (StatusCode::SERVICE_UNAVAILABLE, String::new())
    );
    assert_eq!(send(&app, &mut jar, "GET", "/peek").await.1, "1 views");
}

#[actix_web::test]
async fn an_index_listing_whose_connection_was_cut_is_served() {
    let server = RedisServer::start();
    let app = app(&server).await;
    let mut jar = Jar::default();
    assert_eq!(
        send(&app, &mut jar, "POST", "/login-keeping-id").await.1,
        "welcome"
    );

    assert_eq!(
        send(&app, &mut jar, "GET", "/sessions-after-cut").await,
        (StatusCode::OK, "1 sessions".to_owned())
    );
}

/// Keys in the server's database.
async fn key_count(server: &RedisServer) -> i64 {
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a connection of the test's own");
    redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap()
}

#[actix_web::test]
async fn a_create_whose_connection_was_cut_before_it_is_made_on_the_second_try() {
    let server = RedisServer::start();
    let app = app(&server).await;
    let mut jar = Jar::default();

    // A new visitor: no load, so the create is the first command on the cut connection.
    assert_eq!(
        send(&app, &mut jar, "GET", "/cut").await,
        (StatusCode::OK, "1 views".to_owned())
    );
    assert_eq!(key_count(&server).await, 1, "one session");
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "2 views");
}

/// Redis carried out the create, and the answer was lost with the connection: the second
/// try finds the session the first one wrote. Taking it for a collision would store the
/// session again under another id, and list the user twice in the index.
#[actix_web::test]
async fn a_create_that_landed_before_its_answer_was_lost_is_one_session_not_two() {
    // In the JSON layout the index join is a call of its own, before the create.
    for (compat, create_is_request) in [(None, 1), (Some(Compat::KoaSession), 2)] {
        let server = RedisServer::start();
        let proxy = CutProxy::start(server.port()).await;
        let app = app_through(&server, &proxy.url(), compat).await;
        let mut jar = Jar::default();

        proxy.lose_answer_to(create_is_request);
        // A new visitor logs in: one create, which joins the user's index.
        let (status, text) = send(&app, &mut jar, "POST", "/login").await;
        assert!(
            proxy.answer_lost(),
            "{compat:?}: the create's answer was lost"
        );
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::OK, "welcome"),
            "{compat:?}"
        );
        assert_eq!(
            key_count(&server).await,
            2,
            "{compat:?}: one session and the user's index"
        );
        let (status, listed) = send(&app, &mut jar, "GET", "/sessions").await;
        assert_eq!(status, StatusCode::OK, "{compat:?}");
        assert_eq!(listed.lines().count(), 1, "{compat:?}: {listed:?}");
        assert_eq!(
            send(&app, &mut jar, "GET", "/").await.1,
            "1 views",
            "{compat:?}"
        );
    }
}

/// With a refresh threshold, a load whose answer was lost after it pushed the expiry back
/// finds plenty of time left on its second try; the cookie must follow all the same, or it
/// would expire while the session lives on.
#[actix_web::test]
async fn a_threshold_refresh_whose_answer_was_lost_still_sends_the_cookie() {
    let server = RedisServer::start();
    let proxy = CutProxy::start(server.port()).await;
    let store = RedisStore::connect(&proxy.url()).await.expect("connect");
    let sessions = SessionMiddleware::builder(
        store,
        Keys::new(["reconnect test key, long enough to sign"]),
    )
    .max_age(Duration::from_secs(60))
    .ttl_policy(TtlPolicy::WhenLessThan(Duration::from_secs(30)))
    .build();
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 views");
    let mut conn = server.connection().await;
    let key: Vec<String> = redis::cmd("KEYS")
        .arg("session:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key[0])
        .arg(10_000)
        .query_async(&mut conn)
        .await
        .unwrap();

    proxy.lose_answer_to(1);
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert!(proxy.answer_lost(), "the load's answer was lost");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !set_cookies(&res).is_empty(),
        "the cookie follows the refreshed expiry"
    );
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 50_000, "refreshed: {pttl} ms left");
}
