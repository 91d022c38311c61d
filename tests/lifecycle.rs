//! The session lifecycle against a real Redis: TTL policies, idle and absolute timeouts,
//! guest sessions, failure modes, size limits, renewal races and key rotation.

use std::time::Duration;

use actix_typed_session::store::RedisStore;
use actix_typed_session::{
    IdTransport, Keys, Session, SessionMiddleware, SessionMiddlewareBuilder, TtlPolicy,
};
use actix_typed_session_tests::counter_app::{self, Visit};
use actix_typed_session_tests::http::{body, set_cookies, Jar};
use actix_typed_session_tests::keys::pttl;
use actix_typed_session_tests::{names, CommandLog, RedisServer};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::SameSite;
use actix_web::http::header::HeaderName;
use actix_web::http::StatusCode;
use actix_web::test;
use actix_web::{web, App, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use redis::aio::MultiplexedConnection;

const KEY: &str = "lifecycle test key, long enough to sign";
/// A rotation's keys, each long enough to sign.
const OLD_KEY: &str = "the old key, retired after a rotation";
const NEW_KEY: &str = "the new key, which signs after a rotation";

/// `GET /big?n=N`: stores a user name of `n` bytes.
async fn big(mut session: Session<Visit>, query: web::Query<Big>) -> HttpResponse {
    session.set_user(Some("x".repeat(query.n)));
    HttpResponse::Ok().finish()
}

/// `POST /big-login?n=N`: the same, and renews the id.
async fn big_login(mut session: Session<Visit>, query: web::Query<Big>) -> HttpResponse {
    session.set_user(Some("x".repeat(query.n)));
    session.renew();
    HttpResponse::Ok().finish()
}

#[derive(serde::Deserialize)]
struct Big {
    n: usize,
}

macro_rules! app {
    ($builder:expr) => {
        test::init_service(
            App::new()
                .wrap($builder.build())
                .configure(counter_app::routes)
                .route("/big", web::get().to(big))
                .route("/big-login", web::post().to(big_login)),
        )
        .await
    };
}

async fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder()
        .port(server.port())
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("connect")
}

async fn builder(server: &RedisServer) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(store(server).await, Keys::new([KEY]))
}

async fn raw(server: &RedisServer) -> MultiplexedConnection {
    server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

/// The Redis key of the session the jar holds.
fn key_of(jar: &Jar) -> String {
    format!(
        "session:{}",
        jar.get("session").expect("a session cookie").value()
    )
}

async fn pexpire(conn: &mut MultiplexedConnection, key: &str, ms: i64) {
    let _: i64 = redis::cmd("PEXPIRE")
        .arg(key)
        .arg(ms)
        .query_async(conn)
        .await
        .unwrap();
}

/// How many session keys Redis holds; the per-user index keys are not sessions.
async fn stored_sessions(conn: &mut MultiplexedConnection) -> i64 {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap();
    keys.iter().filter(|key| !key.contains(":index:")).count() as i64
}

async fn hget(conn: &mut MultiplexedConnection, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query_async(conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_threshold_policy_refreshes_only_below_it_within_the_load_and_resends_the_cookie_then()
{
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server)
        .await
        .max_age(Duration::from_secs(60))
        .ttl_policy(TtlPolicy::WhenLessThan(Duration::from_secs(30))));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let key = key_of(&jar);

    let mut log = CommandLog::start(&server).await;
    // Plenty left: the read neither moves the expiry nor re-sends the cookie.
    pexpire(&mut conn, &key, 50_000).await;
    log.take().await;
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert!(set_cookies(&res).is_empty(), "the expiry did not move");
    assert_eq!(body(res).await, "1 views");
    assert_eq!(names(&log.take().await), ["EVALSHA"], "one round trip");
    assert!(pttl(&mut conn, &key).await <= 50_000, "not refreshed");

    // Below the threshold: the same single round trip refreshes, and the cookie follows.
    pexpire(&mut conn, &key, 10_000).await;
    log.take().await;
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    let cookies = set_cookies(&res);
    assert_eq!(body(res).await, "1 views");
    assert_eq!(
        names(&log.take().await),
        ["EVALSHA"],
        "still one round trip"
    );
    assert!(
        pttl(&mut conn, &key).await > 50_000,
        "refreshed to the full TTL"
    );
    let session = cookies
        .iter()
        .find(|c| c.name() == "session")
        .expect("re-sent");
    assert_eq!(session.max_age(), Some(CookieDuration::seconds(60)));
}

#[actix_web::test]
async fn on_change_never_resends_a_persistent_cookie_on_a_read() {
    let server = RedisServer::start();
    let app = app!(builder(&server)
        .await
        .max_age(Duration::from_secs(60))
        .ttl_policy(TtlPolicy::OnChange));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert!(set_cookies(&res).is_empty());
}

#[actix_web::test]
async fn a_session_past_its_absolute_timeout_is_deleted_and_replaced_though_used_constantly() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server)
        .await
        .absolute_timeout(Duration::from_millis(1500)));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let first = key_of(&jar);
    let mut views = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "expiry is never an error");
        jar.absorb(&res);
        views.push(body(res).await);
    }
    let restart = views.iter().position(|v| v == "1 views");
    assert!(
        restart.is_some_and(|at| at >= 4),
        "the session should restart after 1.5 s, not before: {views:?}"
    );
    assert_ne!(key_of(&jar), first, "a new id");
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&first)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the old session was deleted");
}

#[actix_web::test]
async fn a_session_whose_creation_time_does_not_parse_is_timed_from_our_first_write() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server)
        .await
        .absolute_timeout(Duration::from_secs(3600)));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let key = key_of(&jar);
    // As another program might have written it. (A hash without `__created` at all is no
    // session: see tests/bad_redis_data.rs.)
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("__created")
        .arg("yesterday")
        .query_async(&mut conn)
        .await
        .unwrap();
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views", "unknown age is not expiry");
    assert_eq!(
        hget(&mut conn, &key, "__created").await.as_deref(),
        Some("yesterday"),
        "a read writes nothing"
    );
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "2 views");
    let stamped = hget(&mut conn, &key, "__created").await.expect("stamped");
    assert!(stamped.parse::<u64>().is_ok(), "{stamped}");
}

#[actix_web::test]
async fn guest_sessions_store_a_session_for_every_new_visitor_when_asked() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server).await.save_uninitialized(true));
    let mut jar = Jar::default();
    // A route that never touches the session still starts one for a new visitor.
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    assert_eq!(set_cookies(&res).len(), 2, "session and session.sig");
    jar.absorb(&res);
    assert_eq!(stored_sessions(&mut conn).await, 1);
    assert!(hget(&mut conn, &key_of(&jar), "__created").await.is_some());
    // A returning guest costs nothing more.
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    assert!(set_cookies(&res).is_empty());
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "1 views");
    assert_eq!(stored_sessions(&mut conn).await, 1);
    // A reader that is new gets one too.
    let res = test::call_service(&app, Jar::default().request("GET", "/peek").to_request()).await;
    assert_eq!(set_cookies(&res).len(), 2);
    assert_eq!(stored_sessions(&mut conn).await, 2);

    // Off (the default): nothing stored, no cookie.
    let app = app!(builder(&server).await);
    let res = test::call_service(&app, Jar::default().request("GET", "/peek").to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(stored_sessions(&mut conn).await, 2);
}

#[actix_web::test]
async fn fail_open_goes_on_with_a_fresh_unsaved_session_and_fail_closed_gives_503() {
    let mut server = RedisServer::start();
    let open = app!(builder(&server).await.fail_open(true));
    let closed = app!(builder(&server).await);
    let mut jar = Jar::default();
    let res = test::call_service(&open, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let res = test::call_service(&open, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "2 views");

    server.stop();
    for who in [&jar, &Jar::default()] {
        let res = test::call_service(&open, who.request("GET", "/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "fail-open");
        assert!(set_cookies(&res).is_empty(), "nothing saved, no cookie");
        assert_eq!(body(res).await, "1 views", "a fresh session");

        let res = test::call_service(&closed, who.request("GET", "/").to_request()).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "fail-closed");
        assert!(set_cookies(&res).is_empty());
        assert_eq!(body(res).await, "");
    }
}

#[actix_web::test]
async fn a_commit_over_the_size_limit_writes_nothing_and_gives_an_empty_500() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server).await.max_session_size(64));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let key = key_of(&jar);

    // Fits: "views" + "1" + "user" + "\"" + 40 bytes + "\"".
    let res = test::call_service(&app, jar.request("GET", "/big?n=40").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    for (method, path) in [("GET", "/big?n=60"), ("POST", "/big-login?n=60")] {
        let res = test::call_service(&app, jar.request(method, path).to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(set_cookies(&res).is_empty());
        assert_eq!(body(res).await, "", "opaque");
        let user = hget(&mut conn, &key, "user").await.expect("still there");
        assert_eq!(user.len(), 42, "the stored session is unchanged");
        assert_eq!(stored_sessions(&mut conn).await, 1, "no renewal happened");
    }
    // A new visitor over the limit stores nothing either.
    let res = test::call_service(
        &app,
        Jar::default().request("GET", "/big?n=100").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(stored_sessions(&mut conn).await, 1);
}

#[actix_web::test]
async fn a_session_already_over_the_size_limit_can_change_in_place_and_end_but_not_grow() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server).await.max_session_size(64));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let key = key_of(&jar);
    // Another program puts a field in that alone is over the limit.
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("theirs")
        .arg(format!("\"{}\"", "x".repeat(100)))
        .query_async(&mut conn)
        .await
        .unwrap();

    // "1" to "2" keeps the size: served and stored, not a 500 on every write.
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "2 views");
    assert_eq!(hget(&mut conn, &key, "views").await.as_deref(), Some("2"));
    // Growing it is refused, and writes nothing.
    let res = test::call_service(&app, jar.request("GET", "/big?n=10").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(hget(&mut conn, &key, "user").await, None);
    // Ending it works: the user can always log out.
    let res = test::call_service(&app, jar.request("POST", "/logout").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(stored_sessions(&mut conn).await, 0);
}

#[actix_web::test]
async fn two_concurrent_renewals_leave_one_live_id_with_the_data() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server).await);
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);

    let (a, b) = tokio::join!(
        test::call_service(&app, jar.request("POST", "/login").to_request()),
        test::call_service(&app, jar.request("POST", "/login").to_request()),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE],
        "one wins, the other is told the session ended"
    );
    let (winner, loser) = if a.status() == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    let removal = set_cookies(&loser);
    assert!(
        !removal.is_empty() && removal.iter().all(|c| c.value().is_empty()),
        "the loser clears the cookie: {removal:?}"
    );
    assert_eq!(stored_sessions(&mut conn).await, 1, "exactly one live id");
    let mut won = jar.clone();
    won.absorb(&winner);
    assert_ne!(key_of(&won), key_of(&jar));
    let res = test::call_service(&app, won.request("GET", "/whoami").to_request()).await;
    assert_eq!(body(res).await, "ada");
    let res = test::call_service(&app, won.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views", "the data came along");
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "0 views", "the old id carries nothing");
}

#[actix_web::test]
async fn a_cookie_signed_with_an_older_key_is_reissued_with_all_its_attributes() {
    let server = RedisServer::start();
    let configure = |builder: SessionMiddlewareBuilder| {
        builder
            .max_age(Duration::from_secs(3600))
            .cookie_path("/app")
            .cookie_domain("example.com")
            .cookie_secure(true)
            .cookie_same_site(SameSite::Strict)
            .ttl_policy(TtlPolicy::OnChange)
    };
    let old = store(&server).await;
    let old = app!(configure(SessionMiddleware::builder(
        old,
        Keys::new([OLD_KEY])
    )));
    let mut jar = Jar::default();
    let res = test::call_service(&old, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let id = jar.get("session").unwrap().value().to_owned();
    let old_sig = jar.get("session.sig").unwrap().value().to_owned();

    let rotated = store(&server).await;
    let rotated = app!(configure(SessionMiddleware::builder(
        rotated,
        Keys::new([NEW_KEY, OLD_KEY])
    )));
    // A read only: without the rotation nothing would be sent (OnChange).
    let res = test::call_service(&rotated, jar.request("GET", "/peek").to_request()).await;
    let cookies = set_cookies(&res);
    assert_eq!(body(res).await, "1 views");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert_eq!(
            cookie.max_age(),
            Some(CookieDuration::seconds(3600)),
            "{cookie}"
        );
        assert_eq!(cookie.path(), Some("/app"), "{cookie}");
        assert_eq!(cookie.domain(), Some("example.com"), "{cookie}");
        assert_eq!(cookie.secure(), Some(true), "{cookie}");
        assert_eq!(cookie.same_site(), Some(SameSite::Strict), "{cookie}");
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    }
    assert_eq!(cookies[0].value(), id, "same id");
    assert_ne!(cookies[1].value(), old_sig, "signed anew");
    let mut resigned = jar.clone();
    resigned.set("session.sig", cookies[1].value());

    // Once the old key is gone, only the re-signed cookie is accepted.
    let new_only = store(&server).await;
    let new_only = app!(configure(SessionMiddleware::builder(
        new_only,
        Keys::new([NEW_KEY])
    )));
    let res = test::call_service(&new_only, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "0 views", "the old signature is rejected");
    let res = test::call_service(&new_only, resigned.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views");
}

/// The `x-session-id` value a response carried, if any.
fn header_of<B>(res: &actix_web::dev::ServiceResponse<B>, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII").to_owned())
}

fn get_with(path: &str, name: &str, value: &str) -> actix_http::Request {
    test::TestRequest::get()
        .uri(path)
        .insert_header((name, value))
        .to_request()
}

#[actix_web::test]
async fn a_header_transport_carries_a_signed_id_both_ways_and_ends_with_an_empty_header() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server)
        .await
        .id_transport(IdTransport::Header)
        .id_header(HeaderName::from_static("x-sid")));
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert!(
        set_cookies(&res).is_empty(),
        "no cookies with a header transport"
    );
    let value = header_of(&res, "x-sid").expect("the id in the response header");
    assert_eq!(body(res).await, "1 views");

    // `<id>.<keygrip signature over "x-sid=<id>">`.
    let (id, signature) = value.split_once('.').expect("id.signature");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(format!("x-sid={id}").as_bytes());
    assert_eq!(
        signature,
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );

    let res = test::call_service(&app, get_with("/", "x-sid", &value)).await;
    assert_eq!(header_of(&res, "x-sid"), None, "nothing new to hand out");
    assert_eq!(body(res).await, "2 views");

    // Forged, unsigned or sent as a cookie: no session.
    for forged in [format!("{id}.{}", "A".repeat(43)), id.to_owned()] {
        let res = test::call_service(&app, get_with("/peek", "x-sid", &forged)).await;
        assert_eq!(body(res).await, "0 views", "{forged}");
    }
    let res = test::call_service(&app, get_with("/peek", "cookie", &format!("session={id}"))).await;
    assert_eq!(body(res).await, "0 views");

    // Renewal hands out the new id in the header; purge sends it back empty.
    let login = test::TestRequest::post()
        .uri("/login")
        .insert_header(("x-sid", value.as_str()))
        .to_request();
    let res = test::call_service(&app, login).await;
    let renewed = header_of(&res, "x-sid").expect("the renewed id");
    assert_ne!(renewed, value);
    assert_eq!(stored_sessions(&mut conn).await, 1);
    let res = test::call_service(&app, get_with("/whoami", "x-sid", &renewed)).await;
    assert_eq!(body(res).await, "ada");
    let logout = test::TestRequest::post()
        .uri("/logout")
        .insert_header(("x-sid", renewed.as_str()))
        .to_request();
    let res = test::call_service(&app, logout).await;
    assert_eq!(
        header_of(&res, "x-sid").as_deref(),
        Some(""),
        "empty: forget the id"
    );
    assert_eq!(stored_sessions(&mut conn).await, 0);
}

#[actix_web::test]
async fn both_transports_accept_either_and_hand_out_both() {
    let server = RedisServer::start();
    let app = app!(builder(&server).await.id_transport(IdTransport::Both));
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(set_cookies(&res).len(), 2);
    let value = header_of(&res, "x-session-id").expect("the default header name");
    let mut jar = Jar::default();
    jar.absorb(&res);
    let res = test::call_service(&app, get_with("/", "x-session-id", &value)).await;
    assert_eq!(body(res).await, "2 views");
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "3 views");
}

#[actix_web::test]
async fn a_guest_whose_session_ended_gets_a_new_one_when_a_handler_loads_it() {
    let server = RedisServer::start();
    let mut conn = raw(&server).await;
    let app = app!(builder(&server).await.save_uninitialized(true));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    jar.absorb(&res);
    let first = key_of(&jar);
    let _: i64 = redis::cmd("DEL")
        .arg(&first)
        .query_async(&mut conn)
        .await
        .unwrap();
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    jar.absorb(&res);
    assert_eq!(body(res).await, "0 views");
    assert_ne!(key_of(&jar), first, "a new guest session, not a removal");
    assert_eq!(stored_sessions(&mut conn).await, 1);
}

#[actix_web::test]
async fn an_expired_session_costs_one_delete_on_top_of_the_usual_round_trips() {
    let server = RedisServer::start();
    let app = app!(builder(&server)
        .await
        .absolute_timeout(Duration::from_millis(300)));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    let mut log = CommandLog::start(&server).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(body(res).await, "1 views");
    let traffic = log.take_traffic().await;
    assert_eq!(
        names(&traffic.commands),
        ["HGETALL", "PTTL", "PEXPIRE", "DEL", "HSET", "PEXPIRE"],
        "load, delete the expired session, create the new one"
    );
    assert_eq!(traffic.round_trips, 3);
}
