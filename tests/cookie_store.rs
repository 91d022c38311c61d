//! The cookie store (`SessionMiddleware::builder_with_cookie_store`): the whole session in
//! an AES-256-GCM sealed cookie, no store on the server.
//!
//! There is no store to count calls on: the middleware's placeholder store refuses every
//! call, and a refused call turns a response into a 503. So every successful response
//! below is also a response that reached no store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_typed_session::{
    Algorithm, Compat, ConfigError, IdTransport, Keys, Session, SessionData, SessionError,
    SessionEvent, SessionEventKind, SessionMiddleware, SessionMiddlewareBuilder, SessionWriter,
    TtlPolicy,
};
use actix_typed_session_tests::http::{body, set_cookies, Jar};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{web, App, HttpResponse};

const KEY: &str = "a cookie store key that is long enough to seal";
const OLD_KEY: &str = "the old cookie store key, kept while cookies age";
const NEW_KEY: &str = "the new cookie store key, which seals after a rotation";

#[derive(SessionData)]
struct Account {
    user: Option<String>,
    views: u64,
    note: String,
}

#[derive(SessionData)]
struct Indexed {
    #[session(index)]
    user: Option<String>,
}

#[derive(SessionData)]
struct Counted {
    #[session(counter)]
    hits: u64,
}

/// `GET /`: views += 1, answers the views and the user.
async fn visit(mut session: Session<Account>) -> String {
    session.update_views(|views| *views += 1);
    format!(
        "{} {}",
        session.views(),
        session.user().as_deref().unwrap_or("-")
    )
}

/// `GET /peek`: reads only.
async fn peek(session: Session<Account>) -> String {
    format!(
        "{} {} new={}",
        session.views(),
        session.user().as_deref().unwrap_or("-"),
        session.is_new()
    )
}

/// `POST /login`: sets the user and renews.
async fn login(mut session: Session<Account>) -> &'static str {
    session.set_user(Some("ada".to_owned()));
    session.renew();
    "welcome"
}

/// `POST /logout`: purges.
async fn logout(mut session: Session<Account>) -> &'static str {
    session.purge();
    "bye"
}

/// `POST /note/{len}`: a note of `len` bytes.
async fn note(mut session: Session<Account>, len: web::Path<usize>) -> &'static str {
    session.set_note("n".repeat(len.into_inner()));
    "noted"
}

/// `POST /write-only`: a writer sets the note without a getter.
async fn write_only(mut session: SessionWriter<Account>) -> &'static str {
    session.set_note("from a writer".to_owned());
    "written"
}

async fn indexed(session: Session<Indexed>) -> String {
    format!("{:?}", session.user())
}

async fn counted(mut session: Session<Counted>) -> Result<String, SessionError> {
    Ok(session.increment_hits(1).await?.to_string())
}

async fn fails(mut session: Session<Account>) -> HttpResponse {
    session.set_note("half-way".to_owned());
    HttpResponse::InternalServerError().finish()
}

macro_rules! app {
    ($builder:expr) => {
        init_service(
            App::new()
                .wrap($builder.build())
                .route("/", web::get().to(visit))
                .route("/peek", web::get().to(peek))
                .route("/login", web::post().to(login))
                .route("/logout", web::post().to(logout))
                .route("/note/{len}", web::post().to(note))
                .route("/write-only", web::post().to(write_only))
                .route("/indexed", web::get().to(indexed))
                .route("/counted", web::get().to(counted))
                .route("/fails", web::get().to(fails))
                .route("/health", web::get().to(|| async { "ok" })),
        )
        .await
    };
}

fn cookie_store(keys: &[&str]) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder_with_cookie_store(Keys::new(keys)).cookie_secure(false)
}

/// Sends a request with `jar`'s cookies, takes in what the response sets, and returns the
/// status, the body and the cookies set.
async fn send<S, B>(
    app: &S,
    jar: &mut Jar,
    method: &str,
    path: &str,
) -> (StatusCode, String, Vec<actix_web::cookie::Cookie<'static>>)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
    B::Error: std::fmt::Debug,
{
    let res = call_service(app, jar.request(method, path).to_request()).await;
    let status = res.status();
    let set = set_cookies(&res);
    jar.absorb(&res);
    (status, body(res).await, set)
}

fn session_value(jar: &Jar) -> String {
    jar.get("session")
        .expect("a session cookie")
        .value()
        .to_owned()
}

#[actix_web::test]
async fn a_session_round_trips_in_one_sealed_cookie_that_hides_its_data() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "1 -");
    let (status, _, set) = send(&app, &mut jar, "POST", "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(set.len(), 1, "one cookie, no .sig companion: {set:?}");
    assert_eq!(send(&app, &mut jar, "GET", "/").await.1, "2 ada");
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "2 ada new=false"
    );
    let value = session_value(&jar);
    assert!(
        !value.contains("ada") && !value.contains("views"),
        "{value}"
    );
    assert!(value.len() > 100, "the session itself, not an id: {value}");
    // A route without a session costs nothing and sets nothing.
    let (_, text, set) = send(&app, &mut jar, "GET", "/health").await;
    assert_eq!((text.as_str(), set.len()), ("ok", 0));
}

#[actix_web::test]
async fn a_writer_keeps_the_fields_it_did_not_set() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    send(&app, &mut jar, "GET", "/").await;
    let (status, _, set) = send(&app, &mut jar, "POST", "/write-only").await;
    assert_eq!((status, set.len()), (StatusCode::OK, 1));
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "1 ada new=false"
    );
}

#[actix_web::test]
async fn a_tampered_or_foreign_cookie_is_a_fresh_session_never_an_error() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let good = session_value(&jar);
    let mut flipped = good.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let other_key = {
        let other = app!(cookie_store(&["some other cookie store key of 32+ bytes"]));
        let mut other_jar = Jar::default();
        send(&other, &mut other_jar, "POST", "/login").await;
        session_value(&other_jar)
    };
    for bad in [
        flipped,
        other_key,
        format!("{good}x"),
        good[..good.len() - 1].to_owned(),
        "garbage".to_owned(),
        "x".repeat(5000),
    ] {
        let mut tampered = Jar::default();
        tampered.set("session", &bad);
        let (status, text, _) = send(&app, &mut tampered, "GET", "/peek").await;
        assert_eq!(status, StatusCode::OK, "{bad:.40}");
        assert_eq!(text, "0 - new=true", "{bad:.40}");
    }
}

#[actix_web::test]
async fn a_cookie_sealed_for_another_name_does_not_open() {
    let a = app!(cookie_store(&[KEY]).cookie_name("a"));
    let b = app!(cookie_store(&[KEY]).cookie_name("b"));
    let mut jar = Jar::default();
    send(&a, &mut jar, "POST", "/login").await;
    let value = jar.get("a").expect("cookie a").value().to_owned();
    let mut moved = Jar::default();
    moved.set("b", &value);
    assert_eq!(send(&b, &mut moved, "GET", "/peek").await.1, "0 - new=true");
    assert_eq!(
        send(&a, &mut jar, "GET", "/peek").await.1,
        "0 ada new=false"
    );
}

#[actix_web::test]
async fn an_older_key_opens_and_the_response_seals_with_the_first() {
    let old = app!(cookie_store(&[OLD_KEY]).ttl_policy(TtlPolicy::OnChange));
    let rotated = app!(cookie_store(&[NEW_KEY, OLD_KEY]).ttl_policy(TtlPolicy::OnChange));
    let new_only = app!(cookie_store(&[NEW_KEY]).ttl_policy(TtlPolicy::OnChange));
    let mut jar = Jar::default();
    send(&old, &mut jar, "POST", "/login").await;
    let sealed_by_old = jar.clone();
    // A read under the rotated ring: no change, yet the cookie is sealed again.
    let (_, text, set) = send(&rotated, &mut jar, "GET", "/peek").await;
    assert_eq!(text, "0 ada new=false");
    assert_eq!(set.len(), 1, "re-sealed with the new key: {set:?}");
    // Once re-sealed, a read sets nothing (the policy moves no expiry on reads).
    assert!(send(&rotated, &mut jar, "GET", "/peek").await.2.is_empty());
    assert_eq!(
        send(&new_only, &mut jar, "GET", "/peek").await.1,
        "0 ada new=false"
    );
    let mut stale = sealed_by_old.clone();
    assert_eq!(
        send(&new_only, &mut stale, "GET", "/peek").await.1,
        "0 - new=true"
    );
}

#[actix_web::test]
async fn a_session_too_large_for_a_cookie_fails_its_commit_and_the_old_cookie_stays() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let (status, _, _) = send(&app, &mut jar, "POST", "/note/2000").await;
    assert_eq!(status, StatusCode::OK, "2000 bytes fit");
    let before = session_value(&jar);
    let (status, text, set) = send(&app, &mut jar, "POST", "/note/4000").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(text, "", "the handler's answer is replaced");
    assert!(set.is_empty(), "nothing handed out: {set:?}");
    assert_eq!(session_value(&jar), before);
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "0 ada new=false"
    );
}

#[actix_web::test]
async fn every_cookie_handed_out_fits_in_4096_bytes_with_its_attributes() {
    let app = app!(cookie_store(&[KEY])
        .max_age(Duration::from_secs(3600))
        .cookie_domain("a-rather-long-subdomain.example.com")
        .cookie_path("/some/long/path/for/the/cookie"));
    let jar = Jar::default();
    let mut largest = 0;
    for len in (2600..3200).step_by(20) {
        let path = format!("/note/{len}");
        let res = call_service(&app, jar.request("POST", &path).to_request()).await;
        for value in res.headers().get_all("set-cookie") {
            assert!(value.len() <= 4096, "{} bytes at {len}", value.len());
            largest = largest.max(value.len());
        }
        if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
            assert!(largest > 3900, "refused only near the limit: {largest}");
            return;
        }
    }
    panic!("no note was refused; largest cookie {largest}");
}

#[actix_web::test]
async fn the_absolute_timeout_holds_from_the_creation_time_inside_the_cookie() {
    let app = app!(cookie_store(&[KEY]).absolute_timeout(Duration::from_millis(800)));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    // Used constantly, and renewed: the creation time goes along.
    for _ in 0..3 {
        actix_rt::time::sleep(Duration::from_millis(150)).await;
        assert!(send(&app, &mut jar, "GET", "/").await.1.ends_with(" ada"));
    }
    send(&app, &mut jar, "POST", "/login").await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let (status, text, set) = send(&app, &mut jar, "GET", "/peek").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "0 - new=true"));
    assert!(
        set.iter()
            .any(|c| c.name() == "session" && c.value().is_empty()),
        "the timed-out cookie is removed: {set:?}"
    );
}

/// No record is deleted to make a timed-out cookie's report once: each request whose
/// commit clears the cookie, or replaces it with a new session, reports it, after that
/// commit, as any event a request causes. A request that commits nothing reports nothing.
#[actix_web::test]
async fn a_timed_out_cookie_is_reported_by_each_commit_that_clears_or_replaces_it() {
    let (builder, events) =
        recorded(cookie_store(&[KEY]).absolute_timeout(Duration::from_millis(300)));
    let app = app!(builder);
    let heard = || -> Vec<(SessionEventKind, String)> {
        std::mem::take(&mut *events.lock().unwrap())
            .iter()
            .map(|event| (event.kind(), event.fingerprint().to_owned()))
            .collect()
    };
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let [(SessionEventKind::Created, login)] = &heard()[..] else {
        panic!("a login of a new visitor is a creation");
    };
    actix_rt::time::sleep(Duration::from_millis(400)).await;
    let copy = jar.clone();

    // A handler that answers 500 commits nothing: the cookie stays.
    let (status, _, set) = send(&app, &mut jar, "GET", "/fails").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set.is_empty(), "{set:?}");
    // A commit that fails (a note no cookie holds) delivers none of its events.
    let (status, _, set) = send(&app, &mut jar, "POST", "/note/5000").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set.is_empty(), "{set:?}");
    assert_eq!(heard(), [], "no commit, no report");

    let (_, text, set) = send(&app, &mut jar, "GET", "/peek").await;
    assert_eq!(text, "0 - new=true");
    assert!(
        set.iter()
            .any(|c| c.name() == "session" && c.value().is_empty()),
        "the timed-out cookie is removed: {set:?}"
    );
    assert_eq!(heard(), [(SessionEventKind::TimedOut, login.clone())]);

    // A kept copy is reported again, before the session that takes its place.
    let mut replayed = copy;
    assert_eq!(send(&app, &mut replayed, "GET", "/").await.1, "1 -");
    let replay = heard();
    let kinds: Vec<_> = replay.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [SessionEventKind::TimedOut, SessionEventKind::Created]
    );
    assert_eq!(&replay[0].1, login, "the copy's session timed out");
}

#[actix_web::test]
async fn a_replayed_cookie_past_its_ttl_is_no_session_whatever_the_browser_was_told() {
    let app = app!(cookie_store(&[KEY])
        .max_age(Duration::from_secs(24 * 3600))
        .ttl(Duration::from_millis(400)));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let copy = jar.clone();
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    let mut replayed = copy;
    let (status, text, _) = send(&app, &mut replayed, "GET", "/peek").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "0 - new=true"));
}

#[actix_web::test]
async fn each_access_moves_the_expiry_under_the_default_policy_and_only_writes_under_on_change() {
    let every = app!(cookie_store(&[KEY]).ttl(Duration::from_millis(600)));
    let mut jar = Jar::default();
    send(&every, &mut jar, "POST", "/login").await;
    for _ in 0..4 {
        actix_rt::time::sleep(Duration::from_millis(250)).await;
        let (_, text, set) = send(&every, &mut jar, "GET", "/peek").await;
        assert_eq!(text, "0 ada new=false", "kept alive by reads");
        assert_eq!(set.len(), 1, "each read seals the cookie again");
    }
    let on_change = app!(cookie_store(&[KEY]).ttl_policy(TtlPolicy::OnChange));
    let mut jar = Jar::default();
    send(&on_change, &mut jar, "POST", "/login").await;
    assert!(send(&on_change, &mut jar, "GET", "/peek")
        .await
        .2
        .is_empty());
    assert_eq!(send(&on_change, &mut jar, "GET", "/").await.2.len(), 1);
}

fn recorded(
    builder: SessionMiddlewareBuilder,
) -> (SessionMiddlewareBuilder, Arc<Mutex<Vec<SessionEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let builder =
        builder.on_event(move |event: &SessionEvent| sink.lock().unwrap().push(event.clone()));
    (builder, events)
}

/// koa-session's `_expire` in a cookie of its cookie mode.
fn koa_expire(jar: &Jar) -> u64 {
    use base64::Engine;
    let value = jar.get("koa.sess").expect("koa.sess").value().to_owned();
    let json = base64::engine::general_purpose::STANDARD
        .decode(value)
        .expect("base64");
    let document: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    document["_expire"].as_u64().expect("a number")
}

/// koa-session's `rolling: true` is `ttl_policy(OnEveryAccess)` under its cookie preset: a
/// read sends the value and its signature again, `_expire` moved on. Its default (koa's
/// own: `OnChange`) sends nothing on a read.
#[actix_web::test]
async fn koa_cookie_mode_rolls_on_every_access_only_when_asked() {
    let koa = |policy: Option<TtlPolicy>| {
        let builder = SessionMiddleware::builder_with_cookie_store(
            Keys::new(["a Koa app's key"]).allow_short_keys(),
        )
        .compat(Compat::KoaSessionCookie)
        .cookie_secure(false);
        match policy {
            Some(policy) => builder.ttl_policy(policy),
            None => builder,
        }
    };
    let names = |set: &[actix_web::cookie::Cookie<'static>]| -> Vec<String> {
        set.iter().map(|cookie| cookie.name().to_owned()).collect()
    };

    let rolling = app!(koa(Some(TtlPolicy::OnEveryAccess)));
    let mut jar = Jar::default();
    send(&rolling, &mut jar, "POST", "/login").await;
    let first = koa_expire(&jar);
    actix_rt::time::sleep(Duration::from_millis(20)).await;
    let (_, text, set) = send(&rolling, &mut jar, "GET", "/peek").await;
    assert_eq!(text, "0 ada new=false");
    assert_eq!(names(&set), ["koa.sess", "koa.sess.sig"]);
    assert!(koa_expire(&jar) > first, "a read moves _expire on");

    let koa_default = app!(koa(None));
    let mut jar = Jar::default();
    send(&koa_default, &mut jar, "POST", "/login").await;
    let (_, text, set) = send(&koa_default, &mut jar, "GET", "/peek").await;
    assert_eq!(text, "0 ada new=false");
    assert!(set.is_empty(), "a read sends nothing: {:?}", names(&set));
    assert_eq!(
        names(&send(&koa_default, &mut jar, "GET", "/").await.2),
        ["koa.sess", "koa.sess.sig"],
        "a change sends both"
    );
}

#[actix_web::test]
async fn renew_gives_a_new_id_and_sealing_and_keeps_the_data() {
    let (builder, events) = recorded(cookie_store(&[KEY]));
    let app = app!(builder);
    let mut jar = Jar::default();
    send(&app, &mut jar, "GET", "/").await;
    send(&app, &mut jar, "GET", "/").await;
    let before = session_value(&jar);
    send(&app, &mut jar, "POST", "/login").await;
    assert_ne!(session_value(&jar), before);
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "2 ada new=false"
    );
    let events = events.lock().unwrap();
    let kinds: Vec<_> = events.iter().map(SessionEvent::kind).collect();
    assert_eq!(
        kinds,
        [SessionEventKind::Created, SessionEventKind::Renewed]
    );
    assert_eq!(
        events[1].previous_fingerprint(),
        Some(events[0].fingerprint()),
        "the renewal names the session it replaced"
    );
    assert_ne!(events[1].fingerprint(), events[0].fingerprint());
}

#[actix_web::test]
async fn purge_removes_the_cookie_but_a_copy_stays_valid_until_it_expires() {
    let (builder, events) = recorded(cookie_store(&[KEY]).ttl(Duration::from_millis(700)));
    let app = app!(builder);
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let copy = jar.clone();
    let (status, _, set) = send(&app, &mut jar, "POST", "/logout").await;
    assert_eq!(status, StatusCode::OK);
    let removal = set
        .iter()
        .find(|c| c.name() == "session")
        .expect("a removal");
    assert_eq!(removal.value(), "");
    assert!(jar.get("session").is_none());
    assert_eq!(send(&app, &mut jar, "GET", "/peek").await.1, "0 - new=true");
    assert_eq!(
        events.lock().unwrap().last().map(SessionEvent::kind),
        Some(SessionEventKind::LoggedOut)
    );
    // What a stateless session cannot promise: the copy still opens, until its expiry.
    let mut stolen = copy.clone();
    assert_eq!(
        send(&app, &mut stolen, "GET", "/peek").await.1,
        "0 ada new=false"
    );
    actix_rt::time::sleep(Duration::from_millis(900)).await;
    let mut stolen = copy;
    assert_eq!(
        send(&app, &mut stolen, "GET", "/peek").await.1,
        "0 - new=true"
    );
}

#[actix_web::test]
async fn save_uninitialized_hands_every_visitor_a_sealed_guest_session() {
    let app = app!(cookie_store(&[KEY]).save_uninitialized(true));
    let mut jar = Jar::default();
    let (_, _, set) = send(&app, &mut jar, "GET", "/health").await;
    assert_eq!(set.len(), 1, "a guest cookie: {set:?}");
    let guest = session_value(&jar);
    assert!(send(&app, &mut jar, "GET", "/health").await.2.is_empty());
    assert_eq!(session_value(&jar), guest);
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "0 - new=false"
    );
}

#[actix_web::test]
async fn a_failed_handler_saves_nothing() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    let (status, _, set) = send(&app, &mut jar, "GET", "/fails").await;
    assert_eq!((status, set.len()), (StatusCode::INTERNAL_SERVER_ERROR, 0));
}

#[actix_web::test]
async fn what_needs_server_state_is_refused_in_the_request_never_ignored() {
    let app = app!(cookie_store(&[KEY]));
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login").await;
    for path in ["/indexed", "/counted"] {
        let (status, text, set) = send(&app, &mut jar, "GET", path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(text, "", "{path}: an opaque error");
        assert!(set.is_empty(), "{path}: {set:?}");
    }
    assert_eq!(
        send(&app, &mut jar, "GET", "/peek").await.1,
        "0 ada new=false"
    );
}

#[test]
fn options_that_need_a_store_or_would_be_ignored_are_refused_at_build() {
    let keys = || Keys::new([KEY]);
    let builder = || SessionMiddleware::builder_with_cookie_store(keys());
    let refused = |builder: SessionMiddlewareBuilder| builder.try_build().err();
    let not_with = |option: &str, error: Option<ConfigError>| match error {
        Some(ConfigError::NotWithCookieStore { option: found, .. }) => found == option,
        _ => false,
    };
    let cases: Vec<(&str, Option<ConfigError>)> = vec![
        ("key_prefix", refused(builder().key_prefix("app:"))),
        (
            "index_secret",
            refused(builder().index_secret("i".repeat(48))),
        ),
        (
            "max_sessions_per_index",
            refused(builder().max_sessions_per_index(3)),
        ),
        (
            "record_user_agent",
            refused(builder().record_user_agent(false)),
        ),
        (
            "record_client_ip",
            refused(builder().record_client_ip(true)),
        ),
        ("fail_open", refused(builder().fail_open(true))),
        (
            "id_transport",
            refused(builder().id_transport(IdTransport::Header)),
        ),
        (
            "id_transport",
            refused(builder().id_transport(IdTransport::Both)),
        ),
        (
            "id_header",
            refused(builder().id_header(actix_web::http::header::HeaderName::from_static("x-s"))),
        ),
        ("compat", refused(builder().compat(Compat::KoaSession))),
        (
            "store_layout",
            refused(
                builder()
                    .compat(Compat::KoaSessionCookie)
                    .store_layout(actix_typed_session::store::Layout::Fields),
            ),
        ),
        (
            "signing_algorithm",
            refused(builder().signing_algorithm(Algorithm::Sha1)),
        ),
        // koa-session's cookie mode keeps its expiry in the cookie, from max_age.
        (
            "ttl",
            refused(
                builder()
                    .compat(Compat::KoaSessionCookie)
                    .ttl(Duration::from_secs(60)),
            ),
        ),
    ];
    for (option, error) in cases {
        let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(not_with(option, error), "{option}: {message}");
        assert!(
            message.contains(option) && message.contains("cookie store"),
            "{message}"
        );
    }
    assert_eq!(
        SessionMiddleware::builder_with_cookie_store(Keys::none())
            .try_build()
            .err(),
        Some(ConfigError::CookieStoreWithoutKeys)
    );
    assert_eq!(
        SessionMiddleware::builder_with_cookie_store(Keys::new(["short"]).allow_short_keys())
            .try_build()
            .err(),
        Some(ConfigError::ShortCookieStoreKey { index: 0, len: 5 })
    );
    assert_eq!(
        SessionMiddleware::builder_with_cookie_store(Keys::new([KEY, ""]))
            .try_build()
            .err(),
        Some(ConfigError::EmptyKey { index: 1 })
    );
    match refused(builder().max_session_size(4000)) {
        Some(ConfigError::MaxSessionSizeOverCookie { limit: 4000, room }) => {
            assert!((2500..3000).contains(&room), "{room}");
            assert!(builder().max_session_size(room).try_build().is_ok());
        }
        other => panic!("{other:?}"),
    }
    // What the cookie store honours builds.
    assert!(builder()
        .cookie_name("__Host-s")
        .max_age(Duration::from_secs(60))
        .ttl(Duration::from_secs(30))
        .ttl_policy(TtlPolicy::OnChange)
        .absolute_timeout(Duration::from_secs(3600))
        .save_uninitialized(true)
        .commit_on_server_error(true)
        .overwrite_handler_cookie(false)
        .id_transport(IdTransport::Cookie)
        .try_build()
        .is_ok());
}

#[test]
fn the_admin_handle_is_refused_on_a_cookie_store() {
    let middleware = SessionMiddleware::builder_with_cookie_store(Keys::new([KEY])).build();
    assert_eq!(
        middleware.try_admin().err(),
        Some(ConfigError::AdminWithCookieStore)
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| middleware.admin()));
    let message = panicked.err().and_then(|p| p.downcast::<String>().ok());
    assert!(
        message.is_some_and(|m| m.contains("admin handle")),
        "admin() refuses with the ConfigError's message"
    );
}
