//! The real Node session packages, each behind an app with the counter's contract
//! (`tests/node/`), against a Redis of their own: the contract holds, and the exact cookies
//! and Redis commands each package puts on the wire are pinned here, as the formats the
//! Rust presets must read and write. `tests/node/WIRE.md` is the written capture; run with
//! `--nocapture` to print the transcript it was made from.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_typed_session_tests::browser::{Browser, Reply};
use actix_typed_session_tests::node::{keygrip_sha1, NodeApp, NodePackage, DEFAULT_KEYS};
use actix_typed_session_tests::{names, CommandLog, LoggedCommand, RedisServer};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use redis::aio::MultiplexedConnection;
use serde_json::Value;

const ONE_DAY_MS: i64 = 86_400_000;
/// The first of [`DEFAULT_KEYS`]: the one that signs.
fn signing_key() -> &'static str {
    DEFAULT_KEYS.split(',').next().expect("a key")
}

/// One app and its own Redis, a browser, and a log of the commands the app sends.
struct Probe {
    // Fields drop in order: the app goes before the Redis it talks to.
    app: NodeApp,
    log: CommandLog,
    redis: MultiplexedConnection,
    browser: Browser,
    server: RedisServer,
}

/// What one request did: the answer and the Redis commands it caused.
struct Step {
    reply: Reply,
    commands: Vec<LoggedCommand>,
}

impl Probe {
    async fn start(package: NodePackage, env: &[(&str, &str)]) -> Self {
        let server = RedisServer::start();
        let app = NodeApp::start_with(package, &server, env);
        Self::attach(app, server).await
    }

    async fn attach(app: NodeApp, server: RedisServer) -> Self {
        let log = CommandLog::start(&server).await;
        let redis = server
            .client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis-server");
        Self {
            app,
            log,
            redis,
            browser: Browser::new(),
            server,
        }
    }

    /// Stops the app and starts the same package with `env` on the same Redis, keeping
    /// the browser: a deploy with new settings.
    async fn redeploy(&mut self, env: &[(&str, &str)]) {
        let package = self.app.package();
        self.app = NodeApp::start_with(package, &self.server, env);
        self.log.take().await;
    }

    async fn get(&mut self, path: &str) -> Step {
        let reply = self.browser.get(&self.app.url(path)).await;
        self.step("GET", path, reply).await
    }

    async fn post(&mut self, path: &str) -> Step {
        let reply = self.browser.post(&self.app.url(path)).await;
        self.step("POST", path, reply).await
    }

    async fn step(&mut self, method: &str, path: &str, reply: Reply) -> Step {
        let commands = self.log.take().await;
        eprintln!(
            "{:?} {method} {path} -> {} {:?}",
            self.app.package(),
            reply.status,
            reply.body
        );
        for header in &reply.set_cookies {
            eprintln!("    Set-Cookie: {header}");
        }
        for command in &commands {
            let args: Vec<String> = (0..command.args.len()).map(|i| command.arg(i)).collect();
            eprintln!("    redis: {}", args.join(" "));
        }
        Step { reply, commands }
    }

    /// Runs `args` on our own connection, out of the app's command log.
    async fn redis<T: redis::FromRedisValue>(&mut self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let value = cmd
            .query_async(&mut self.redis)
            .await
            .expect("redis command");
        self.log.take().await;
        value
    }

    async fn stored(&mut self, key: &str) -> Option<String> {
        self.redis(&["GET", key]).await
    }

    async fn ttl(&mut self, key: &str) -> i64 {
        self.redis(&["TTL", key]).await
    }
}

/// `name` and each argument of the commands, for one-line comparisons.
fn render(commands: &[LoggedCommand]) -> Vec<String> {
    commands
        .iter()
        .map(|c| {
            let mut words = vec![c.name()];
            words.extend((1..c.args.len()).map(|i| c.arg(i)));
            words.join(" ")
        })
        .collect()
}

/// The attributes of a `Set-Cookie` header after its `name=value`, names lower-cased.
fn attributes(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .skip(1)
        .map(|attr| {
            let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect()
}

fn attribute_names(header: &str) -> Vec<String> {
    attributes(header)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

/// express-session's cookie value for `id`, as sent: `s:<id>.<base64 HMAC-SHA256(key, id),
/// standard alphabet, no padding>`, then percent-encoded like `encodeURIComponent`.
fn express_cookie(key: &str, id: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(id.as_bytes());
    let signed = format!(
        "s:{id}.{}",
        STANDARD_NO_PAD.encode(mac.finalize().into_bytes())
    );
    signed
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'~' => {
                (b as char).to_string()
            }
            b'*' | b'\'' | b'(' | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The id inside an express cookie value (`s%3A<id>.<sig>`).
fn express_id(cookie: &str) -> String {
    let unsigned = cookie.strip_prefix("s%3A").expect("an s: signed cookie");
    let (id, _) = unsigned.rsplit_once('.').expect("a signature");
    id.to_owned()
}

fn is_uuid_v4(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '4',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

/// koa-session's document: `{..fields, "_expire": <ms since epoch>, "_maxAge": <ms>}`.
/// Returns `_expire` after checking the exact bytes around it.
fn check_koa_json(json: &str, fields: &str, max_age: i64) -> i64 {
    let value: Value = serde_json::from_str(json).expect("JSON");
    let expire = value["_expire"].as_i64().expect("_expire is an integer");
    assert_eq!(
        json,
        format!(r#"{{{fields},"_expire":{expire},"_maxAge":{max_age}}}"#)
    );
    let ahead = expire - now_ms();
    assert!(
        ahead <= max_age && ahead > max_age - 60_000,
        "_expire is now + maxAge: {ahead} ms ahead"
    );
    expire
}

/// express-session's document: `{"cookie":{..},..fields}` with `expires` an ISO string.
fn check_express_json(json: &str, fields: &str) {
    let value: Value = serde_json::from_str(json).expect("JSON");
    let expires = value["cookie"]["expires"].as_str().expect("expires string");
    assert_eq!(
        json,
        format!(
            r#"{{"cookie":{{"originalMaxAge":{ONE_DAY_MS},"expires":"{expires}","httpOnly":true,"path":"/"}},{fields}}}"#
        )
    );
    // 2026-11-23T09:05:32.915Z: JavaScript's toISOString, milliseconds and a Z.
    let bytes = expires.as_bytes();
    assert!(
        expires.len() == 24 && bytes[10] == b'T' && bytes[19] == b'.' && bytes[23] == b'Z',
        "expires {expires:?}"
    );
}

/// A first `GET /` on a Koa app: "1 views", the id cookie `name` and its keygrip `.sig`
/// (HMAC-SHA1 of `<name>=<id>` with the first key), both with `path=/; expires=…;
/// httponly`. Returns the id and the step.
async fn first_koa_visit(p: &mut Probe, name: &str) -> (String, Step) {
    let first = p.get("/").await;
    assert_eq!(
        (first.reply.status, first.reply.body.as_str()),
        (200, "1 views")
    );
    let sig_name = format!("{name}.sig");
    assert_eq!(first.reply.cookie_names(), [name, sig_name.as_str()]);
    for cookie in [name, sig_name.as_str()] {
        let header = first.reply.set_cookie(cookie).expect("set");
        assert_eq!(attribute_names(header), ["path", "expires", "httponly"]);
        assert_eq!(attributes(header)[0].1, "/");
    }
    let id = p.browser.cookie(name).expect("an id cookie").to_owned();
    assert_eq!(
        p.browser.cookie(&sig_name),
        Some(keygrip_sha1(signing_key(), name, &id).as_str())
    );
    (id, first)
}

/// `/peek` and `/health` with a session: exactly `expected` reaches Redis, no cookie is set.
async fn reads_only(p: &mut Probe, expected: &[String]) {
    for path in ["/peek", "/health"] {
        let read = p.get(path).await;
        assert_eq!(render(&read.commands), expected, "{path}");
        assert!(read.reply.set_cookies.is_empty(), "{path}");
    }
}

#[actix_web::test]
async fn koa_session_with_koa_redis() {
    let mut p = Probe::start(NodePackage::KoaSession, &[]).await;
    let name = "koa.sess";

    // First visit: one SETEX, the id as the key, TTL = ceil((maxAge + 10 s) / 1000).
    let (id, first) = first_koa_visit(&mut p, name).await;
    assert!(is_uuid_v4(&id), "koa-session ids are random UUIDs: {id}");
    assert_eq!(names(&first.commands), ["SETEX"]);
    assert_eq!(first.commands[0].arg(1), id);
    assert_eq!(first.commands[0].arg(2), "86410");
    check_koa_json(&first.commands[0].arg(3), r#""views":1"#, ONE_DAY_MS);
    let ttl = p.ttl(&id).await;
    assert!((86_400..=86_410).contains(&ttl), "TTL {ttl}");

    // Second visit: GET, then SETEX of the whole document; the cookie is sent again.
    let second = p.get("/").await;
    assert_eq!(second.reply.body, "2 views");
    assert_eq!(render(&second.commands[..1]), [format!("GET {id}")]);
    assert_eq!(names(&second.commands), ["GET", "SETEX"]);
    assert_eq!(second.commands[1].arg(2), "86410");
    check_koa_json(&second.commands[1].arg(3), r#""views":2"#, ONE_DAY_MS);
    assert_eq!(second.reply.cookie_names(), [name, "koa.sess.sig"]);

    // Read-only requests load and write nothing back, and set no cookie. Even a route that
    // never touches the session loads it: koa-session reads in front of every request.
    reads_only(&mut p, &[format!("GET {id}")]).await;

    // Login with regenerate(): the old key deleted, the document written twice under a new
    // id (once by regenerate, once more by the commit after the handler).
    let login = p.post("/login?user=ada").await;
    assert_eq!(login.reply.body, "welcome ada");
    let renewed = p.browser.cookie(name).expect("a new cookie").to_owned();
    assert_ne!(renewed, id);
    assert!(is_uuid_v4(&renewed));
    assert_eq!(names(&login.commands), ["GET", "DEL", "SETEX", "SETEX"]);
    assert_eq!(login.commands[1].arg(1), id);
    for write in &login.commands[2..] {
        assert_eq!(write.arg(1), renewed);
        check_koa_json(&write.arg(3), r#""views":2,"user":"ada""#, ONE_DAY_MS);
    }
    assert_eq!(p.stored(&id).await, None);
    let whoami = p.get("/whoami").await;
    assert_eq!(
        (whoami.reply.status, whoami.reply.body.as_str()),
        (200, "ada")
    );
    assert_eq!(render(&whoami.commands), [format!("GET {renewed}")]);

    // Logout (`ctx.session = null`): DEL, and both cookies cleared with a 1970 expiry; the
    // emptied `.sig` is the signature of "koa.sess=".
    let logout = p.post("/logout").await;
    assert_eq!(logout.reply.body, "bye");
    assert_eq!(
        render(&logout.commands),
        [format!("GET {renewed}"), format!("DEL {renewed}")]
    );
    assert_eq!(
        logout.reply.set_cookies,
        [
            "koa.sess=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly".to_owned(),
            format!(
                "koa.sess.sig={}; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly",
                keygrip_sha1(signing_key(), name, "")
            ),
        ]
    );
    let after = p.get("/whoami").await;
    assert_eq!(after.reply.status, 401);
    assert_eq!(after.commands, [], "no cookie left, nothing to load");
}

#[actix_web::test]
async fn koa_session_trusts_expire_and_max_age_in_the_document() {
    let mut p = Probe::start(NodePackage::KoaSession, &[]).await;
    p.get("/").await;
    let id = p.browser.cookie("koa.sess").expect("cookie").to_owned();

    // A stored `_maxAge` becomes this session's lifetime: the TTL and the cookie follow it.
    let short = r#"{"views":5,"_expire":99999999999999,"_maxAge":60000}"#;
    let _: () = p.redis(&["SET", &id, short]).await;
    let visit = p.get("/").await;
    assert_eq!(visit.reply.body, "6 views");
    assert_eq!(names(&visit.commands), ["GET", "SETEX"]);
    assert_eq!(visit.commands[1].arg(2), "70");
    check_koa_json(&visit.commands[1].arg(3), r#""views":6"#, 60_000);

    // An `_expire` in the past is a fresh session under a new id; the old key is left to
    // its TTL.
    let past = r#"{"views":7,"user":"ada","_expire":1000,"_maxAge":86400000}"#;
    let _: () = p.redis(&["SET", &id, past]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert_eq!(render(&peek.commands), [format!("GET {id}")]);
    let visit = p.get("/").await;
    assert_eq!(visit.reply.body, "1 views");
    let fresh = p.browser.cookie("koa.sess").expect("cookie").to_owned();
    assert_ne!(fresh, id);
    assert_eq!(names(&visit.commands), ["GET", "SETEX"]);
    assert_eq!(visit.commands[1].arg(1), fresh);
    assert_eq!(p.stored(&id).await.as_deref(), Some(past));

    // A document that is not JSON is a fresh session too (koa-redis swallows the error).
    let _: () = p.redis(&["SET", &fresh, "not json"]).await;
    let peek = p.get("/peek").await;
    assert_eq!(
        (peek.reply.status, peek.reply.body.as_str()),
        (200, "0 views")
    );
}

#[actix_web::test]
async fn koa_redis_cannot_store_browser_session_cookies() {
    // maxAge: 'session' reaches koa-redis as the TTL "session": SETEX fails, the request
    // answers 500 and nothing is stored. A preset must not copy this.
    let mut p = Probe::start(NodePackage::KoaSession, &[("SESSION_MAX_AGE", "session")]).await;
    let first = p.get("/").await;
    assert_eq!(first.reply.status, 500);
    assert_eq!(names(&first.commands), ["SETEX"]);
    assert_eq!(first.commands[0].arg(2), "session");
    assert_eq!(first.commands[0].arg(3), r#"{"views":1,"_session":true}"#);
    let key = first.commands[0].arg(1);
    assert_eq!(p.stored(&key).await, None);
}

#[actix_web::test]
async fn koa_session_resigns_cookies_signed_with_an_older_key() {
    let mut p = Probe::start(NodePackage::KoaSession, &[("SESSION_KEYS", "old key")]).await;
    p.get("/").await;
    let id = p.browser.cookie("koa.sess").expect("cookie").to_owned();

    // Rotated: the old key still verifies; only `.sig` is sent again, signed by the new
    // one, and without the session's expiry (cookies' defaults: path and httponly only),
    // so it turns into a browser-session cookie.
    p.redeploy(&[("SESSION_KEYS", "new key,old key")]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "1 views");
    assert_eq!(peek.reply.cookie_names(), ["koa.sess.sig"]);
    let resigned = peek.reply.set_cookie("koa.sess.sig").expect("koa.sess.sig");
    assert_eq!(attribute_names(resigned), ["path", "httponly"]);
    assert_eq!(
        p.browser.cookie("koa.sess.sig"),
        Some(keygrip_sha1("new key", "koa.sess", &id).as_str())
    );
    assert_eq!(render(&peek.commands), [format!("GET {id}")]);

    // Retired: a cookie signed by a key no longer in the ring is no session at all, its id
    // never reaches Redis, and the bad `.sig` is cleared (the id cookie is left).
    p.redeploy(&[("SESSION_KEYS", "newest key")]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert_eq!(peek.commands, []);
    assert_eq!(
        peek.reply.set_cookies,
        ["koa.sess.sig=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"]
    );
}

#[actix_web::test]
async fn koa_session_renew_rewrites_when_half_the_lifetime_is_gone() {
    let env = [("SESSION_RENEW", "1"), ("SESSION_MAX_AGE", "60000")];
    let mut p = Probe::start(NodePackage::KoaSession, &env).await;
    p.get("/").await;
    let id = p.browser.cookie("koa.sess").expect("cookie").to_owned();
    let fresh = p.get("/peek").await;
    assert_eq!(render(&fresh.commands), [format!("GET {id}")]);
    assert!(fresh.reply.set_cookies.is_empty());

    // Less than half of maxAge left: a read-only request writes the document again.
    let expire = now_ms() + 20_000;
    let doc = format!(r#"{{"views":1,"_expire":{expire},"_maxAge":60000}}"#);
    let _: () = p.redis(&["SET", &id, &doc]).await;
    let renewed = p.get("/peek").await;
    assert_eq!(names(&renewed.commands), ["GET", "SETEX"]);
    assert_eq!(renewed.commands[1].arg(2), "70");
    check_koa_json(&renewed.commands[1].arg(3), r#""views":1"#, 60_000);
    assert_eq!(renewed.reply.cookie_names(), ["koa.sess", "koa.sess.sig"]);
}

/// The JSON inside a koa-session cookie value: koa-session writes standard base64 with `=`
/// padding, which the strict decoder checks.
fn koa_cookie_json(value: &str) -> String {
    let bytes = STANDARD.decode(value).expect("standard base64, padded");
    String::from_utf8(bytes).expect("UTF-8 JSON")
}

/// Puts a session into the browser as koa-session's cookie mode would have: base64 of
/// `json` in `koa.sess`, its keygrip signature (first key) in `koa.sess.sig`.
fn plant_koa_cookie(p: &mut Probe, json: &str) -> String {
    let value = STANDARD.encode(json);
    let sig = keygrip_sha1(signing_key(), "koa.sess", &value);
    p.browser.set_cookie("koa.sess", &value);
    p.browser.set_cookie("koa.sess.sig", &sig);
    value
}

#[actix_web::test]
async fn koa_session_without_a_store_keeps_the_session_in_the_signed_cookie() {
    // A Redis is there, to show that the cookie mode never sends it a command.
    let mut p = Probe::start(NodePackage::KoaSessionCookie, &[]).await;
    let name = "koa.sess";

    // First visit: the session itself is the cookie, base64 of the JSON koa-session would
    // store, signed like an id.
    let (value, first) = first_koa_visit(&mut p, name).await;
    assert_eq!(first.commands, []);
    check_koa_json(&koa_cookie_json(&value), r#""views":1"#, ONE_DAY_MS);

    // A write sends both cookies again with the new JSON; reads send nothing.
    let second = p.get("/").await;
    assert_eq!(second.reply.body, "2 views");
    assert_eq!(second.reply.cookie_names(), [name, "koa.sess.sig"]);
    let value = p.browser.cookie(name).expect("cookie").to_owned();
    check_koa_json(&koa_cookie_json(&value), r#""views":2"#, ONE_DAY_MS);
    reads_only(&mut p, &[]).await;

    // Login: nothing to regenerate, the same cookie with `user` added.
    let login = p.post("/login?user=ada").await;
    assert_eq!(login.reply.body, "welcome ada");
    assert_eq!(login.commands, []);
    let value = p.browser.cookie(name).expect("cookie").to_owned();
    check_koa_json(
        &koa_cookie_json(&value),
        r#""views":2,"user":"ada""#,
        ONE_DAY_MS,
    );
    let whoami = p.get("/whoami").await;
    assert_eq!(whoami.reply.body, "ada");
    assert!(whoami.reply.set_cookies.is_empty());

    // Keys it does not know are kept in place; `_` keys and `isNew` are read, never
    // written back; the cookie's own `_maxAge` is the session's lifetime from now on.
    let far = now_ms() + 3_600_000;
    plant_koa_cookie(
        &mut p,
        &format!(
            r#"{{"views":5,"cart":["tea"],"_note":"x","isNew":true,"_expire":{far},"_maxAge":60000}}"#
        ),
    );
    let visit = p.get("/").await;
    assert_eq!(visit.reply.body, "6 views");
    let value = p.browser.cookie(name).expect("cookie").to_owned();
    check_koa_json(
        &koa_cookie_json(&value),
        r#""views":6,"cart":["tea"]"#,
        60_000,
    );

    // Signed, but `_expire` has passed: a fresh session, and no cookie until a write.
    plant_koa_cookie(&mut p, r#"{"views":7,"_expire":1000,"_maxAge":86400000}"#);
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert!(peek.reply.set_cookies.is_empty());
    // Signed, but not base64 of JSON: the same (JSON.parse's error is swallowed).
    p.browser.set_cookie(name, "bm90IGpzb24=");
    let sig = keygrip_sha1(signing_key(), name, "bm90IGpzb24=");
    p.browser.set_cookie("koa.sess.sig", &sig);
    assert_eq!(p.get("/peek").await.reply.body, "0 views");

    // Tampered: a value its signature does not cover is no session, and the `.sig` is
    // cleared (the value cookie is left).
    let honest = plant_koa_cookie(&mut p, &format!(r#"{{"views":3,"_expire":{far}}}"#));
    let forged = STANDARD.encode(format!(r#"{{"views":300,"_expire":{far}}}"#));
    p.browser.set_cookie(name, &forged);
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert_eq!(
        peek.reply.set_cookies,
        ["koa.sess.sig=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly"]
    );
    plant_koa_cookie(&mut p, &koa_cookie_json(&honest));
    assert_eq!(p.get("/peek").await.reply.body, "3 views");

    // Logout: both cookies cleared, as with a store.
    let logout = p.post("/logout").await;
    assert_eq!(logout.reply.body, "bye");
    assert_eq!(
        logout.reply.set_cookies,
        [
            "koa.sess=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly".to_owned(),
            format!(
                "koa.sess.sig={}; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly",
                keygrip_sha1(signing_key(), name, "")
            ),
        ]
    );
    assert_eq!(logout.commands, [], "no request reaches Redis");
    assert_eq!(p.get("/whoami").await.reply.status, 401);
}

#[actix_web::test]
async fn koa_session_without_a_store_keeps_browser_session_cookies() {
    // Unlike koa-redis, the cookie mode handles maxAge: 'session': `_session` in place of
    // `_expire` and `_maxAge`, and cookies without an expiry. Started with no Redis at all.
    let app = NodeApp::start_without_redis(
        NodePackage::KoaSessionCookie,
        &[("SESSION_MAX_AGE", "session")],
    );
    let mut browser = Browser::new();
    for views in 1..=2 {
        let visit = browser.get(&app.url("/")).await;
        assert_eq!(visit.body, format!("{views} views"));
        for cookie in ["koa.sess", "koa.sess.sig"] {
            let header = visit.set_cookie(cookie).expect("set");
            assert_eq!(attribute_names(header), ["path", "httponly"]);
        }
        let value = browser.cookie("koa.sess").expect("cookie");
        assert_eq!(
            koa_cookie_json(value),
            format!(r#"{{"views":{views},"_session":true}}"#)
        );
    }
}

#[actix_web::test]
async fn koa_session_without_a_store_resigns_cookies_signed_with_an_older_key() {
    let mut p = Probe::start(
        NodePackage::KoaSessionCookie,
        &[("SESSION_KEYS", "old key")],
    )
    .await;
    p.get("/").await;
    let value = p.browser.cookie("koa.sess").expect("cookie").to_owned();

    // As with a store: only `.sig` is sent again, by the new key, without an expiry.
    p.redeploy(&[("SESSION_KEYS", "new key,old key")]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "1 views");
    assert_eq!(peek.reply.cookie_names(), ["koa.sess.sig"]);
    let resigned = peek.reply.set_cookie("koa.sess.sig").expect("koa.sess.sig");
    assert_eq!(attribute_names(resigned), ["path", "httponly"]);
    assert_eq!(
        p.browser.cookie("koa.sess.sig"),
        Some(keygrip_sha1("new key", "koa.sess", &value).as_str())
    );

    p.redeploy(&[("SESSION_KEYS", "newest key")]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert_eq!(peek.reply.cookie_names(), ["koa.sess.sig"]);
}

#[actix_web::test]
async fn express_session_with_connect_redis() {
    let mut p = Probe::start(NodePackage::ExpressSession, &[]).await;
    let name = "connect.sid";

    // First visit: one SET ... EX, key `sess:<id>`, the cookie `s:`-signed and
    // percent-encoded.
    let first = p.get("/").await;
    assert_eq!(
        (first.reply.status, first.reply.body.as_str()),
        (200, "1 views")
    );
    assert_eq!(first.reply.cookie_names(), [name]);
    let cookie = p.browser.cookie(name).expect("connect.sid").to_owned();
    let id = express_id(&cookie);
    assert_eq!(id.len(), 32, "24 random bytes, base64url: {id}");
    assert_eq!(cookie, express_cookie(signing_key(), &id));
    let header = first.reply.set_cookie(name).expect("connect.sid");
    assert_eq!(attribute_names(header), ["path", "expires", "httponly"]);
    assert!(header.contains("; Path=/; Expires="), "{header}");
    assert!(header.ends_with(" GMT; HttpOnly"), "{header}");
    let key = format!("sess:{id}");
    assert_eq!(names(&first.commands), ["SET"]);
    let set = &first.commands[0];
    assert_eq!((set.arg(1), set.arg(3)), (key.clone(), "EX".to_owned()));
    assert!(
        ["86399", "86400"].contains(&set.arg(4).as_str()),
        "EX {}",
        set.arg(4)
    );
    check_express_json(&set.arg(2), r#""views":1"#);

    // Second visit: GET, SET of the whole document; modified, so the cookie again.
    let second = p.get("/").await;
    assert_eq!(second.reply.body, "2 views");
    assert_eq!(names(&second.commands), ["GET", "SET"]);
    check_express_json(&second.commands[1].arg(2), r#""views":2"#);
    assert_eq!(second.reply.cookie_names(), [name]);

    // Read-only: the TTL is refreshed with EXPIRE (connect-redis's touch), the stored
    // `cookie.expires` is left stale, and no cookie is sent. Every route loads and touches.
    for path in ["/peek", "/health"] {
        let read = p.get(path).await;
        assert_eq!(names(&read.commands), ["GET", "EXPIRE"], "{path}");
        assert_eq!(read.commands[1].arg(1), key);
        assert!(["86399", "86400"].contains(&read.commands[1].arg(2).as_str()));
        assert!(read.reply.set_cookies.is_empty(), "{path}");
    }

    // Login with regenerate(): DEL of the old key, one SET under the new id.
    let login = p.post("/login?user=ada").await;
    assert_eq!(login.reply.body, "welcome ada");
    let renewed = express_id(p.browser.cookie(name).expect("cookie"));
    assert_ne!(renewed, id);
    assert_eq!(names(&login.commands), ["GET", "DEL", "SET"]);
    assert_eq!(login.commands[1].arg(1), key);
    assert_eq!(login.commands[2].arg(1), format!("sess:{renewed}"));
    check_express_json(&login.commands[2].arg(2), r#""views":2,"user":"ada""#);
    let whoami = p.get("/whoami").await;
    assert_eq!(
        (whoami.reply.status, whoami.reply.body.as_str()),
        (200, "ada")
    );
    assert_eq!(names(&whoami.commands), ["GET", "EXPIRE"]);

    // Logout (destroy): DEL, and no Set-Cookie: the browser keeps a cookie for a dead id,
    // which loads nothing and saves nothing (saveUninitialized: false).
    let logout = p.post("/logout").await;
    assert_eq!(logout.reply.body, "bye");
    let renewed_key = format!("sess:{renewed}");
    assert_eq!(
        render(&logout.commands),
        [format!("GET {renewed_key}"), format!("DEL {renewed_key}")]
    );
    assert!(logout.reply.set_cookies.is_empty());
    let after = p.get("/whoami").await;
    assert_eq!(after.reply.status, 401);
    assert_eq!(render(&after.commands), [format!("GET {renewed_key}")]);
    assert!(after.reply.set_cookies.is_empty());
}

#[actix_web::test]
async fn express_session_verifies_old_keys_without_resigning() {
    let mut p = Probe::start(NodePackage::ExpressSession, &[("SESSION_KEYS", "old key")]).await;
    p.get("/").await;
    let cookie = p.browser.cookie("connect.sid").expect("cookie").to_owned();
    let id = express_id(&cookie);

    // Rotated: the old signature still verifies and nothing re-signs it until the session
    // is written again; then the new key signs.
    p.redeploy(&[("SESSION_KEYS", "new key,old key")]).await;
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "1 views");
    assert!(peek.reply.set_cookies.is_empty());
    let visit = p.get("/").await;
    assert_eq!(visit.reply.body, "2 views");
    assert_eq!(
        p.browser.cookie("connect.sid"),
        Some(express_cookie("new key", &id).as_str())
    );

    // A cookie without the `s:` prefix is ignored: a new session, nothing loaded.
    p.browser.set_cookie("connect.sid", &id);
    let peek = p.get("/peek").await;
    assert_eq!(peek.reply.body, "0 views");
    assert_eq!(peek.commands, []);
}

#[actix_web::test]
async fn express_session_needs_the_cookie_object() {
    let mut p = Probe::start(NodePackage::ExpressSession, &[]).await;
    p.get("/").await;
    let key = format!(
        "sess:{}",
        express_id(p.browser.cookie("connect.sid").expect("cookie"))
    );

    // The lifetime comes from `cookie.originalMaxAge`; the stored `expires` is only read
    // to be replaced by now + originalMaxAge, and keys it does not know are kept.
    let doc = r#"{"cookie":{"originalMaxAge":60000,"expires":"2000-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"views":4,"cart":[1]}"#;
    let _: () = p.redis(&["SET", &key, doc]).await;
    let visit = p.get("/").await;
    assert_eq!(visit.reply.body, "5 views");
    assert_eq!(names(&visit.commands), ["GET", "SET"]);
    let written: Value = serde_json::from_str(&visit.commands[1].arg(2)).expect("JSON");
    // express-session may derive it from its clock (`expires` minus now) as it saves: a
    // millisecond may tick in between (seen once in CI as 59999).
    let original = written["cookie"]["originalMaxAge"].as_u64();
    assert!(
        original.is_some_and(|ms| (59_000..=60_000).contains(&ms)),
        "{original:?}"
    );
    assert_eq!(written["cart"], serde_json::json!([1]));
    assert!(["59", "60"].contains(&visit.commands[1].arg(4).as_str()));

    // Without the `cookie` object express-session throws while loading: a 500.
    let _: () = p.redis(&["SET", &key, r#"{"views":4}"#]).await;
    let broken = p.get("/peek").await;
    assert_eq!(broken.reply.status, 500);
    assert_eq!(render(&broken.commands), [format!("GET {key}")]);
}

#[actix_web::test]
async fn koa2_session2_redis_seed() {
    let mut p = Probe::start(NodePackage::Koa2Session2Redis, &[]).await;
    let name = "koa:sid";

    // First visit: SET SESSION:<48 hex> <plain JSON> EX <maxAge / 1000>.
    let (id, first) = first_koa_visit(&mut p, name).await;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    assert!(id.len() == 48 && id.bytes().all(hex), "48 hex: {id}");
    let key = format!("SESSION:{id}");
    assert_eq!(
        render(&first.commands),
        [format!(r#"SET {key} {{"views":1}} EX 86400"#)]
    );

    // An update keeps the remaining TTL: GET, TTL, then SET ... EX <what TTL said>. The
    // cookie is sent again with a full maxAge, so it outlives the key.
    let second = p.get("/").await;
    assert_eq!(second.reply.body, "2 views");
    assert_eq!(names(&second.commands), ["GET", "TTL", "SET"]);
    assert_eq!(second.commands[2].arg(2), r#"{"views":2}"#);
    let ex: i64 = second.commands[2].arg(4).parse().expect("EX seconds");
    assert!((86_300..=86_400).contains(&ex), "EX {ex}");
    assert_eq!(second.reply.cookie_names(), [name, "koa:sid.sig"]);

    reads_only(&mut p, &[format!("GET {key}")]).await;

    // No regenerate: login writes under the same id.
    let login = p.post("/login?user=ada").await;
    assert_eq!(login.reply.body, "welcome ada");
    assert_eq!(p.browser.cookie(name), Some(id.as_str()));
    assert_eq!(names(&login.commands), ["GET", "TTL", "SET"]);
    assert_eq!(login.commands[2].arg(2), r#"{"views":2,"user":"ada"}"#);
    assert_eq!(p.get("/whoami").await.reply.body, "ada");

    // Logout: DEL, but the cookie stays; later requests load the missing key.
    let logout = p.post("/logout").await;
    assert_eq!(
        render(&logout.commands),
        [format!("GET {key}"), format!("DEL {key}")]
    );
    assert!(logout.reply.set_cookies.is_empty());
    let after = p.get("/whoami").await;
    assert_eq!(after.reply.status, 401);
    assert_eq!(render(&after.commands), [format!("GET {key}")]);
}

#[actix_web::test]
async fn koa2_session2_redis_loses_writes_to_keys_without_a_ttl() {
    let mut p = Probe::start(NodePackage::Koa2Session2Redis, &[]).await;
    p.get("/").await;
    let key = format!("SESSION:{}", p.browser.cookie("koa:sid").expect("cookie"));
    // A key written without an expiry (TTL -1): the next write is `SET ... EX -1`, which
    // Redis refuses and the package swallows. The answer says 2 views; Redis keeps 1.
    let _: () = p.redis(&["PERSIST", &key]).await;
    let visit = p.get("/").await;
    assert_eq!(
        (visit.reply.status, visit.reply.body.as_str()),
        (200, "2 views")
    );
    assert_eq!(names(&visit.commands), ["GET", "TTL", "SET"]);
    assert_eq!(visit.commands[2].arg(4), "-1");
    assert_eq!(p.stored(&key).await.as_deref(), Some(r#"{"views":1}"#));
}

#[actix_web::test]
async fn koa_session_redis3_seed() {
    let mut p = Probe::start(NodePackage::KoaSessionRedis3, &[("SESSION_PREFIX", "app")]).await;
    let name = "koa:sess";

    // First visit: SET <keySchema>:<puid> <compact JSON>, then a separate EXPIRE.
    let (id, first) = first_koa_visit(&mut p, name).await;
    let base36 = |b: u8| b.is_ascii_digit() || b.is_ascii_lowercase();
    assert!(
        id.len() == 24 && id.bytes().all(base36),
        "a base36 puid: {id}"
    );
    let key = format!("app:{id}");
    assert_eq!(
        render(&first.commands),
        [
            format!(r#"SET {key} {{"views":1}}"#),
            format!("EXPIRE {key} 86400")
        ]
    );

    let second = p.get("/").await;
    assert_eq!(
        render(&second.commands),
        [
            format!("GET {key}"),
            format!(r#"SET {key} {{"views":2}}"#),
            format!("EXPIRE {key} 86400"),
        ]
    );
    reads_only(&mut p, &[format!("GET {key}")]).await;

    // No regenerate: login writes under the same id.
    let login = p.post("/login?user=ada").await;
    assert_eq!(login.reply.body, "welcome ada");
    assert_eq!(names(&login.commands), ["GET", "SET", "EXPIRE"]);
    assert_eq!(login.commands[1].arg(2), r#"{"views":2,"user":"ada"}"#);

    // A stored document that differs from JSON.stringify of itself (spacing, 2.0) counts
    // as changed: a read-only request writes it back in Node's spelling.
    let _: () = p
        .redis(&["SET", &key, r#"{"views": 2.0, "user": "ada"}"#])
        .await;
    let peek = p.get("/whoami").await;
    assert_eq!(peek.reply.body, "ada");
    assert_eq!(
        render(&peek.commands),
        [
            format!("GET {key}"),
            format!(r#"SET {key} {{"views":2,"user":"ada"}}"#),
            format!("EXPIRE {key} 86400"),
        ]
    );

    // Logout: DEL and both cookies cleared.
    let logout = p.post("/logout").await;
    assert_eq!(
        render(&logout.commands),
        [format!("GET {key}"), format!("DEL {key}")]
    );
    assert_eq!(logout.reply.cookie_names(), [name, "koa:sess.sig"]);
    let after = p.get("/whoami").await;
    assert_eq!(after.reply.status, 401);
    assert_eq!(after.commands, []);
}

#[actix_web::test]
async fn every_app_refuses_to_start_without_keys() {
    let server = RedisServer::start();
    for package in NodePackage::ALL {
        match NodeApp::try_start(package, &server, &[("SESSION_KEYS", "")]) {
            Ok(_) => panic!("{package:?} started without keys"),
            Err(output) => assert!(output.contains("set SESSION_KEYS"), "{package:?}: {output}"),
        }
    }
}
