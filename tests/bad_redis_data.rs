//! Corrupt or foreign data under a session key, in both layouts: another type (a string
//! or a list where a hash belongs, a hash where a JSON string belongs), broken JSON, JSON
//! that is no object, values that no longer decode, huge values. Never a panic or a 5xx:
//! data that is no session gives a fresh session, saved under a new id, and leaves the
//! key alone (with the layouts' policies here, `OnEveryAccess` for the hash and `OnChange`
//! for the JSON layout, its time-to-live too); a field that does not decode takes its
//! default and the session keeps its id; and the next write is never refused. A lifetime
//! an express-session document states (`cookie.originalMaxAge`, which sets the
//! time-to-live of every load) of any size or type gives a time-to-live of at most
//! `MAX_TTL`, never an error, on Redis and on the memory store.

use std::fmt::Debug;
use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::{
    CommitOutcome, MemoryStore, RedisStore, SessionKey, SessionStore,
};
use actix_typed_session::{Compat, Keys, SessionId, SessionMiddleware};
use actix_typed_session_tests::conformance::Cx;
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::keys::{dump, pttl};
use actix_typed_session_tests::layout::Layout;
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, App, Error};
use redis::aio::MultiplexedConnection;

/// Big enough to be absurd for a session, small enough for a quick test: 16 MiB.
const HUGE: usize = 16 << 20;

/// What the app must make of a planted key.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// No session: a fresh one, whose first write goes under a new id.
    Fresh,
    /// The same session, `views` at its default: the first write keeps the id.
    Defaulted,
}

async fn app(
    server: &RedisServer,
    layout: Layout,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let builder =
        SessionMiddleware::builder(store, Keys::new(["bad data test key, long enough to sign"]));
    test::init_service(
        App::new()
            .wrap(layout.configure(builder).build())
            .configure(counter_app::routes),
    )
    .await
}

/// `GET path`: asserts a 200 and returns the body.
async fn get<S, B>(app: &S, jar: &mut Jar, path: &str, case: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let res = test::call_service(app, jar.request("GET", path).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK, "{case}: GET {path}");
    jar.absorb(&res);
    body(res).await
}

/// Foreign or corrupt data, and what the app must make of it.
struct Plant {
    case: &'static str,
    /// The command that writes it, and its arguments after the key.
    command: &'static str,
    args: Vec<Vec<u8>>,
    outcome: Outcome,
}

fn plant(case: &'static str, command: &'static str, args: &[&[u8]], outcome: Outcome) -> Plant {
    Plant {
        case,
        command,
        args: args.iter().map(|arg| arg.to_vec()).collect(),
        outcome,
    }
}

/// Starts a session, replaces what its key holds with `plant`, and checks what the app
/// makes of it.
async fn check<S, B>(app: &S, conn: &mut MultiplexedConnection, layout: Layout, plant: &Plant)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let case = format!("{layout:?}, {}", plant.case);
    let mut jar = Jar::default();
    assert_eq!(get(app, &mut jar, "/", &case).await, "1 views");
    let key = layout.key_of(&jar);
    let _: () = redis::cmd("DEL").arg(&key).query_async(conn).await.unwrap();
    let mut command = redis::cmd(plant.command);
    command.arg(&key);
    for arg in &plant.args {
        command.arg(arg.as_slice());
    }
    let _: () = command.query_async(conn).await.unwrap();
    let planted = dump(conn, &key).await;
    let planted_ttl = pttl(conn, &key).await;

    assert_eq!(
        get(app, &mut jar, "/peek", &case).await,
        "0 views",
        "{case}"
    );
    assert_eq!(get(app, &mut jar, "/", &case).await, "1 views", "{case}");
    let written = layout.key_of(&jar);
    match plant.outcome {
        Outcome::Fresh => {
            assert_ne!(written, key, "{case}: a fresh session gets a new id");
            assert_eq!(dump(conn, &key).await, planted, "{case}: left alone");
            let ttl = pttl(conn, &key).await;
            if planted_ttl == -1 {
                assert_eq!(ttl, -1, "{case}: still without an expiry");
            } else {
                // Only the time the test took has passed: reads never pushed it back.
                assert!(
                    ttl <= planted_ttl && ttl > planted_ttl - 10_000,
                    "{case}: time-to-live {ttl} ms, planted with {planted_ttl} ms"
                );
            }
        }
        Outcome::Defaulted => assert_eq!(written, key, "{case}: the session keeps its id"),
    }
    assert_eq!(layout.stored_views(conn, &written).await, Some(1), "{case}");
    assert_eq!(get(app, &mut jar, "/", &case).await, "2 views", "{case}");
}

async fn check_all(layout: Layout, plants: &[Plant]) {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let app = app(&server, layout).await;
    for plant in plants {
        check(&app, &mut conn, layout, plant).await;
    }
}

#[actix_web::test]
async fn foreign_or_corrupt_hash_sessions_give_a_fresh_session_or_a_default_never_an_error() {
    use Outcome::{Defaulted, Fresh};
    let huge = "x".repeat(HUGE);
    check_all(
        Layout::Hash,
        &[
            plant("a string", "SET", &[b"not a session"], Fresh),
            plant(
                "a string that expires",
                "SET",
                &[b"not a session", b"PX", b"600000"],
                Fresh,
            ),
            plant("a list", "RPUSH", &[b"a", b"b"], Fresh),
            plant("a set", "SADD", &[b"a"], Fresh),
            plant(
                "fields that do not decode, bad metadata, a non-UTF-8 name",
                "HSET",
                &[
                    b"views",
                    b"not a number",
                    b"user",
                    b"\"\xff\xfe\"",
                    b"__created",
                    b"yesterday",
                    b"\xc3\x28",
                    b"foreign",
                ],
                Defaulted,
            ),
            // With its `__created` marker: an increment (`GET /`) counts a hash as a session
            // only with it, so a stray hash a late write left behind is never one.
            plant(
                "a huge value",
                "HSET",
                &[b"__created", b"1700000000000", b"views", huge.as_bytes()],
                Defaulted,
            ),
            // Only a hash with its creation time is a session of ours: one without is
            // what a late write leaves, or another program's.
            plant(
                "a hash without the creation time",
                "HSET",
                &[b"views", b"5"],
                Fresh,
            ),
        ],
    )
    .await;
}

#[actix_web::test]
async fn foreign_or_corrupt_json_sessions_give_a_fresh_session_or_a_default_never_an_error() {
    use Outcome::{Defaulted, Fresh};
    let deep = format!(
        "{{\"views\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!("{{\"views\":\"{}\"}}", "x".repeat(HUGE));
    let wrong_types = br#"{"views":"five","user":42,"other":{"keep":true}}"#;
    check_all(
        Layout::Json,
        &[
            plant("a hash", "HSET", &[b"views", b"5"], Fresh),
            plant(
                "a string that expires, broken JSON",
                "SET",
                &[br#"{"views": 5"#, b"PX", b"600000"],
                Fresh,
            ),
            plant("a list", "RPUSH", &[b"{}"], Fresh),
            plant("broken JSON", "SET", &[br#"{"views": 5"#], Fresh),
            plant("a JSON array", "SET", &[b"[1,2]"], Fresh),
            plant("JSON null", "SET", &[b"null"], Fresh),
            plant("not UTF-8", "SET", &[b"{\"views\":\"\xff\"}"], Fresh),
            // An object whose value is too deep to decode: the field's default.
            plant(
                "a value nested 100 000 deep",
                "SET",
                &[deep.as_bytes()],
                Defaulted,
            ),
            plant("values of the wrong type", "SET", &[wrong_types], Defaulted),
            plant("a huge value", "SET", &[huge.as_bytes()], Defaulted),
        ],
    )
    .await;
}

/// `MAX_TTL` of `session/src/store/time.rs` in seconds: the longest time-to-live a store
/// gives a session, about 100 years.
const MAX_TTL_SECS: i64 = 100 * 365 * 24 * 60 * 60;

/// connect-redis' time-to-live for a session without a usable `cookie.originalMaxAge`.
const EXPRESS_DEFAULT_TTL_SECS: i64 = 86_400;

/// An app with the express-session preset on `store`.
async fn express_app<St: SessionStore + 'static>(
    store: St,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let builder =
        SessionMiddleware::builder(store, Keys::new(["bad data test key, long enough to sign"]))
            .compat(Compat::ExpressSession);
    test::init_service(
        App::new()
            .wrap(builder.build())
            .configure(counter_app::routes),
    )
    .await
}

/// The session id in the jar's `connect.sid` (`s:<id>.<signature>`).
fn express_id(jar: &Jar) -> String {
    let value = jar.get("connect.sid").expect("connect.sid").value();
    let signed = value.strip_prefix("s:").expect("express' s: prefix");
    signed.rsplit_once('.').expect("a signature").0.to_owned()
}

/// An express-session document with `cookie.originalMaxAge` written as `max_age`.
fn express_document(max_age: &str) -> String {
    format!(
        r#"{{"cookie":{{"originalMaxAge":{max_age},"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"}},"views":5}}"#
    )
}

/// `cookie.originalMaxAge` as another program may have stored it, and the time-to-live
/// (in seconds) a load must give the session: its own lifetime, clamped to `MAX_TTL`,
/// or connect-redis' default when it states none that can be used.
const EXPRESS_LIFETIMES: &[(&str, i64)] = &[
    // An ordinary lifetime, and the longest that passes unclamped.
    ("60000", 60),
    ("3153600000000", MAX_TTL_SECS),
    ("1e300", MAX_TTL_SECS),
    // Past what i64 milliseconds hold, and one millisecond past MAX_TTL.
    ("1e19", MAX_TTL_SECS),
    ("9223372036854775807", MAX_TTL_SECS),
    ("3153600000001", MAX_TTL_SECS),
    ("-1000", EXPRESS_DEFAULT_TTL_SECS),
    ("0", EXPRESS_DEFAULT_TTL_SECS),
    (r#""3600000""#, EXPRESS_DEFAULT_TTL_SECS),
    ("null", EXPRESS_DEFAULT_TTL_SECS),
    ("{}", EXPRESS_DEFAULT_TTL_SECS),
];

/// Lua's cjson reads these, serde_json does not: no session for Rust, but the load script
/// sees a document, and must not turn its number into an error.
const EXPRESS_LIFETIMES_ONLY_LUA_READS: &[&str] = &["Infinity", "-Infinity", "NaN", "0x10"];

/// express-session refreshes a session on every load (connect-redis' `touch`) to the
/// lifetime its document states: a stored lifetime of any size or type is clamped or
/// ignored, never an `EXPIRE` Redis refuses (a 503 on every request of that session).
#[actix_web::test]
async fn express_stored_lifetimes_of_any_size_or_type_give_a_sane_ttl_never_an_error() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let app = express_app(store).await;
    let cases = EXPRESS_LIFETIMES
        .iter()
        .map(|&(max_age, ttl)| (max_age, Some(ttl)))
        .chain(EXPRESS_LIFETIMES_ONLY_LUA_READS.iter().map(|&m| (m, None)));
    for (max_age, expected_ttl) in cases {
        let case = format!("originalMaxAge {max_age}");
        let mut jar = Jar::default();
        assert_eq!(get(&app, &mut jar, "/", &case).await, "1 views");
        let key = format!("sess:{}", express_id(&jar));
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(express_document(max_age))
            .arg("EX")
            .arg(600)
            .query_async(&mut conn)
            .await
            .unwrap();

        let peeked = get(&app, &mut jar, "/peek", &case).await;
        let ttl = pttl(&mut conn, &key).await;
        match expected_ttl {
            Some(expected) => {
                assert_eq!(peeked, "5 views", "{case}: the session, as stored");
                let expected = expected * 1000;
                assert!(
                    ttl <= expected && ttl > expected - 10_000,
                    "{case}: time-to-live {ttl} ms after a load, expected {expected} ms"
                );
            }
            None => {
                assert_eq!(peeked, "0 views", "{case}: no session Rust can read");
                assert!(
                    ttl > 0 && ttl <= MAX_TTL_SECS * 1000,
                    "{case}: time-to-live {ttl} ms after a load"
                );
            }
        }
        let bumped = get(&app, &mut jar, "/", &case).await;
        assert_eq!(
            bumped,
            if expected_ttl.is_some() {
                "6 views"
            } else {
                "1 views"
            },
            "{case}"
        );
        let key = format!("sess:{}", express_id(&jar));
        let ttl = pttl(&mut conn, &key).await;
        assert!(
            ttl > 0 && ttl <= MAX_TTL_SECS * 1000,
            "{case}: time-to-live {ttl} ms after a write"
        );
    }
}

/// The memory store, which shares the envelope with Redis, reads the same documents
/// without an error.
#[actix_web::test]
async fn express_stored_lifetimes_of_any_size_or_type_are_no_error_on_the_memory_store() {
    let store = MemoryStore::new();
    let app = express_app(store.clone()).await;
    let cx = Cx::json();
    for &(max_age, _) in EXPRESS_LIFETIMES {
        let case = format!("memory store, originalMaxAge {max_age}");
        let mut jar = Jar::default();
        assert_eq!(get(&app, &mut jar, "/", &case).await, "1 views");
        let id = SessionId::parse(&express_id(&jar)).expect("a session id");
        let key = SessionKey::new("sess:", &id);
        let document: serde_json::Value = serde_json::from_str(&express_document(max_age)).unwrap();
        let cookie = document["cookie"].to_string();
        let planted = cx.update(
            &[("cookie", cookie.as_bytes()), ("views", b"5")],
            &[],
            Duration::from_secs(600),
        );
        let outcome = store.commit(&key, &planted).await.unwrap();
        assert_eq!(outcome, CommitOutcome::Written, "{case}");
        assert_eq!(get(&app, &mut jar, "/peek", &case).await, "5 views");
        assert_eq!(get(&app, &mut jar, "/", &case).await, "6 views");
    }
}
