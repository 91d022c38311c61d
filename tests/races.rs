//! Requests racing on one session against a real Redis, in both layouts, with random
//! delays so each trial interleaves differently: concurrent writes to different fields
//! all land, a logout is never undone by a write racing it, two renewals leave one
//! session with the data, writes answered while a renewal runs move with the session, a renewal racing "sign out everywhere" never escapes it, and a
//! write racing expiry never leaves a partial record.
//!
//! `RACE_TRIALS` sets the trials of the logout race (default below); the others scale
//! with it.

use std::fmt::Debug;
use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::{Keys, Session, SessionData, SessionMiddleware, TtlPolicy};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::layout::Layout;
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error, HttpResponse};
use futures_util::future::join_all;
use redis::aio::MultiplexedConnection;

const DEFAULT_TRIALS: usize = 200;

fn trials() -> usize {
    std::env::var("RACE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TRIALS)
}

/// A session with many fields, for writers that each change a different one.
#[derive(SessionData, Clone)]
struct Wide {
    f0: Option<usize>,
    f1: Option<usize>,
    f2: Option<usize>,
    f3: Option<usize>,
    f4: Option<usize>,
    f5: Option<usize>,
    f6: Option<usize>,
    f7: Option<usize>,
    f8: Option<usize>,
    f9: Option<usize>,
    f10: Option<usize>,
    f11: Option<usize>,
}

const FIELDS: usize = 12;

fn slots(wide: &mut Wide) -> [&mut Option<usize>; FIELDS] {
    [
        &mut wide.f0,
        &mut wide.f1,
        &mut wide.f2,
        &mut wide.f3,
        &mut wide.f4,
        &mut wide.f5,
        &mut wide.f6,
        &mut wide.f7,
        &mut wide.f8,
        &mut wide.f9,
        &mut wide.f10,
        &mut wide.f11,
    ]
}

/// `GET /set/{n}`: field `n` := `n`.
async fn set_field(mut session: Session<Wide>, n: web::Path<usize>) -> HttpResponse {
    let n = n.into_inner();
    session.modify(|wide| slots(wide).into_iter().nth(n).map(|slot| *slot = Some(n)));
    HttpResponse::Ok().finish()
}

/// `GET /fields`: the numbers of the fields that are set, comma-separated.
async fn show_fields(session: Session<Wide>) -> String {
    let mut wide = session.read().clone();
    let set: Vec<String> = slots(&mut wide)
        .into_iter()
        .filter_map(|slot| slot.map(|n| n.to_string()))
        .collect();
    set.join(",")
}

#[derive(serde::Deserialize)]
struct Slow {
    ms: u64,
}

/// `GET /slow?ms=N`: views += 1, with `N` ms between the load and the write.
async fn slow(mut session: Session<counter_app::Visit>, query: web::Query<Slow>) -> String {
    let views = *session.views();
    tokio::time::sleep(Duration::from_millis(query.ms)).await;
    session.set_views(views + 1);
    format!("{} views", views + 1)
}

/// A struct over the counter's session without its index field.
#[derive(SessionData)]
#[session(prefix = "prefs.")]
struct Prefs {
    font: Option<String>,
}

/// `POST /prefs/renew`: a renewal reached through a struct that knows nothing of the user.
async fn renew_prefs(mut session: Session<Prefs>) -> &'static str {
    session.set_font(Some("serif".to_owned()));
    session.renew();
    "renewed"
}

/// `POST /renew`: a renewal through the struct with the index field.
async fn renew_visit(session: Session<counter_app::Visit>) -> &'static str {
    session.renew();
    "renewed"
}

/// `POST /slow-login?ms=N`: a login that takes `N` ms between its load and its renewal
/// (a password hash, say).
async fn slow_login(
    mut session: Session<counter_app::Visit>,
    query: web::Query<Slow>,
) -> &'static str {
    tokio::time::sleep(Duration::from_millis(query.ms)).await;
    session.set_user(Some("ada".to_owned()));
    session.renew();
    "welcome"
}

/// `POST /end-others`: "sign out everywhere else".
async fn end_others(
    session: Session<counter_app::Visit>,
) -> Result<String, actix_typed_session::SessionError> {
    Ok(format!("ended {}", session.end_other_sessions().await?))
}

/// The app with the counter's routes and this file's, on `server`, in `layout`.
async fn app(
    server: &RedisServer,
    layout: Layout,
    ttl: Option<Duration>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut builder = layout.configure(SessionMiddleware::builder(
        store,
        Keys::new(["race test key, long enough to sign it"]),
    ));
    if let Some(ttl) = ttl {
        builder = builder.ttl(ttl).ttl_policy(TtlPolicy::OnChange);
    }
    test::init_service(
        App::new()
            .wrap(builder.build())
            .configure(counter_app::routes)
            .route("/set/{n}", web::get().to(set_field))
            .route("/fields", web::get().to(show_fields))
            .route("/slow", web::get().to(slow))
            .route("/prefs/renew", web::post().to(renew_prefs))
            .route("/renew", web::post().to(renew_visit))
            .route("/slow-login", web::post().to(slow_login))
            .route("/end-others", web::post().to(end_others)),
    )
    .await
}

/// A small deterministic generator of delays, so a failing trial can be replayed.
struct Jitter(u64);

impl Jitter {
    fn new(seed: usize) -> Self {
        Self(0x9e37_79b9_7f4a_7c15 ^ (seed as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9))
    }

    /// A delay of 0 to `max_ms` milliseconds.
    fn delay(&mut self, max_ms: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(self.0 % (max_ms * 1000 + 1))
    }
}

/// Sends `req` after `delay`; the status and body.
async fn after<S, B>(app: &S, delay: Duration, req: Request) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    tokio::time::sleep(delay).await;
    let res = test::call_service(app, req).await;
    (res.status(), body(res).await)
}

/// Sends `count` requests in turn, keeping the jar; the last body.
async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str, count: usize) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let mut last = String::new();
    for _ in 0..count {
        let res = test::call_service(app, jar.request(method, path).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{method} {path}");
        jar.absorb(&res);
        last = body(res).await;
    }
    last
}

async fn flush(conn: &mut MultiplexedConnection) {
    let _: () = redis::cmd("FLUSHDB").query_async(conn).await.unwrap();
}

/// Everything stored under `key`, hash or string, as text.
async fn stored_text(conn: &mut MultiplexedConnection, key: &str) -> String {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(conn).await.unwrap();
    let value: redis::Value = match kind.as_str() {
        "hash" => redis::cmd("HGETALL")
            .arg(key)
            .query_async(conn)
            .await
            .unwrap(),
        _ => redis::cmd("GET").arg(key).query_async(conn).await.unwrap(),
    };
    format!("{value:?}")
}

/// Every session key in Redis (the per-user index keys are not sessions).
async fn session_keys(conn: &mut MultiplexedConnection) -> Vec<String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap();
    keys.into_iter().filter(|k| !k.contains("index:")).collect()
}

#[actix_web::test]
async fn concurrent_writes_to_different_fields_of_one_session_all_land() {
    let server = RedisServer::start();
    let rounds = trials() / 10;
    for layout in Layout::ALL {
        let app = app(&server, layout, None).await;
        let mut refused = 0;
        for round in 0..rounds {
            let mut jitter = Jitter::new(round);
            let mut jar = Jar::default();
            send(&app, &mut jar, "GET", "/set/0", 1).await;
            let writes = (1..FIELDS).map(|n| {
                let req = jar.request("GET", &format!("/set/{n}")).to_request();
                after(&app, jitter.delay(3), req)
            });
            let answers = join_all(writes).await;
            let shown = send(&app, &mut jar, "GET", "/fields", 1).await;
            let shown: Vec<&str> = shown.split(',').collect();
            for (n, (status, _)) in (1..FIELDS).zip(&answers) {
                match *status {
                    StatusCode::OK => assert!(
                        shown.contains(&n.to_string().as_str()),
                        "{layout:?} round {round}: field {n} was acknowledged and lost: {shown:?}"
                    ),
                    StatusCode::SERVICE_UNAVAILABLE => refused += 1,
                    other => panic!("{layout:?} round {round}: field {n} answered {other}"),
                }
            }
        }
        eprintln!(
            "{layout:?}: {rounds} rounds of {} concurrent field writes, {refused} refused with 503",
            FIELDS - 1
        );
        // A hash takes each field on its own; a JSON document merges and retries, up to
        // 16 times, more than there are writers here.
        assert_eq!(refused, 0, "{layout:?}");
    }
}

#[actix_web::test]
async fn a_logout_racing_writes_is_never_undone() {
    const WRITERS: usize = 3;
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    // `/modify` loads, then writes; `/` increments (on a hash without a load).
    for (layout, path) in Layout::ALL
        .into_iter()
        .flat_map(|layout| [(layout, "/modify"), (layout, "/")])
    {
        let app = app(&server, layout, None).await;
        let (mut resurrections, mut before, mut refused, mut fresh) = (0, 0, 0, 0);
        for trial in 0..trials() {
            flush(&mut conn).await;
            let mut jitter = Jitter::new(trial);
            let mut jar = Jar::default();
            assert_eq!(send(&app, &mut jar, "GET", "/", 3).await, "3 views");
            let old = layout.key_of(&jar);
            let logout = after(
                &app,
                jitter.delay(2),
                jar.request("POST", "/logout").to_request(),
            );
            let writes = (0..WRITERS)
                .map(|_| after(&app, jitter.delay(2), jar.request("GET", path).to_request()));
            let (logout, writes) = tokio::join!(logout, join_all(writes));
            assert_eq!(logout.0, StatusCode::OK, "the logout itself");
            for (status, text) in &writes {
                match (*status, text.as_str()) {
                    (StatusCode::OK, "1 views") => fresh += 1,
                    (StatusCode::OK, _) => before += 1,
                    (StatusCode::SERVICE_UNAVAILABLE, "") => refused += 1,
                    other => panic!("{layout:?} trial {trial}: a write answered {other:?}"),
                }
            }
            // A write that counted on the old session and landed after the logout would
            // have brought it back, under its old key or any other.
            let mut survivors = 0;
            for key in session_keys(&mut conn).await {
                let views = layout.stored_views(&mut conn, &key).await;
                if key == old || views.is_some_and(|v| v > 1) {
                    survivors += 1;
                }
            }
            if survivors > 0 {
                resurrections += 1;
            }
            assert_eq!(
                send(&app, &mut jar.clone(), "GET", "/peek", 1).await,
                "0 views",
                "{layout:?} trial {trial}: the old cookie finds nothing"
            );
        }
        eprintln!(
            "{layout:?} {path}: {} logout races with {WRITERS} writers each: {resurrections} \
             resurrections; writes: {before} before the logout, {refused} refused (503), {fresh} \
             on a fresh session",
            trials()
        );
        assert_eq!(resurrections, 0, "{layout:?} {path}");
        if path == "/modify" {
            assert!(
                refused > 0,
                "{layout:?} {path}: no write ever raced the logout"
            );
        } else {
            // An increment without a load cannot tell a session ended before it from one
            // ended while it ran: either way it finds none, and starts a fresh one.
            assert!(
                refused + fresh > 0,
                "{layout:?} {path}: no write ever raced the logout"
            );
        }
    }
}

#[actix_web::test]
async fn concurrent_renewals_leave_exactly_one_session_with_the_data() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let trials = trials() / 2;
    for layout in Layout::ALL {
        let app = app(&server, layout, None).await;
        let (mut both_won, mut one_refused) = (0, 0);
        for trial in 0..trials {
            flush(&mut conn).await;
            let mut jitter = Jitter::new(trial);
            let mut jar = Jar::default();
            send(&app, &mut jar, "GET", "/", 3).await;
            let old = layout.key_of(&jar);
            let login = |delay| after(&app, delay, jar.request("POST", "/login").to_request());
            let (a, b) = tokio::join!(login(jitter.delay(2)), login(jitter.delay(2)));
            match (a.0, b.0) {
                (StatusCode::OK, StatusCode::OK) => both_won += 1,
                (StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE)
                | (StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK) => one_refused += 1,
                other => panic!("{layout:?} trial {trial}: {other:?}"),
            }
            let mut carriers = 0;
            for key in session_keys(&mut conn).await {
                assert_ne!(key, old, "{layout:?} trial {trial}: the old id lives on");
                if layout.stored_views(&mut conn, &key).await == Some(3) {
                    carriers += 1;
                }
            }
            assert_eq!(
                carriers, 1,
                "{layout:?} trial {trial}: one session carries the data"
            );
        }
        // Both win only when the second loaded after the first had moved the session:
        // it then logs in on a fresh, empty session of its own.
        eprintln!(
            "{layout:?}: {trials} renewal races: {one_refused} with one refused, {both_won} one after the other"
        );
    }
}

#[actix_web::test]
async fn writes_acknowledged_during_a_renewal_move_with_the_session() {
    let server = RedisServer::start();
    for layout in Layout::ALL {
        let app = app(&server, layout, None).await;
        let mut jar = Jar::default();
        send(&app, &mut jar, "GET", "/", 1).await;
        // The login loads, and renews 300 ms later; meanwhile an increment and a write of
        // another field are answered 200.
        let login =
            test::call_service(&app, jar.request("POST", "/slow-login?ms=300").to_request());
        let increment = jar.request("GET", "/").to_request();
        let write = jar.request("GET", "/set/3").to_request();
        let writes = async {
            let increment = after(&app, Duration::from_millis(100), increment).await;
            (increment, after(&app, Duration::ZERO, write).await)
        };
        let (login, (increment, write)) = tokio::join!(login, writes);
        assert_eq!(login.status(), StatusCode::OK, "{layout:?}");
        assert_eq!(
            increment,
            (StatusCode::OK, "2 views".to_owned()),
            "{layout:?}"
        );
        assert_eq!(write.0, StatusCode::OK, "{layout:?}");

        // The login handed out the new id; the writes went to the old one.
        jar.absorb(&login);
        let peek = send(&app, &mut jar, "GET", "/peek", 1).await;
        assert_eq!(peek, "2 views", "{layout:?}: the increment");
        let fields = send(&app, &mut jar, "GET", "/fields", 1).await;
        assert_eq!(fields, "3", "{layout:?}: the write");
        assert_eq!(
            send(&app, &mut jar, "GET", "/whoami", 1).await,
            "ada",
            "{layout:?}"
        );
    }
}

#[actix_web::test]
async fn a_renewal_racing_sign_out_everywhere_never_escapes_it() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let trials = trials() / 2;
    for layout in Layout::ALL {
        let app = app(&server, layout, None).await;
        let (mut refused, mut ended_after) = (0, 0);
        for trial in 0..trials {
            flush(&mut conn).await;
            let mut jitter = Jitter::new(trial);
            let (mut here, mut there) = (Jar::default(), Jar::default());
            send(&app, &mut here, "POST", "/login", 1).await;
            send(&app, &mut there, "POST", "/login", 1).await;
            let end = after(
                &app,
                jitter.delay(2),
                here.request("POST", "/end-others").to_request(),
            );
            // The other device renews its session meanwhile: in the hash layout through a
            // struct without the index field, whose session records its indexes; the JSON
            // layout keeps no such record (a Node app shares the document), so there the
            // renewal goes through the struct with the index field.
            let renewal = match layout {
                Layout::Hash => "/prefs/renew",
                Layout::Json => "/renew",
            };
            let renew = async {
                tokio::time::sleep(jitter.delay(2)).await;
                let res =
                    test::call_service(&app, there.request("POST", renewal).to_request()).await;
                (res.status(), res)
            };
            let (ended, (renewed, res)) = tokio::join!(end, renew);
            there.absorb(&res);
            assert_eq!(
                ended.0,
                StatusCode::OK,
                "{layout:?} trial {trial}: {ended:?}"
            );
            match renewed {
                StatusCode::SERVICE_UNAVAILABLE => refused += 1,
                StatusCode::OK => ended_after += 1,
                other => panic!("{layout:?} trial {trial}: the renewal answered {other}"),
            }
            let res = test::call_service(&app, there.request("GET", "/whoami").to_request()).await;
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{layout:?} trial {trial}: the renewed session escaped sign-out"
            );
            let res = test::call_service(&app, here.request("GET", "/whoami").to_request()).await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{layout:?} trial {trial}: the kept session ended"
            );
            // Another session may be left: a renewal that loaded after its session had
            // ended starts a fresh one, with no user in it.
            for key in session_keys(&mut conn).await {
                if key != layout.key_of(&here) {
                    let stored = stored_text(&mut conn, &key).await;
                    assert!(
                        !stored.contains("ada"),
                        "{layout:?} trial {trial}: a session of the user escaped: {stored}"
                    );
                }
            }
        }
        eprintln!(
            "{layout:?}: {trials} renewals racing sign-out: {refused} answered 503 (ended \
             under them), {ended_after} 200 (renewed then ended, or started afresh after)"
        );
    }
}

#[actix_web::test]
async fn a_write_racing_expiry_never_leaves_a_partial_record() {
    const TTL: Duration = Duration::from_millis(40);
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let app = app(&server, Layout::Hash, Some(TTL)).await;
    let (mut written, mut ended) = (0, 0);
    for trial in 0..trials() / 2 {
        let mut jitter = Jitter::new(trial);
        let mut jar = Jar::default();
        send(&app, &mut jar, "GET", "/", 1).await;
        // Two writers hold the session across its expiry for different lengths of time.
        let slow_write = |delay: Duration| {
            let path = format!("/slow?ms={}", delay.as_millis());
            after(&app, Duration::ZERO, jar.request("GET", &path).to_request())
        };
        let (a, b) = tokio::join!(slow_write(jitter.delay(80)), slow_write(jitter.delay(80)));
        for (status, text) in [a, b] {
            match (status, text.as_str()) {
                (StatusCode::OK, _) => written += 1,
                (StatusCode::SERVICE_UNAVAILABLE, "") => ended += 1,
                other => panic!("trial {trial}: {other:?}"),
            }
        }
        for key in session_keys(&mut conn).await {
            // Read together, so the key cannot expire between the two reads.
            let (fields, pttl): (std::collections::HashMap<String, String>, i64) = redis::pipe()
                .atomic()
                .cmd("HGETALL")
                .arg(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            if pttl == -2 {
                continue;
            }
            assert!(
                fields.contains_key("__created") && fields.contains_key("views"),
                "trial {trial}: a partial record {fields:?}"
            );
            assert!(pttl >= 0, "trial {trial}: a record without expiry ({pttl})");
        }
    }
    tokio::time::sleep(TTL * 3).await;
    assert_eq!(
        session_keys(&mut conn).await,
        Vec::<String>::new(),
        "everything expired"
    );
    eprintln!(
        "{} expiry races: {written} writes landed, {ended} found the session expired (503)",
        trials() / 2
    );
    assert!(ended > 0, "no write ever raced the expiry");
}
