//! The Node presets against a real Redis, from the Rust side: what we write (key, JSON
//! text, time-to-live, the commands on the wire, the cookies), and that we read documents
//! written in exactly the form each Node package writes them (per its source: koa-session
//! 7.0.2 + koa-redis 4.0.1, koa2-session2-redis 1.1.0, koa-session-redis3 1.3.4,
//! express-session 1.19.0 + connect-redis 9.0.0). The signatures are checked against the
//! vectors in `session/tests/vectors/`, computed with the Node libraries.

use std::fmt::Debug;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::SessionMiddlewareBuilder;
use actix_typed_session::{Compat, Keys, Session, SessionData, SessionMiddleware};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::{CommandLog, LoggedCommand, RedisServer};
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{test, web, App, Error};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use redis::AsyncCommands;
use serde::Deserialize;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// One request's outcome: status, body, the raw `Set-Cookie` headers, and the Redis
/// commands it caused (top-level ones, and those its scripts ran).
struct Exchange {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
    round_trips: Vec<LoggedCommand>,
    script_commands: Vec<LoggedCommand>,
}

impl Exchange {
    /// The script-run commands that wrote or expired something, as text.
    fn writes(&self) -> Vec<Vec<String>> {
        self.script_commands
            .iter()
            .filter(|c| ["SET", "SETEX", "EXPIRE", "PEXPIRE", "DEL"].contains(&c.name().as_str()))
            .map(|c| (0..c.args.len()).map(|i| c.arg(i)).collect())
            .collect()
    }

    fn round_trip_names(&self) -> Vec<String> {
        self.round_trips.iter().map(LoggedCommand::name).collect()
    }

    fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies
            .iter()
            .map(|raw| Cookie::parse(raw.clone()).expect("Set-Cookie parses"))
            .find(|c| c.name() == name)
    }
}

/// An in-process app on a Redis store, with a browser's jar, a command log of that Redis
/// and a raw connection to it (the "Node side").
struct Bench<S> {
    app: S,
    log: CommandLog,
    jar: Jar,
    raw: redis::aio::MultiplexedConnection,
}

impl<S, B> Bench<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    async fn send(&mut self, method: &str, path: &str) -> Exchange {
        let res = test::call_service(&self.app, self.jar.request(method, path).to_request()).await;
        let status = res.status().as_u16();
        let set_cookies = res
            .headers()
            .get_all(SET_COOKIE)
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect();
        self.jar.absorb(&res);
        let body = body(res).await;
        let all = self.log.take_with_scripts().await;
        let (script_commands, round_trips) = all.into_iter().partition(|c| c.client == "lua");
        Exchange {
            status,
            body,
            set_cookies,
            round_trips,
            script_commands,
        }
    }

    /// The value at `key`, read on the raw connection (kept out of the command log).
    async fn get(&mut self, key: &str) -> Option<String> {
        let value = self.raw.get(key).await.expect("GET");
        self.log.take().await;
        value
    }

    /// The time left at `key`, in ms (kept out of the command log).
    async fn pttl(&mut self, key: &str) -> i64 {
        let pttl = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut self.raw)
            .await
            .expect("PTTL");
        self.log.take().await;
        pttl
    }

    /// Writes `document` the way the Node store does: `SET key doc EX secs`.
    async fn node_writes(&mut self, key: &str, document: &str, secs: u64) {
        let _: () = self.raw.set_ex(key, document, secs).await.expect("SET EX");
        self.log.take().await;
    }
}

/// The counter's session, plus a float, to see how numbers are written.
#[derive(SessionData)]
struct Priced {
    price: f64,
}

async fn set_price(mut session: Session<Priced>) -> &'static str {
    session.set_price(3.0);
    "priced"
}

async fn bench(
    server: &RedisServer,
    configure: impl FnOnce(SessionMiddlewareBuilder) -> SessionMiddlewareBuilder,
    keys: Keys,
) -> Bench<
    impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>,
> {
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let raw = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let log = CommandLog::start(server).await;
    let sessions = configure(SessionMiddleware::builder(store, keys)).build();
    let app = test::init_service(
        App::new()
            .wrap(sessions)
            .configure(counter_app::routes)
            .route("/price", web::get().to(set_price)),
    )
    .await;
    Bench {
        app,
        log,
        jar: Jar::default(),
        raw,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn keygrip_sha1(key: &str, data: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn cookie_signature(secret: &str, id: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(id.as_bytes());
    STANDARD_NO_PAD.encode(mac.finalize().into_bytes())
}

#[derive(Deserialize)]
struct Vectors<V> {
    vectors: Vec<V>,
}

#[derive(Deserialize)]
struct KeygripVector {
    keys: Vec<String>,
    algorithm: String,
    data: String,
    signature: String,
    index: i64,
}

#[derive(Deserialize)]
struct SignatureVector {
    secret: String,
    id: String,
    signed: String,
}

fn vectors<V: for<'de> Deserialize<'de>>(file: &str) -> Vec<V> {
    let path = format!(
        "{}/../session/tests/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str::<Vectors<V>>(&text).unwrap().vectors
}

/// Splits `{"…","_expire":E,"_maxAge":M}` into the text before `_expire`, E and M.
fn koa_envelope(document: &str) -> (String, u64, u64) {
    let (head, tail) = document
        .split_once(r#""_expire":"#)
        .expect("an _expire key");
    let (expire, max_age) = tail
        .split_once(r#","_maxAge":"#)
        .expect("_maxAge after _expire");
    let max_age = max_age.strip_suffix('}').expect("_maxAge last");
    (
        head.to_owned(),
        expire.parse().expect("_expire is an integer"),
        max_age.parse().expect("_maxAge is an integer"),
    )
}

#[actix_web::test]
async fn koa_session_writes_what_koa_redis_writes() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::KoaSession),
        Keys::new(["koa key"]).allow_short_keys(),
    )
    .await;

    let before = now_ms();
    let first = bench.send("GET", "/").await;
    let after = now_ms();
    assert_eq!(first.body, "1 views");
    assert_eq!(
        first.round_trip_names(),
        ["EVALSHA"],
        "create: 1 round trip"
    );
    let id = first
        .cookie("koa.sess")
        .expect("koa.sess")
        .value()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID-shaped id: {id}");
    let sig = first.cookie("koa.sess.sig").expect("koa.sess.sig");
    assert_eq!(
        sig.value(),
        keygrip_sha1("koa key", &format!("koa.sess={id}"))
    );
    // koa-session sets no maxAge by default: a browser-session cookie, at first.
    assert_eq!(first.cookie("koa.sess").unwrap().max_age(), None);
    let document = bench.get(&id).await.expect("the key is the id, no prefix");
    let (head, expire, max_age) = koa_envelope(&document);
    assert_eq!(head, r#"{"views":1,"#);
    assert_eq!(max_age, DAY_MS);
    assert!(
        (before + DAY_MS..=after + DAY_MS).contains(&expire),
        "{expire}"
    );
    assert_eq!(
        first.writes(),
        [vec![
            "SETEX".to_owned(),
            id.clone(),
            "86410".to_owned(),
            document.clone()
        ]],
        "SETEX for ceil((maxAge + 10 s) / 1000) s"
    );
    let pttl = bench.pttl(&id).await;
    assert!((86_400_000 + 9_000..=86_410_000).contains(&pttl), "{pttl}");
    assert!(!document.contains("isNew") && !document.contains("_session"));

    let second = bench.send("GET", "/").await;
    assert_eq!(second.body, "2 views");
    assert_eq!(
        second.round_trip_names(),
        ["EVALSHA", "EVALSHA"],
        "write: 2"
    );
    // The stored _maxAge now gives the cookie its lifetime, as koa-session does.
    let cookie = second.cookie("koa.sess").expect("re-sent on save");
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::days(1))
    );
    let (head, _, _) = koa_envelope(&bench.get(&id).await.unwrap());
    assert_eq!(head, r#"{"views":2,"#);

    let peek = bench.send("GET", "/peek").await;
    assert_eq!(peek.body, "2 views");
    assert_eq!(peek.round_trip_names(), ["EVALSHA"], "read: 1");
    assert_eq!(
        peek.writes(),
        Vec::<Vec<String>>::new(),
        "koa-redis' get refreshes nothing"
    );
    assert!(peek.set_cookies.is_empty());

    let logout = bench.send("POST", "/logout").await;
    assert_eq!(logout.round_trip_names(), ["EVALSHA", "DEL"]);
    assert_eq!(bench.get(&id).await, None);
}

#[actix_web::test]
async fn koa_session_reads_a_koa_redis_document_and_keeps_what_it_does_not_know() {
    let vector = vectors::<KeygripVector>("keygrip-vectors.json")
        .into_iter()
        .find(|v| v.data.starts_with("koa.sess=3f2b") && v.algorithm == "sha1")
        .expect("the koa.sess vector");
    let id = vector.data.trim_start_matches("koa.sess=").to_owned();
    let server = RedisServer::start();
    let keys = Keys::new(&vector.keys).allow_short_keys();
    let mut bench = bench(&server, |b| b.compat(Compat::KoaSession), keys).await;
    let expire = now_ms() + 60_000;
    // What koa-session 7 + koa-redis write for maxAge 60000: SETEX id 70 <JSON>.
    let document = format!(
        r#"{{"user":"ada","views":41,"cart":{{"items":[1,2],"total":1.5}},"_expire":{expire},"_maxAge":60000}}"#
    );
    bench.node_writes(&id, &document, 70).await;
    bench.jar.set("koa.sess", &id);
    bench.jar.set("koa.sess.sig", &vector.signature);

    let read = bench.send("GET", "/whoami").await;
    assert_eq!((read.status, read.body.as_str()), (200, "ada"));
    assert_eq!(read.round_trip_names(), ["EVALSHA"]);
    assert_eq!(
        bench.get(&id).await.unwrap(),
        document,
        "a read writes nothing"
    );

    let write = bench.send("GET", "/").await;
    assert_eq!(write.body, "42 views");
    let stored = bench.get(&id).await.unwrap();
    let (head, new_expire, max_age) = koa_envelope(&stored);
    assert_eq!(
        head,
        r#"{"user":"ada","views":42,"cart":{"items":[1,2],"total":1.5},"#
    );
    assert_eq!(max_age, 60_000, "the stored _maxAge rules");
    assert!(new_expire >= expire);
    let pttl = bench.pttl(&id).await;
    assert!(
        (69_000..=70_000).contains(&pttl),
        "ceil((60 s + 10 s)) = 70 s: {pttl}"
    );
    let cookie = write.cookie("koa.sess").expect("re-sent on save");
    assert_eq!(cookie.value(), id);
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(60))
    );
}

#[actix_web::test]
async fn an_expire_in_the_past_is_a_fresh_session() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::KoaSession),
        Keys::new(["k"]).allow_short_keys(),
    )
    .await;
    let id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let document = format!(
        r#"{{"user":"ada","views":9,"_expire":{},"_maxAge":60000}}"#,
        now_ms() - 1
    );
    bench.node_writes(id, &document, 60).await;
    bench.jar.set("koa.sess", id);
    bench.jar.set(
        "koa.sess.sig",
        &keygrip_sha1("k", &format!("koa.sess={id}")),
    );

    let whoami = bench.send("GET", "/whoami").await;
    assert_eq!(whoami.status, 401, "the session is over by its own _expire");
    let fresh = bench.send("GET", "/").await;
    assert_eq!(fresh.body, "1 views");
    let new_id = bench
        .jar
        .get("koa.sess")
        .expect("a new cookie")
        .value()
        .to_owned();
    assert_ne!(new_id, id);
    assert_eq!(
        bench.get(id).await.unwrap(),
        document,
        "left to its TTL, as koa does"
    );
}

#[actix_web::test]
async fn koa_session_before_6_uses_the_koa_colon_sess_cookie() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::KoaSessionLegacy),
        Keys::new(["old"]).allow_short_keys(),
    )
    .await;
    let first = bench.send("GET", "/").await;
    let id = first
        .cookie("koa:sess")
        .expect("koa:sess")
        .value()
        .to_owned();
    let sig = first.cookie("koa:sess.sig").expect("koa:sess.sig");
    assert_eq!(sig.value(), keygrip_sha1("old", &format!("koa:sess={id}")));
    let (head, _, max_age) = koa_envelope(&bench.get(&id).await.unwrap());
    assert_eq!((head.as_str(), max_age), (r#"{"views":1,"#, DAY_MS));
    assert_eq!(first.writes()[0][0], "SETEX");
}

#[actix_web::test]
async fn koa2_session2_redis_keys_ids_and_expiry() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::Koa2Session2Redis),
        Keys::new(["k2"]).allow_short_keys(),
    )
    .await;
    let first = bench.send("GET", "/").await;
    let id = first.cookie("koa:sid").expect("koa:sid").value().to_owned();
    assert_eq!(id.len(), 48);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let key = format!("SESSION:{id}");
    assert_eq!(bench.get(&key).await.unwrap(), r#"{"views":1}"#);
    assert_eq!(
        first.writes(),
        [vec![
            "SET".to_owned(),
            key.clone(),
            r#"{"views":1}"#.to_owned(),
            "EX".to_owned(),
            "1000".to_owned()
        ]]
    );
    let pttl = bench.pttl(&key).await;
    assert!((999_000..=1_000_000).contains(&pttl), "{pttl}");
}

#[actix_web::test]
async fn koa2_session2_redis_reads_its_documents_under_a_renamed_cookie() {
    // The keygrip vector for `koa:sess=<48 hex>`: koa2-session2-redis with `key: 'koa:sess'`.
    let vector = vectors::<KeygripVector>("keygrip-vectors.json")
        .into_iter()
        .find(|v| v.data.starts_with("koa:sess="))
        .expect("the koa:sess vector");
    assert_eq!(vector.index, 0);
    let id = vector.data.trim_start_matches("koa:sess=").to_owned();
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::Koa2Session2Redis).cookie_name("koa:sess"),
        Keys::new(&vector.keys).allow_short_keys(),
    )
    .await;
    let key = format!("SESSION:{id}");
    bench
        .node_writes(&key, r#"{"views":5,"flash":"hi"}"#, 500)
        .await;
    bench.jar.set("koa:sess", &id);
    bench.jar.set("koa:sess.sig", &vector.signature);
    let write = bench.send("GET", "/").await;
    assert_eq!(write.body, "6 views");
    assert_eq!(
        bench.get(&key).await.unwrap(),
        r#"{"views":6,"flash":"hi"}"#
    );
}

#[actix_web::test]
async fn koa_session_redis3_writes_compact_json_in_insertion_order() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::KoaSessionRedis3).key_prefix("myapp"),
        Keys::new(["r3"]).allow_short_keys(),
    )
    .await;
    // A puid, as koa-session-redis3 makes them, and its document.
    let id = "kqz1x2y30b1a5c3d4e000001";
    let key = format!("myapp:{id}");
    bench
        .node_writes(&key, r#"{"name":"x","views":7}"#, 600)
        .await;
    bench.jar.set("koa:sess", id);
    bench.jar.set(
        "koa:sess.sig",
        &keygrip_sha1("r3", &format!("koa:sess={id}")),
    );

    let peek = bench.send("GET", "/peek").await;
    assert_eq!(peek.body, "7 views");
    assert!(peek.writes().is_empty(), "unchanged: nothing written");
    let write = bench.send("GET", "/").await;
    assert_eq!(write.body, "8 views");
    let priced = bench.send("GET", "/price").await;
    assert_eq!(priced.round_trip_names(), ["EVALSHA", "EVALSHA"]);
    // Insertion order kept, new keys last, the float 3.0 written as JavaScript does.
    assert_eq!(
        bench.get(&key).await.unwrap(),
        r#"{"name":"x","views":8,"price":3}"#
    );
    assert_eq!(
        priced.writes()[0][3..],
        ["EX".to_owned(), "86400".to_owned()]
    );

    // A new session: our own id shape (a puid is no secret) under `myapp:`.
    bench.jar = Jar::default();
    let created = bench.send("GET", "/").await;
    let new_id = created
        .cookie("koa:sess")
        .expect("koa:sess")
        .value()
        .to_owned();
    assert_eq!(new_id.len(), 32);
    assert_eq!(
        bench.get(&format!("myapp:{new_id}")).await.unwrap(),
        r#"{"views":1}"#
    );
}

#[actix_web::test]
async fn express_session_writes_what_connect_redis_writes() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::ExpressSession),
        Keys::new(["keyboard cat"]).allow_short_keys(),
    )
    .await;

    let first = bench.send("GET", "/").await;
    assert_eq!(first.round_trip_names(), ["EVALSHA"]);
    let raw = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with("connect.sid="))
        .expect("connect.sid");
    let value = raw
        .trim_start_matches("connect.sid=")
        .split(';')
        .next()
        .unwrap();
    assert!(
        value.starts_with("s%3A"),
        "percent-encoded like express: {raw}"
    );
    assert!(!value.contains('/') && !value.contains('+'), "{value}");
    let decoded = value
        .replace("%3A", ":")
        .replace("%2B", "+")
        .replace("%2F", "/");
    let (id, signature) = decoded[2..].rsplit_once('.').unwrap();
    assert_eq!(id.len(), 32, "uid-safe(24)'s shape");
    assert_eq!(signature, cookie_signature("keyboard cat", id));
    assert_eq!(
        first.set_cookies.len(),
        1,
        "no .sig cookie: {:?}",
        first.set_cookies
    );

    let key = format!("sess:{id}");
    let document = bench.get(&key).await.expect("sess:<id>");
    assert_eq!(
        document,
        r#"{"cookie":{"originalMaxAge":null,"secure":true,"httpOnly":true,"path":"/","sameSite":"lax"},"views":1}"#,
        "`secure` as express stores it for a cookie that is always Secure (the default)"
    );
    assert_eq!(
        first.writes(),
        [vec![
            "SET".to_owned(),
            key.clone(),
            document.clone(),
            "EX".to_owned(),
            "86400".to_owned()
        ]],
        "connect-redis' default ttl for a cookie without expires"
    );

    let peek = bench.send("GET", "/peek").await;
    assert_eq!(peek.body, "1 views");
    assert_eq!(peek.round_trip_names(), ["EVALSHA"]);
    assert_eq!(
        peek.writes(),
        [vec!["EXPIRE".to_owned(), key.clone(), "86400".to_owned()]],
        "a read touches, as express-session + connect-redis do"
    );
}

#[actix_web::test]
async fn express_cookie_object_follows_a_max_age() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| {
            b.compat(Compat::ExpressSession)
                .max_age(Duration::from_secs(3600))
        },
        Keys::new(["keyboard cat"]).allow_short_keys(),
    )
    .await;
    let first = bench.send("GET", "/").await;
    let id = express_id(&first.cookie("connect.sid").unwrap());
    let document = bench.get(&format!("sess:{id}")).await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(stored["cookie"]["originalMaxAge"], 3_600_000);
    let expires = stored["cookie"]["expires"].as_str().expect("an ISO date");
    assert_eq!(expires.len(), "2026-11-22T09:30:00.000Z".len());
    assert!(expires.ends_with('Z') && expires.as_bytes()[10] == b'T');
    assert!(document.starts_with(r#"{"cookie":{"originalMaxAge":3600000,"expires":""#));
    assert_eq!(first.writes()[0][3..], ["EX".to_owned(), "3600".to_owned()]);
}

/// The session id in an express-session cookie: `s:<id>.<signature>`, `:` encoded.
fn express_id(cookie: &Cookie<'_>) -> String {
    let decoded = cookie.value().replace("%3A", ":");
    decoded[2..].rsplit_once('.').unwrap().0.to_owned()
}

/// As express-session's `cookie: { secure: 'auto' }`: a session's document states the
/// scheme of the request that created it, and keeps it for the session's life, so express
/// re-sends a cookie created over https with `Secure`.
#[actix_web::test]
async fn express_cookie_object_states_the_scheme_that_created_the_session() {
    let server = RedisServer::start();
    let mut bench = bench(
        &server,
        |b| b.compat(Compat::ExpressSession).cookie_secure_from_scheme(),
        Keys::new(["keyboard cat"]).allow_short_keys(),
    )
    .await;
    for (url, secure) in [("https://localhost/", true), ("/", false)] {
        bench.jar = Jar::default();
        let first = bench.send("GET", url).await;
        let cookie = first.cookie("connect.sid").expect("a new session");
        assert_eq!(cookie.secure().unwrap_or(false), secure, "{url}");
        let key = format!("sess:{}", express_id(&cookie));
        let stored: serde_json::Value =
            serde_json::from_str(&bench.get(&key).await.unwrap()).unwrap();
        assert_eq!(stored["cookie"]["secure"], secure, "{url}: {stored}");

        // A later write over the other scheme keeps what the document stated.
        let other = if secure { "/" } else { "https://localhost/" };
        assert_eq!(bench.send("GET", other).await.body, "2 views");
        let stored: serde_json::Value =
            serde_json::from_str(&bench.get(&key).await.unwrap()).unwrap();
        assert_eq!(stored["views"], 2);
        assert_eq!(stored["cookie"]["secure"], secure, "{url}, then {other}");
    }
}

#[actix_web::test]
async fn express_reads_a_connect_redis_document_and_rotated_keys() {
    let vector = &vectors::<SignatureVector>("cookie-signature-vectors.json")[0];
    let server = RedisServer::start();
    // A newer secret first: the vector's secret still verifies, and we re-sign.
    let keys = Keys::new(["a newer secret", vector.secret.as_str()]).allow_short_keys();
    let mut bench = bench(&server, |b| b.compat(Compat::ExpressSession), keys).await;
    let key = format!("sess:{}", vector.id);
    // What express-session 1.19 + connect-redis 9 write for `cookie: { maxAge: 3600000 }`.
    let document = r#"{"cookie":{"originalMaxAge":3600000,"expires":"2030-01-01T00:00:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":2,"user":"ada","returnTo":"/cart"}"#;
    bench.node_writes(&key, document, 3600).await;
    let on_the_wire = vector
        .signed
        .replace(':', "%3A")
        .replace('+', "%2B")
        .replace('/', "%2F");
    bench.jar.set("connect.sid", &on_the_wire);

    let whoami = bench.send("GET", "/whoami").await;
    assert_eq!((whoami.status, whoami.body.as_str()), (200, "ada"));
    let resigned = whoami
        .cookie("connect.sid")
        .expect("re-signed with the first key");
    let expected = format!(
        "s:{}.{}",
        vector.id,
        cookie_signature("a newer secret", &vector.id)
    );
    assert_eq!(
        resigned
            .value()
            .replace("%3A", ":")
            .replace("%2B", "+")
            .replace("%2F", "/"),
        expected
    );
    assert_eq!(
        resigned.max_age(),
        Some(actix_web::cookie::time::Duration::hours(1)),
        "originalMaxAge rules"
    );

    let write = bench.send("GET", "/").await;
    assert_eq!(write.body, "3 views");
    let stored = bench.get(&key).await.unwrap();
    let (head, tail) = stored.split_once(r#""expires":""#).unwrap();
    assert_eq!(head, r#"{"cookie":{"originalMaxAge":3600000,"#);
    assert_eq!(
        &tail[24..],
        r#"","secure":false,"httpOnly":true,"path":"/"},"views":3,"user":"ada","returnTo":"/cart"}"#
    );
    assert_ne!(
        &tail[..24],
        "2030-01-01T00:00:00.000Z",
        "expires moved, as touch() does"
    );
    assert_eq!(write.writes()[1][3..], ["EX".to_owned(), "3600".to_owned()]);

    // A forged signature is no session at all: no store call.
    bench
        .jar
        .set("connect.sid", &on_the_wire.replace("wiLB", "wiLC"));
    let forged = bench.send("GET", "/whoami").await;
    assert_eq!(forged.status, 401);
    assert!(forged.round_trips.is_empty());
}

/// Bumps the views while "the Node app" changes the same session between our load and
/// our commit: it sets `user` and adds `flash` behind our back.
async fn race(
    mut session: Session<counter_app::Visit>,
    node: web::Data<(redis::Client, String)>,
) -> String {
    let (client, key) = node.get_ref();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let current: String = conn.get(key).await.unwrap();
    let theirs = current.replace(
        r#""views":1"#,
        r#""views":1,"user":"grace","flash":"saved""#,
    );
    let _: () = conn.set_ex(key, theirs, 600).await.unwrap();
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

#[actix_web::test]
async fn a_node_write_between_our_load_and_commit_is_merged_not_lost() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut raw = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let id = "0123456789abcdef0123456789abcdef0123456789abcdef";
    let key = format!("SESSION:{id}");
    let _: () = raw
        .set_ex(&key, r#"{"views":1,"cart":[7]}"#, 600)
        .await
        .unwrap();
    let mut log = CommandLog::start(&server).await;
    let sessions = SessionMiddleware::builder(store, Keys::none())
        .compat(Compat::Koa2Session2Redis)
        .build();
    let app = test::init_service(
        App::new()
            .wrap(sessions)
            .app_data(web::Data::new((server.client(), key.clone())))
            .route("/race", web::get().to(race)),
    )
    .await;
    // As a browser sends it: `TestRequest::cookie` would percent-encode the name's `:`.
    let req = test::TestRequest::get()
        .uri("/race")
        .insert_header((COOKIE, format!("koa:sid={id}")))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(body(res).await, "2 views");
    let app_commands: Vec<String> = log
        .take()
        .await
        .iter()
        .filter(|c| c.name() == "EVALSHA")
        .map(LoggedCommand::name)
        .collect();
    assert_eq!(
        app_commands,
        ["EVALSHA", "EVALSHA", "EVALSHA"],
        "load, a commit refused on the changed document, the commit merged again"
    );
    let stored: String = raw.get(&key).await.unwrap();
    assert_eq!(
        stored,
        r#"{"views":2,"user":"grace","flash":"saved","cart":[7]}"#
    );
}

#[actix_web::test]
async fn a_renewal_moves_an_express_document_whole_and_in_order() {
    let vector = &vectors::<SignatureVector>("cookie-signature-vectors.json")[1];
    let server = RedisServer::start();
    let keys = Keys::new([vector.secret.as_str()]).allow_short_keys();
    let mut bench = bench(&server, |b| b.compat(Compat::ExpressSession), keys).await;
    let old_key = format!("sess:{}", vector.id);
    let document = r#"{"cookie":{"originalMaxAge":3600000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"views":2,"returnTo":"/cart"}"#;
    bench.node_writes(&old_key, document, 86400).await;
    bench
        .jar
        .set("connect.sid", &vector.signed.replace(':', "%3A"));

    let login = bench.send("POST", "/login").await;
    assert_eq!(login.body, "welcome");
    assert_eq!(
        login.round_trip_names(),
        ["EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA", "ZSCORE"],
        "renew: load + the old document read and deleted in one script + the user's index \
         joined (the JSON commit script knows no index) + create + the join checked (an \
         ending may have taken it out meanwhile)"
    );
    assert_eq!(bench.get(&old_key).await, None, "the old id is gone");
    let new_id = express_id(&login.cookie("connect.sid").expect("the new id"));
    assert_ne!(new_id, vector.id);
    let moved = bench.get(&format!("sess:{new_id}")).await.unwrap();
    let (head, tail) = moved.split_once(r#""expires":""#).unwrap();
    assert_eq!(head, r#"{"cookie":{"originalMaxAge":3600000,"#);
    assert_ne!(
        &tail[..24],
        "2030-01-01T00:00:00.000Z",
        "expires moved, as on any write"
    );
    assert_eq!(
        &tail[24..],
        r#"","httpOnly":true,"path":"/"},"views":2,"returnTo":"/cart","user":"ada"}"#
    );
}

#[actix_web::test]
async fn a_preset_works_on_the_memory_store_too() {
    let store = actix_typed_session::store::MemoryStore::new();
    let sessions = SessionMiddleware::builder(store.clone(), Keys::new(["k"]).allow_short_keys())
        .compat(Compat::KoaSession)
        .build();
    let app = test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await;
    let mut jar = Jar::default();
    for expected in ["1 views", "2 views"] {
        let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
        jar.absorb(&res);
        assert_eq!(body(res).await, expected);
    }
    let id = jar.get("koa.sess").expect("koa.sess").value().to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(store.len(), 1);
}
