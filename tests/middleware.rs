//! The middleware's request lifecycle, on the in-memory store wrapped in a counter, so
//! each test can say exactly which store calls a request made.

use std::time::{Duration, SystemTime};

use actix_typed_session::store::{
    ChangeSet, CommitOutcome, IndexMoves, JsonWrite, Layout, LoadOptions, SessionKey, SessionStore,
    WriteMode,
};
use actix_typed_session::{
    Algorithm, Compat, ConfigError, Keys, Session, SessionData, SessionId, SessionMiddleware,
    SessionMiddlewareBuilder, SessionWriter, TtlPolicy,
};
use actix_typed_session_tests::counter_app::{self, peek, Visit};
use actix_typed_session_tests::counting_store::CountingStore;
use actix_typed_session_tests::http::{body, set_cookies, Jar};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::Cookie;
use actix_web::cookie::SameSite;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::CACHE_CONTROL;
use actix_web::http::header::COOKIE;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};

const KEY: &str = "a test key that is long enough to sign";
/// A rotation's keys, each long enough to sign.
const OLD_KEY: &str = "the old key, retired after a rotation";
const NEW_KEY: &str = "the new key, which signs after a rotation";

async fn two_extractors(a: Session<Visit>, mut b: Session<Visit>) -> String {
    b.update_views(|v| *v += 10);
    format!("{} views", *a.views())
}

async fn is_new(session: Session<Visit>) -> String {
    session.is_new().to_string()
}

async fn broken(mut session: Session<Visit>) -> HttpResponse {
    session.set_views(999);
    HttpResponse::InternalServerError().finish()
}

macro_rules! app {
    ($builder:expr) => {
        test::init_service(
            App::new()
                .wrap($builder.build())
                .configure(counter_app::routes)
                .route("/two", web::get().to(two_extractors))
                .route("/is-new", web::get().to(is_new))
                .route("/broken", web::get().to(broken)),
        )
        .await
    };
}

fn builder(store: &CountingStore) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(store.clone(), Keys::new([KEY]))
}

/// The cookie header a correctly signed client would send for `id`, signed the keygrip way.
fn signed_cookie(id: &SessionId) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(format!("session={}", id.as_str()).as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("session={}; session.sig={sig}", id.as_str())
}

#[actix_web::test]
async fn counts_views_for_a_client_that_keeps_its_cookie() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    for expected in 1..=3 {
        let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        jar.absorb(&res);
        assert_eq!(body(res).await, format!("{expected} views"));
    }
    assert_eq!(store.inner.len(), 1);
}

#[actix_web::test]
async fn a_handler_that_never_extracts_the_session_costs_no_store_call() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let before = store.calls();
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(store.calls(), before);
}

#[actix_web::test]
async fn first_write_is_one_create_and_a_read_is_one_load() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(
        store.calls(),
        (0, 1, 0),
        "no cookie: nothing to load; the write is one create"
    );
    jar.absorb(&res);
    let session = jar.get("session").unwrap();
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.same_site(), Some(SameSite::Lax));
    assert_eq!(session.path(), Some("/"));
    assert_eq!(
        session.max_age(),
        None,
        "a browser-session cookie by default"
    );
    assert!(jar.get("session.sig").is_some());

    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert!(set_cookies(&res).is_empty(), "a read sets no cookie");
    assert_eq!(body(res).await, "1 views");
    assert_eq!(store.calls(), (1, 1, 0));

    let res = test::call_service(&app, jar.request("GET", "/modify").to_request()).await;
    assert!(
        set_cookies(&res).is_empty(),
        "an update keeps the same cookie"
    );
    assert_eq!(store.calls(), (2, 2, 0));

    // The counter's `GET /` increments: one store call, no load.
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert!(
        set_cookies(&res).is_empty(),
        "an increment keeps the cookie"
    );
    assert_eq!(body(res).await, "3 views");
    assert_eq!(store.calls(), (2, 3, 0));
}

#[actix_web::test]
async fn several_extractors_share_one_load_and_one_write() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let before = store.calls();
    let res = test::call_service(&app, jar.request("GET", "/two").to_request()).await;
    assert_eq!(
        body(res).await,
        "11 views",
        "both extractors see the same state"
    );
    assert_eq!(store.calls(), (before.0 + 1, before.1 + 1, 0));
}

#[actix_web::test]
async fn forged_and_malformed_cookies_get_a_fresh_session_without_a_store_call() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let id = jar.get("session").unwrap().value().to_owned();
    let sig = jar.get("session.sig").unwrap().value().to_owned();
    let other = SessionId::generate().unwrap();
    let long = "A".repeat(5000);
    let cases = [
        format!("session={id}"),                                  // unsigned
        format!("session={}; session.sig={sig}", other.as_str()), // signature of another id
        format!("session={}; session.sig={sig}", &id[..20]),      // truncated id
        format!("session={id}; session.sig={}", &sig[..10]),      // truncated signature
        format!("session={id}x; session.sig={sig}"),              // malformed id
        format!("session={long}; session.sig={sig}"),             // oversized id
        format!("session={id}; session.sig={long}"),              // oversized signature
        format!("session=../../etc; session.sig={sig}"),
        "session=; session.sig=".to_owned(),
    ];
    let before = store.calls();
    for cookie in cases {
        let req = TestRequest::get()
            .uri("/peek")
            .insert_header((COOKIE, cookie.clone()));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{cookie}");
        assert_eq!(body(res).await, "0 views", "{cookie}");
    }
    assert_eq!(
        store.calls(),
        before,
        "no store call for anything that does not verify"
    );
}

#[actix_web::test]
async fn renew_moves_the_data_to_a_new_id_and_the_old_one_is_gone() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let old = jar.clone();
    let res = test::call_service(&app, jar.request("POST", "/login").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    jar.absorb(&res);
    assert_ne!(
        jar.get("session").unwrap().value(),
        old.get("session").unwrap().value()
    );

    let res = test::call_service(&app, jar.request("GET", "/whoami").to_request()).await;
    assert_eq!(body(res).await, "ada");
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views", "data kept across the renewal");

    let res = test::call_service(&app, old.request("GET", "/whoami").to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the old id carries nothing"
    );
    assert_eq!(store.inner.len(), 1);
}

#[actix_web::test]
async fn purge_deletes_the_record_and_clears_the_cookie_with_its_path_and_domain() {
    let store = CountingStore::default();
    let app = app!(builder(&store)
        .cookie_domain("example.test")
        .cookie_path("/app"));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("POST", "/login").to_request()).await);
    let before = jar.clone();
    let res = test::call_service(&app, jar.request("POST", "/logout").to_request()).await;
    let cleared = set_cookies(&res);
    assert_eq!(cleared.len(), 2, "the id and its signature");
    for cookie in &cleared {
        assert_eq!(cookie.value(), "");
        assert_eq!(cookie.max_age(), Some(CookieDuration::ZERO));
        assert_eq!(cookie.path(), Some("/app"));
        assert_eq!(cookie.domain(), Some("example.test"));
    }
    assert_eq!(body(res).await, "bye");
    assert_eq!(store.inner.len(), 0);
    let res = test::call_service(&app, before.request("GET", "/whoami").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn is_new_until_stored() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/is-new").to_request()).await;
    assert_eq!(body(res).await, "true");
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let res = test::call_service(&app, jar.request("GET", "/is-new").to_request()).await;
    assert_eq!(body(res).await, "false");
}

#[actix_web::test]
async fn an_unavailable_store_gives_an_empty_503_and_a_failed_commit_replaces_the_response() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);

    store.fail(true);
    // A new visitor needs no load, so only the commit fails: the handler's 200 must not stand.
    let res = test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(body(res).await, "");
    // A known visitor fails at the load.
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(res).await, "");
    // Routes without the session are unaffected.
    let res = test::call_service(&app, jar.request("GET", "/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);

    store.fail(false);
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(
        body(res).await,
        "1 views",
        "nothing was written while failing"
    );
}

/// Fail-open stands in for a session the store never held. A stored session that loaded
/// and then failed to save (an update, a renewal at login) is answered as failed: a 200
/// would tell the user a change was made that was not.
#[actix_web::test]
async fn fail_open_never_answers_a_failed_save_of_a_stored_session_with_its_2xx() {
    let store = CountingStore::default();
    let app = app!(builder(&store).fail_open(true));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/modify").to_request()).await);

    store.fail_commits(true);
    for (method, path) in [("GET", "/modify"), ("POST", "/login")] {
        let res = test::call_service(&app, jar.request(method, path).to_request()).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(set_cookies(&res).is_empty(), "{path}");
        assert_eq!(body(res).await, "", "{path}");
    }
    // A new visitor's first write, which the store never held, still fails open.
    let res = test::call_service(&app, TestRequest::get().uri("/modify").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK, "a fresh, unsaved session");
    assert!(
        set_cookies(&res).is_empty(),
        "no cookie for what was not saved"
    );
}

#[actix_web::test]
async fn a_write_to_a_session_ended_meanwhile_is_refused_not_resurrected() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let id = SessionId::parse(jar.get("session").unwrap().value()).unwrap();
    let key = SessionKey::new("session:", &id);

    // A handler that ends the session "elsewhere" between this request's load and commit.
    let ender = {
        let (store, key) = (store.clone(), key.clone());
        move |mut session: Session<Visit>| {
            let (store, key) = (store.clone(), key.clone());
            async move {
                store.inner.delete(&key, &[]).await.unwrap();
                session.set_views(42);
                "saved?"
            }
        }
    };
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/", web::get().to(ender)),
    )
    .await;
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "never a 2xx for an unsaved write"
    );
    let cookies = set_cookies(&res);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.value().is_empty()),
        "the dead cookie is cleared"
    );
    assert_eq!(
        res.headers().get(CACHE_CONTROL).unwrap(),
        "private, no-store",
        "the 503 that clears the cookie is kept out of shared caches too"
    );
    let loaded = store
        .inner
        .load(&key, LoadOptions::default())
        .await
        .unwrap();
    assert_eq!(loaded, None, "the ended session stays ended");
}

#[actix_web::test]
async fn server_errors_do_not_commit_unless_asked() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let res = test::call_service(&app, TestRequest::get().uri("/broken").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(store.calls(), (0, 0, 0));

    let app = app!(builder(&store).commit_on_server_error(true));
    test::call_service(&app, TestRequest::get().uri("/broken").to_request()).await;
    assert_eq!(store.calls(), (0, 1, 0));
}

#[actix_web::test]
async fn a_field_that_no_longer_decodes_takes_its_default_and_the_rest_survives() {
    let store = CountingStore::default();
    let id = SessionId::generate().unwrap();
    let key = SessionKey::new("session:", &id);
    let created = ChangeSet {
        mode: WriteMode::Create {
            created_at: SystemTime::now(),
        },
        set: vec![
            ("views".into(), b"\"not a number\"".to_vec()),
            ("user".into(), b"\"grace\"".to_vec()),
            ("unknown".into(), b"[1,2,3]".to_vec()),
        ],
        remove: vec![],
        ttl: Duration::from_secs(60),
        ttl_current: false,
        index: IndexMoves::default(),
        fresh_id: false,
        layout: Layout::Fields,
        base: None,
    };
    assert_eq!(
        store.inner.commit(&key, &created).await.unwrap(),
        CommitOutcome::Written
    );
    let app = app!(builder(&store));
    let cookie = signed_cookie(&id);
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/whoami")
            .insert_header((COOKIE, cookie.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(body(res).await, "grace", "the other fields still decode");
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/")
            .insert_header((COOKIE, cookie))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body(res).await,
        "1 views",
        "the bad field started from its default"
    );
    let record = store
        .inner
        .load(&key, LoadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.fields["views"], b"1");
    assert_eq!(
        record.fields["user"], b"\"grace\"",
        "untouched fields are not rewritten"
    );
    assert_eq!(
        record.fields["unknown"], b"[1,2,3]",
        "fields the struct does not know survive"
    );
}

#[actix_web::test]
async fn a_cookie_signed_by_an_older_key_is_accepted_and_re_signed() {
    let store = CountingStore::default();
    let old_app = app!(SessionMiddleware::builder(
        store.clone(),
        Keys::new([OLD_KEY])
    ));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&old_app, jar.request("GET", "/").to_request()).await);
    let old_sig = jar.get("session.sig").unwrap().value().to_owned();

    let rotated = app!(SessionMiddleware::builder(
        store.clone(),
        Keys::new([NEW_KEY, OLD_KEY])
    ));
    let res = test::call_service(&rotated, jar.request("GET", "/peek").to_request()).await;
    jar.absorb(&res);
    assert_eq!(body(res).await, "1 views");
    let new_sig = jar.get("session.sig").unwrap().value().to_owned();
    assert_ne!(new_sig, old_sig, "re-signed with the first key");

    let new_only = app!(SessionMiddleware::builder(
        store.clone(),
        Keys::new([NEW_KEY])
    ));
    let res = test::call_service(&new_only, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(
        body(res).await,
        "1 views",
        "the re-signed cookie verifies with the new key alone"
    );

    let mut stale = jar.clone();
    stale.set("session.sig", &old_sig);
    let res = test::call_service(&new_only, stale.request("GET", "/peek").to_request()).await;
    assert_eq!(
        body(res).await,
        "0 views",
        "once the old key is removed, its cookies are rejected"
    );
}

/// The cookies a plain-http request for `/` gets from `app`, with `headers` added.
async fn cookies_for<S, B>(app: &S, uri: &str, headers: &[(&str, &str)]) -> Vec<Cookie<'static>>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let mut req = TestRequest::get().uri(uri);
    for header in headers {
        req = req.insert_header(*header);
    }
    let cookies = set_cookies(&test::call_service(app, req.to_request()).await);
    assert!(!cookies.is_empty(), "a first visit gets a cookie");
    cookies
}

fn all_secure(cookies: &[Cookie<'_>]) -> bool {
    cookies.iter().all(|c| c.secure() == Some(true))
}

fn none_secure(cookies: &[Cookie<'_>]) -> bool {
    cookies.iter().all(|c| c.secure() != Some(true))
}

#[actix_web::test]
async fn cookies_are_secure_by_default_whatever_the_request_says() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    assert!(all_secure(&cookies_for(&app, "/", &[]).await));
    let forged = [("x-forwarded-proto", "http")];
    assert!(all_secure(&cookies_for(&app, "/", &forged).await));
    assert!(all_secure(
        &cookies_for(&app, "/", &[("forwarded", "proto=http")]).await
    ));

    // The plain-http opt-out, one named call.
    let app = app!(builder(&store)
        .cookie_secure(false)
        .cookie_same_site(SameSite::Strict));
    let cookies = cookies_for(&app, "/", &[("x-forwarded-proto", "https")]).await;
    assert!(none_secure(&cookies));
    assert!(cookies
        .iter()
        .all(|c| c.same_site() == Some(SameSite::Strict)));
}

#[actix_web::test]
async fn from_scheme_ignores_forwarded_headers_unless_they_are_trusted() {
    let store = CountingStore::default();
    let app = app!(builder(&store).cookie_secure_from_scheme());
    assert!(none_secure(&cookies_for(&app, "/", &[]).await));
    let claimed = [("x-forwarded-proto", "https")];
    assert!(
        none_secure(&cookies_for(&app, "/", &claimed).await),
        "any client can send X-Forwarded-Proto"
    );
    assert!(none_secure(
        &cookies_for(&app, "/", &[("forwarded", "proto=https")]).await
    ));
    assert!(all_secure(
        &cookies_for(&app, "https://localhost/", &[]).await
    ));

    let app = app!(builder(&store)
        .cookie_secure_from_scheme()
        .trust_forwarded_headers(true));
    assert!(none_secure(&cookies_for(&app, "/", &[]).await));
    assert!(all_secure(&cookies_for(&app, "/", &claimed).await));
    assert!(all_secure(
        &cookies_for(&app, "/", &[("forwarded", "proto=https")]).await
    ));
}

fn refusal(builder: SessionMiddlewareBuilder) -> Option<ConfigError> {
    builder.try_build().err()
}

#[test]
fn keys_that_cannot_sign_safely_are_refused_at_build() {
    let store = CountingStore::default();
    let with = |keys: Keys| refusal(SessionMiddleware::builder(store.clone(), keys));
    let key_32 = "k".repeat(32);
    let key_31 = "k".repeat(31);
    // The counter example's `SESSION_KEYS="k,"`.
    assert_eq!(
        with(Keys::new(["k", ""])),
        Some(ConfigError::ShortKey { index: 0, len: 1 })
    );
    assert_eq!(
        with(Keys::new([key_32.as_str(), ""])),
        Some(ConfigError::EmptyKey { index: 1 })
    );
    assert_eq!(
        with(Keys::new([key_31.as_str()])),
        Some(ConfigError::ShortKey { index: 0, len: 31 })
    );
    assert_eq!(with(Keys::new([key_32.as_str()])), None);
    assert_eq!(
        with(Keys::new([key_32.as_str(), key_31.as_str()])),
        Some(ConfigError::ShortKey { index: 1, len: 31 }),
        "a rotated key too"
    );
    assert_eq!(with(Keys::new(["koa key", "old"]).allow_short_keys()), None);
    assert_eq!(
        with(Keys::new(["k", ""]).allow_short_keys()),
        Some(ConfigError::EmptyKey { index: 1 }),
        "an empty key even with the opt-in"
    );
    assert_eq!(
        with(Keys::new(Vec::<&str>::new())),
        Some(ConfigError::NoKeys)
    );
    assert_eq!(with(Keys::none()), None, "unsigned cookies, chosen by name");
    let message = with(Keys::new(["short"])).unwrap().to_string();
    assert!(message.contains("allow_short_keys"), "{message}");
}

#[test]
fn an_index_secret_shorter_than_32_bytes_is_refused_at_build() {
    let store = CountingStore::default();
    let with = |secret: &str| refusal(builder(&store).index_secret(secret));
    assert_eq!(with(""), Some(ConfigError::ShortIndexSecret { len: 0 }));
    assert_eq!(
        with(&"i".repeat(31)),
        Some(ConfigError::ShortIndexSecret { len: 31 })
    );
    assert_eq!(with(&"i".repeat(32)), None);
    let message = with("short").unwrap().to_string();
    assert!(message.contains("index secret"), "{message}");
}

#[test]
#[should_panic(expected = "session key #1 is empty")]
fn build_panics_on_an_empty_key() {
    let keys = Keys::new([KEY, ""]);
    let _ = SessionMiddleware::new(CountingStore::default(), keys);
}

/// A sibling domain cannot set a `__Host-` cookie, but it can set `__Host%2Dsession`,
/// which the browser sends as it was set, before the real one when its path is longer: it
/// must not pass for the session cookie, or the victim browses in the attacker's session.
#[actix_web::test]
async fn a_planted_cookie_whose_name_only_decodes_to_a_host_prefixed_one_is_ignored() {
    let store = CountingStore::default();
    let app = app!(builder(&store).cookie_name("__Host-session"));
    let session_of = |res: &ServiceResponse<_>| {
        let cookies = set_cookies(res);
        let value = |name: &str| {
            let cookie = cookies.iter().find(|cookie| cookie.name() == name);
            cookie.expect("a session cookie").value().to_owned()
        };
        (value("__Host-session"), value("__Host-session.sig"))
    };
    // The attacker's own session, 3 views, and the victim's, 1.
    let mut attacker = Jar::default();
    for _ in 0..3 {
        let res = test::call_service(&app, attacker.request("GET", "/").to_request()).await;
        attacker.absorb(&res);
    }
    let (id, sig) = (
        attacker.get("__Host-session").expect("id"),
        attacker.get("__Host-session.sig").expect("sig"),
    );
    let victim = test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
    let (victim_id, victim_sig) = session_of(&victim);

    let planted = format!(
        "__Host%2Dsession={}; __Host%2Dsession.sig={}; __Host-session={victim_id}; \
         __Host-session.sig={victim_sig}",
        id.value(),
        sig.value()
    );
    let req = TestRequest::get()
        .uri("/peek")
        .insert_header((COOKIE, planted));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(body(res).await, "1 views", "the victim's own session");
}

#[derive(SessionData)]
struct Theme {
    theme: Option<String>,
}

/// A `SessionWriter<T>` and a `Session<T>` of one struct in one handler are one struct,
/// whichever comes first: a read through the session sees the writer's change, and the
/// last change is the one stored.
#[actix_web::test]
async fn a_writer_and_a_session_of_one_struct_share_it_in_either_order() {
    async fn seed(mut session: Session<Theme>) -> &'static str {
        session.set_theme(Some("seed".to_owned()));
        "seeded"
    }
    async fn writer_first(mut writer: SessionWriter<Theme>, mut session: Session<Theme>) -> String {
        writer.set_theme(Some("dark".to_owned()));
        let seen = session.theme().clone();
        session.set_theme(Some("light".to_owned()));
        format!("{seen:?}")
    }
    async fn session_first(
        mut session: Session<Theme>,
        mut writer: SessionWriter<Theme>,
    ) -> String {
        writer.set_theme(Some("dark".to_owned()));
        let seen = session.theme().clone();
        session.set_theme(Some("light".to_owned()));
        format!("{seen:?}")
    }
    async fn show(session: Session<Theme>) -> String {
        format!("{:?}", *session.theme())
    }
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/seed", web::get().to(seed))
            .route("/writer-first", web::get().to(writer_first))
            .route("/session-first", web::get().to(session_first))
            .route("/show", web::get().to(show)),
    )
    .await;
    for route in ["/writer-first", "/session-first"] {
        let mut jar = Jar::default();
        let seeded = test::call_service(&app, jar.request("GET", "/seed").to_request()).await;
        jar.absorb(&seeded);
        let res = test::call_service(&app, jar.request("GET", route).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{route}");
        jar.absorb(&res);
        assert_eq!(
            body(res).await,
            r#"Some("dark")"#,
            "{route}: what the session saw"
        );
        let res = test::call_service(&app, jar.request("GET", "/show").to_request()).await;
        assert_eq!(
            body(res).await,
            r#"Some("light")"#,
            "{route}: what was stored"
        );
    }
}

/// Another struct over the same session as `Theme`.
#[derive(SessionData)]
#[session(prefix = "cart.")]
struct Cart {
    items: u32,
}

/// A purge through one struct's `Session` while the handler holds a borrow of another
/// struct's field: the borrow reads the value it had, every read after the purge the
/// default, and nothing panics (the purge used to take every struct's value mutably at
/// once). A purge inside another struct's write wins over that write.
#[actix_web::test]
async fn a_purge_while_another_struct_is_borrowed_forgets_its_values_once_the_borrow_ends() {
    async fn seed(mut theme: Session<Theme>, mut cart: Session<Cart>) -> &'static str {
        theme.set_theme(Some("dark".to_owned()));
        cart.set_items(2);
        "seeded"
    }
    async fn logout(theme: Session<Theme>, mut cart: Session<Cart>) -> String {
        let held = theme.theme();
        cart.purge();
        let meanwhile = theme.theme().clone();
        let during = held.clone();
        drop(held);
        format!(
            "{during:?} held, {meanwhile:?} meanwhile, then {:?}, {} items",
            *theme.theme(),
            cart.items()
        )
    }
    async fn purge_inside_a_write(mut theme: Session<Theme>, mut cart: Session<Cart>) -> String {
        theme.update_theme(|theme| {
            cart.purge();
            *theme = Some("changed while purging".to_owned());
        });
        format!("{:?}", *theme.theme())
    }
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/seed", web::get().to(seed))
            .route("/logout", web::get().to(logout))
            .route("/purge-inside-a-write", web::get().to(purge_inside_a_write)),
    )
    .await;
    let seeded = || async {
        let mut jar = Jar::default();
        let seeded = test::call_service(&app, jar.request("GET", "/seed").to_request()).await;
        jar.absorb(&seeded);
        jar
    };
    let jar = seeded().await;
    let res = test::call_service(&app, jar.request("GET", "/logout").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body(res).await,
        r#"Some("dark") held, None meanwhile, then None, 0 items"#
    );

    // Nothing is stored and no new session starts: the response only removes the cookie.
    let jar = seeded().await;
    let req = jar.request("GET", "/purge-inside-a-write");
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = set_cookies(&res);
    assert!(
        cookies.iter().all(|cookie| cookie.value().is_empty()),
        "only a removal: {cookies:?}"
    );
    assert_eq!(body(res).await, "None");
}

/// Two handles on one struct share its value, so a borrow through one held across a
/// write through the other cannot be refused at compile time: the panic says what
/// happened and what to do, instead of RefCell's "already borrowed".
#[actix_web::test]
#[should_panic(expected = "is borrowed through one handle while another changes it")]
async fn a_borrow_held_across_a_write_through_a_second_handle_names_the_mistake() {
    async fn both(session: Session<Theme>, mut writer: SessionWriter<Theme>) -> String {
        let held = session.theme();
        writer.set_theme(Some("dark".to_owned()));
        format!("{:?}", *held)
    }
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/", web::get().to(both)),
    )
    .await;
    test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
}

/// A field named `cookie`: what a cookie-consent flag is naturally called.
#[derive(SessionData)]
struct Consent {
    cookie: Option<bool>,
}

/// The same flag under another storage name.
#[derive(SessionData)]
struct RenamedConsent {
    #[session(rename = "cookie_consent")]
    cookie: Option<bool>,
}

/// A field stored under one of koa-session's keys.
#[derive(SessionData)]
struct KoaClash {
    #[session(rename = "_maxAge")]
    max_age: Option<u64>,
}

/// A field stored as koa-session's new-session flag, which every write removes.
#[derive(SessionData)]
struct KoaNewFlag {
    #[session(rename = "isNew")]
    is_new_user: bool,
}

/// Under a Node preset, a field stored under a key the Node package keeps for itself
/// (express's `cookie`, koa's `_expire`, `_maxAge`, `_session`, `isNew`) would be
/// overwritten or removed by every write: its extraction is refused with a 500, and the
/// same field renamed works.
#[actix_web::test]
async fn a_field_named_like_a_node_envelope_key_is_refused_not_dropped() {
    async fn consent(mut session: Session<Consent>) -> String {
        session.set_cookie(Some(true));
        format!("{:?}", *session.cookie())
    }
    async fn renamed(mut session: Session<RenamedConsent>) -> String {
        session.set_cookie(Some(true));
        format!("{:?}", *session.cookie())
    }
    async fn koa(mut session: Session<KoaClash>) -> String {
        session.set_max_age(Some(1));
        "set".to_owned()
    }
    async fn koa_new_flag(mut session: Session<KoaNewFlag>) -> String {
        session.set_is_new_user(true);
        "set".to_owned()
    }
    for compat in [Compat::ExpressSession, Compat::KoaSession] {
        let sessions = SessionMiddleware::builder(CountingStore::default(), Keys::new([KEY]))
            .compat(compat)
            .build();
        let app = test::init_service(
            App::new()
                .wrap(sessions)
                .route("/consent", web::get().to(consent))
                .route("/renamed", web::get().to(renamed))
                .route("/koa", web::get().to(koa))
                .route("/koa_new_flag", web::get().to(koa_new_flag)),
        )
        .await;
        let status = |path: &'static str| {
            let req = TestRequest::get().uri(path).to_request();
            async { test::call_service(&app, req).await.status() }
        };
        let (clashes, fine): (&[_], &[_]) = match compat {
            Compat::ExpressSession => (&["/consent"], &["/koa", "/koa_new_flag"]),
            _ => (&["/koa", "/koa_new_flag"], &["/consent"]),
        };
        for &path in clashes {
            assert_eq!(
                status(path).await,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{compat:?} {path}"
            );
        }
        for &path in fine {
            assert_eq!(status(path).await, StatusCode::OK, "{compat:?} {path}");
        }
        assert_eq!(status("/renamed").await, StatusCode::OK, "{compat:?}");
    }
}

#[actix_web::test]
async fn a_host_prefixed_name_forces_secure_root_path_and_no_domain() {
    let store = CountingStore::default();
    let host = || builder(&store).cookie_name("__Host-session");
    let app = app!(host());
    let cookies = cookies_for(&app, "/", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(cookies[0].name(), "__Host-session");
    for cookie in &cookies {
        assert_eq!(cookie.secure(), Some(true), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_eq!(cookie.domain(), None, "{cookie}");
    }
    for conflicting in [
        host().cookie_secure(false),
        host().cookie_secure_from_scheme(),
        host().cookie_path("/app"),
        host().cookie_domain("example.com"),
    ] {
        assert!(
            matches!(refusal(conflicting), Some(ConfigError::HostPrefix { .. })),
            "refused"
        );
    }
    let any_case = builder(&store)
        .cookie_name("__host-session")
        .cookie_path("/app");
    assert!(matches!(
        refusal(any_case),
        Some(ConfigError::HostPrefix { .. })
    ));
    let secure_prefix = builder(&store)
        .cookie_name("__Secure-id")
        .cookie_secure(false);
    assert!(matches!(
        refusal(secure_prefix),
        Some(ConfigError::SecurePrefix { .. })
    ));
}

#[test]
fn same_site_none_is_refused_unless_every_cookie_is_secure() {
    let store = CountingStore::default();
    let none = || builder(&store).cookie_same_site(SameSite::None);
    assert_eq!(refusal(none()), None, "Secure always: the default");
    assert_eq!(refusal(none().cookie_secure(true)), None);
    for (unsecured, option) in [
        (none().cookie_secure(false), "cookie_secure(false)"),
        (
            none().cookie_secure_from_scheme(),
            "cookie_secure_from_scheme()",
        ),
        (
            none()
                .cookie_secure_from_scheme()
                .trust_forwarded_headers(true),
            "cookie_secure_from_scheme()",
        ),
    ] {
        let error = refusal(unsecured).unwrap();
        assert_eq!(error, ConfigError::SameSiteNoneWithoutSecure { option });
        let message = error.to_string();
        assert!(message.contains(option), "{message}");
        assert!(message.contains("SameSite::Lax"), "{message}");
    }
    for same_site in [SameSite::Lax, SameSite::Strict] {
        let builder = builder(&store).cookie_same_site(same_site);
        assert_eq!(refusal(builder.cookie_secure(false)), None, "{same_site:?}");
    }
}

#[test]
fn trusting_forwarded_headers_is_refused_unless_an_option_reads_them() {
    let store = CountingStore::default();
    for ignored in [
        builder(&store).trust_forwarded_headers(true),
        builder(&store)
            .cookie_secure(false)
            .trust_forwarded_headers(true),
        // The last of the two `Secure` calls wins.
        builder(&store)
            .cookie_secure_from_scheme()
            .trust_forwarded_headers(true)
            .cookie_secure(true),
        builder(&store)
            .record_client_ip(false)
            .trust_forwarded_headers(true),
    ] {
        let error = refusal(ignored).unwrap();
        assert_eq!(error, ConfigError::TrustForwardedUnused);
        let message = error.to_string();
        for remedy in ["cookie_secure_from_scheme()", "record_client_ip(true)"] {
            assert!(message.contains(remedy), "{message}");
        }
    }
    let follows = builder(&store)
        .trust_forwarded_headers(true)
        .cookie_secure_from_scheme();
    assert_eq!(refusal(follows), None, "in either order");
    // Behind a proxy the recorded address is the forwarded one, with the cookie always
    // `Secure`.
    let records = builder(&store)
        .trust_forwarded_headers(true)
        .record_client_ip(true);
    assert_eq!(refusal(records), None);
    assert_eq!(
        refusal(builder(&store).trust_forwarded_headers(false)),
        None
    );
}

#[test]
fn absolute_timeout_is_refused_with_a_node_preset() {
    let store = CountingStore::default();
    let keys = || Keys::new(["node secret"]).allow_short_keys();
    for compat in [
        Compat::KoaSession,
        Compat::KoaSessionLegacy,
        Compat::Koa2Session2Redis,
        Compat::KoaSessionRedis3,
        Compat::ExpressSession,
    ] {
        let builder = SessionMiddleware::builder(store.clone(), keys())
            .compat(compat)
            .absolute_timeout(Duration::from_secs(3600));
        assert_eq!(
            refusal(builder),
            Some(ConfigError::AbsoluteTimeoutWithCompat { compat })
        );
        let without = SessionMiddleware::builder(store.clone(), keys()).compat(compat);
        assert_eq!(refusal(without), None);
    }
}

#[test]
fn express_session_without_keys_is_refused_and_the_koa_presets_may_go_unsigned() {
    let store = CountingStore::default();
    let unsigned = |compat| SessionMiddleware::builder(store.clone(), Keys::none()).compat(compat);
    let express = Compat::ExpressSession;
    assert_eq!(
        refusal(unsigned(express)),
        Some(ConfigError::ExpressSessionWithoutKeys)
    );
    // The hash layout keeps express-session's cookie, which it would still ignore.
    assert_eq!(
        refusal(unsigned(express).store_layout(Layout::Fields)),
        Some(ConfigError::ExpressSessionWithoutKeys)
    );
    let message = ConfigError::ExpressSessionWithoutKeys.to_string();
    for words in ["Keys::none()", "signed", "secrets"] {
        assert!(message.contains(words), "{message}");
    }
    // Koa's cookies go unsigned in a Koa app without `app.keys` (or with `signed: false`).
    for compat in [
        Compat::KoaSession,
        Compat::KoaSessionLegacy,
        Compat::Koa2Session2Redis,
        Compat::KoaSessionRedis3,
    ] {
        assert_eq!(refusal(unsigned(compat)), None, "{compat:?}");
    }
}

#[test]
fn a_preset_in_the_hash_layout_keeps_the_absolute_timeout_and_a_foreign_json_layout_is_refused() {
    let store = CountingStore::default();
    let keys = || Keys::new(["node secret"]).allow_short_keys();
    let koa = || SessionMiddleware::builder(store.clone(), keys()).compat(Compat::KoaSession);
    let hash = koa()
        .store_layout(Layout::Fields)
        .absolute_timeout(Duration::from_secs(3600));
    assert_eq!(refusal(hash), None, "the hash layout keeps a creation time");
    assert_eq!(
        refusal(koa().store_layout(Layout::Json(JsonWrite::Setex))),
        None
    );
    let foreign = Layout::Json(JsonWrite::SetEx);
    assert_eq!(
        refusal(koa().store_layout(foreign)),
        Some(ConfigError::ForeignJsonLayout {
            layout: foreign,
            compat: Some(Compat::KoaSession)
        })
    );
    let without_preset = SessionMiddleware::builder(store.clone(), keys()).store_layout(foreign);
    assert_eq!(
        refusal(without_preset),
        Some(ConfigError::ForeignJsonLayout {
            layout: foreign,
            compat: None
        })
    );
}

/// Counts a visit and answers with the `Cache-Control` the request asks for.
async fn cached(mut session: Session<Visit>, req: HttpRequest) -> HttpResponse {
    session.update_views(|v| *v += 1);
    let mut res = HttpResponse::Ok();
    if let Some(cache) = req.headers().get("x-cache-control") {
        res.insert_header((CACHE_CONTROL, cache.clone()));
    }
    res.finish()
}

#[actix_web::test]
async fn a_response_that_hands_out_an_id_is_never_stored_by_a_shared_cache() {
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/cached", web::get().to(cached)),
    )
    .await;
    let cache_control = |own: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req = TestRequest::get().uri("/cached");
            if let Some(own) = own {
                req = req.insert_header(("x-cache-control", own));
            }
            let res = test::call_service(app, req.to_request()).await;
            assert!(!set_cookies(&res).is_empty(), "an id handed out");
            res.headers()
                .get(CACHE_CONTROL)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    for storable in [
        None,
        Some("public, max-age=3600"),
        Some("max-age=60, s-maxage=600"),
        Some("max-age=60"),
        Some("Public"),
        Some("private=\"set-cookie\", max-age=60"),
    ] {
        assert_eq!(
            cache_control(storable).await,
            "private, no-store",
            "{storable:?}"
        );
    }
    for kept in ["private, max-age=60", "no-store", "no-cache, no-store"] {
        assert_eq!(cache_control(Some(kept)).await, kept);
    }
}

/// Counts a visit when the query says `write`, and answers with a `Cache-Control` that
/// keeps browsers' own copies out of shared caches and CDN-only headers that would let a
/// CDN store the response.
async fn cdn_cached(mut session: Session<Visit>, req: HttpRequest) -> HttpResponse {
    if req.query_string() == "write" {
        session.update_views(|v| *v += 1);
    }
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "private, max-age=60"))
        .insert_header(("cdn-cache-control", "public, max-age=600"))
        .insert_header(("surrogate-control", "max-age=600"))
        .finish()
}

#[actix_web::test]
async fn cdn_cache_headers_are_removed_from_a_response_that_hands_out_an_id() {
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .route("/cdn", web::get().to(cdn_cached)),
    )
    .await;
    let cdn_headers = |res: &ServiceResponse<_>| {
        ["cdn-cache-control", "surrogate-control"].map(|name| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        })
    };
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/cdn?write").to_request()).await;
    assert!(!set_cookies(&res).is_empty(), "an id handed out");
    assert_eq!(cdn_headers(&res), [None, None], "a CDN obeys them first");
    assert_eq!(
        res.headers().get(CACHE_CONTROL).unwrap(),
        "private, max-age=60",
        "the handler's private Cache-Control is what the CDN now reads"
    );
    jar.absorb(&res);

    for uri in ["/cdn", "/cdn?write"] {
        let res = test::call_service(&app, jar.request("GET", uri).to_request()).await;
        assert!(set_cookies(&res).is_empty(), "{uri}: no id handed out");
        assert_eq!(
            cdn_headers(&res),
            [
                Some("public, max-age=600".to_owned()),
                Some("max-age=600".to_owned())
            ],
            "{uri}: a response without an id is the app's to cache"
        );
    }
}

#[actix_web::test]
async fn a_persistent_cookie_rolls_with_the_ttl_only_when_the_policy_refreshes() {
    let store = CountingStore::default();
    let app = app!(builder(&store)
        .max_age(Duration::from_secs(600))
        .cookie_name("sid"));
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    jar.absorb(&res);
    assert_eq!(
        jar.get("sid").unwrap().max_age(),
        Some(CookieDuration::seconds(600))
    );
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(
        set_cookies(&res).len(),
        2,
        "the read refreshed the TTL, so the cookie moves too"
    );

    let app = app!(builder(&store)
        .max_age(Duration::from_secs(600))
        .cookie_name("sid")
        .ttl_policy(TtlPolicy::OnChange));
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert!(
        set_cookies(&res).is_empty(),
        "nothing moved, nothing re-sent"
    );
}

#[actix_web::test]
async fn sha1_signatures_have_keygrip_length_and_verify() {
    let store = CountingStore::default();
    let app = app!(builder(&store).signing_algorithm(Algorithm::Sha1));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    assert_eq!(
        jar.get("session.sig").unwrap().value().len(),
        27,
        "base64url of 20 bytes"
    );
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views");
}

#[actix_web::test]
async fn extracting_without_the_middleware_is_an_opaque_500() {
    let app = test::init_service(App::new().route("/", web::get().to(peek))).await;
    let res = match app.call(TestRequest::get().uri("/").to_request()).await {
        Ok(res) => res,
        Err(err) => ServiceResponse::from_err(err, TestRequest::get().to_http_request()),
    };
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body(res).await, "");
}

#[actix_web::test]
async fn ttl_and_expires_reach_the_store_and_the_cookie() {
    let store = CountingStore::default();
    let at = actix_web::cookie::time::OffsetDateTime::now_utc() + CookieDuration::days(3);
    let app = app!(builder(&store)
        .ttl(Duration::from_secs(90))
        .expires(at)
        .key_prefix("app:"));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let cookie = jar.get("session").unwrap();
    assert_eq!(
        cookie.expires_datetime().map(|t| t.unix_timestamp()),
        Some(at.unix_timestamp())
    );
    assert_eq!(cookie.max_age(), None);

    let id = SessionId::parse(cookie.value()).unwrap();
    let record = store
        .inner
        .load(&SessionKey::new("app:", &id), LoadOptions::default())
        .await
        .unwrap();
    let ttl = record
        .expect("stored under the configured prefix")
        .ttl
        .unwrap();
    assert!(
        ttl <= Duration::from_secs(90) && ttl > Duration::from_secs(80),
        "{ttl:?}"
    );
}

#[actix_web::test]
async fn stray_cookies_around_the_session_do_not_hide_it() {
    let store = CountingStore::default();
    let app = app!(builder(&store));
    let mut jar = Jar::default();
    jar.absorb(&test::call_service(&app, jar.request("GET", "/").to_request()).await);
    let (id, sig) = (
        jar.get("session").unwrap().value(),
        jar.get("session.sig").unwrap().value(),
    );
    // Set by other apps on the same domain: a pair without '=', an empty name, a bad
    // percent escape, and a Latin-1 byte that is not UTF-8.
    let mut header = b"junk; =anonymous; tracker=%zz; legacy=caf\xe9; ".to_vec();
    header.extend_from_slice(format!("session={id}; session.sig={sig}").as_bytes());
    let value = actix_web::http::header::HeaderValue::from_bytes(&header).unwrap();
    let req = TestRequest::get()
        .uri("/peek")
        .insert_header((COOKIE, value));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(body(res).await, "1 views");
}

#[actix_web::test]
async fn responses_that_set_the_cookie_are_kept_out_of_shared_caches() {
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .configure(counter_app::routes)
            .route(
                "/cached",
                web::get().to(|mut session: Session<Visit>| async move {
                    session.set_views(7);
                    HttpResponse::Ok()
                        .insert_header(("cache-control", "private, max-age=5"))
                        .finish()
                }),
            ),
    )
    .await;
    let cache_control = |res: &ServiceResponse<_>| {
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
    assert_eq!(
        cache_control(&res).as_deref(),
        Some("private, no-store"),
        "a new session's cookie"
    );
    jar.absorb(&res);
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(
        cache_control(&res),
        None,
        "no cookie set, nothing to protect"
    );
    let res = test::call_service(&app, jar.request("POST", "/logout").to_request()).await;
    assert_eq!(
        cache_control(&res).as_deref(),
        Some("private, no-store"),
        "removal cookies too"
    );
    let res = test::call_service(&app, TestRequest::get().uri("/cached").to_request()).await;
    assert_eq!(
        cache_control(&res).as_deref(),
        Some("private, max-age=5"),
        "the handler's own wins"
    );
}

/// A handler that writes the session and sets a cookie of the session cookie's name
/// itself (with another path), beside a cookie of its own.
async fn sets_a_session_cookie_itself(mut session: Session<Visit>) -> HttpResponse {
    session.update_views(|views| *views += 1);
    HttpResponse::Ok()
        .cookie(
            Cookie::build("session", "from-the-handler")
                .path("/elsewhere")
                .finish(),
        )
        .cookie(Cookie::new("theme", "dark"))
        .finish()
}

/// A handler that only reads the session and sets a cookie of its name itself.
async fn reads_and_sets_a_session_cookie(session: Session<Visit>) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(Cookie::new("session", "from-the-handler"))
        .body(format!("{} views", *session.views()))
}

/// The `Set-Cookie` values of `res` for the cookie `name`.
fn set_cookies_named<B>(res: &ServiceResponse<B>, name: &str) -> Vec<Cookie<'static>> {
    set_cookies(res)
        .into_iter()
        .filter(|cookie| cookie.name() == name)
        .collect()
}

#[actix_web::test]
async fn the_session_cookie_replaces_a_handler_cookie_of_the_same_name_by_default() {
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).build())
            .configure(counter_app::routes)
            .route("/own", web::get().to(sets_a_session_cookie_itself))
            .route(
                "/own-on-a-read",
                web::get().to(reads_and_sets_a_session_cookie),
            ),
    )
    .await;
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.request("GET", "/own").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ids = set_cookies_named(&res, "session");
    assert_eq!(ids.len(), 1, "one session cookie goes out: {ids:?}");
    assert_ne!(ids[0].value(), "from-the-handler");
    assert_eq!(ids[0].path(), Some("/"));
    assert_eq!(set_cookies_named(&res, "session.sig").len(), 1);
    assert_eq!(
        set_cookies_named(&res, "theme").len(),
        1,
        "the handler's other cookies stay"
    );
    jar.absorb(&res);
    let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
    assert_eq!(body(res).await, "1 views", "the client kept the session");

    // A response that hands out nothing carries the handler's cookie untouched.
    let res = test::call_service(&app, jar.request("GET", "/own-on-a-read").to_request()).await;
    let ids = set_cookies_named(&res, "session");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].value(), "from-the-handler");
}

#[actix_web::test]
async fn without_overwrite_the_handler_cookie_goes_out_alone() {
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(&store).overwrite_handler_cookie(false).build())
            .route("/own", web::get().to(sets_a_session_cookie_itself)),
    )
    .await;
    let res = test::call_service(&app, TestRequest::get().uri("/own").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ids = set_cookies_named(&res, "session");
    assert_eq!(ids.len(), 1, "one session cookie goes out: {ids:?}");
    assert_eq!(ids[0].value(), "from-the-handler");
    assert_eq!(ids[0].path(), Some("/elsewhere"));
    assert!(
        set_cookies_named(&res, "session.sig").is_empty(),
        "no signature for an id the client will not hold"
    );
    assert_eq!(set_cookies_named(&res, "theme").len(), 1);
    assert_eq!(
        res.headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("private, no-store"),
        "still kept out of shared caches"
    );
    assert_eq!(store.calls().1, 1, "the session was still saved");
}
