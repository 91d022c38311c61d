//! The conformance suite as a request sees it: the same checks, through the middleware, for
//! every way of keeping sessions, each with the exceptions it declares.
//!
//! `conformance.rs` holds the store contract (`SessionStore`), which a store on the
//! server keeps. The cookie store keeps no server state, so it has no `SessionStore` to
//! run that contract on: its sessions are only ever seen through requests. This suite
//! runs the promises a handler relies on (a write is read back, a renewal keeps the data,
//! a logout ends the session, the time-to-live and the absolute timeout hold, a forged
//! cookie is a fresh session) against a middleware, whatever keeps its sessions. What
//! one of them cannot do is declared in [`Exceptions`], and then the suite checks the
//! declared behaviour instead: an exception is a promise of its own, never a skipped
//! check.

use std::time::Duration;

use actix_http::Request;
use actix_typed_session::{Session, SessionData, SessionError, SessionMiddlewareBuilder};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error};

use crate::http::{body, Jar};

/// What a way of keeping sessions declares it cannot do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exceptions {
    /// A copy of a cookie taken before a logout or a renewal still opens the session until
    /// it expires (the cookie store: nothing on the server ends it).
    pub copies_outlive_logout: bool,
    /// `#[session(counter)]` increments are refused with an empty 500 (the cookie store:
    /// an increment is atomic only in a store).
    pub no_increments: bool,
    /// A struct with an `#[session(index)]` field is refused with an empty 500 (the cookie
    /// store: the per-user index lives on the server).
    pub no_index: bool,
}

impl Exceptions {
    /// The cookie store's: no revocation, no increments, no index.
    pub fn cookie_store() -> Self {
        Self {
            copies_outlive_logout: true,
            no_increments: true,
            no_index: true,
        }
    }
}

#[derive(SessionData)]
struct Visit {
    views: u64,
    user: Option<String>,
}

#[derive(SessionData)]
struct Counted {
    #[session(counter)]
    hits: u64,
}

#[derive(SessionData)]
struct Indexed {
    #[session(index)]
    user: Option<String>,
}

/// `views user`, `-` for no user.
async fn read(session: Session<Visit>) -> String {
    let user = session.user().clone().unwrap_or_else(|| "-".to_owned());
    format!("{} {user}", session.views())
}

async fn write(mut session: Session<Visit>) -> &'static str {
    session.update_views(|views| *views += 1);
    "written"
}

async fn login(mut session: Session<Visit>) -> &'static str {
    session.set_user(Some("ada".to_owned()));
    session.renew();
    "welcome"
}

async fn logout(mut session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

async fn increment(mut session: Session<Counted>) -> Result<String, SessionError> {
    Ok(session.increment_hits(2).await?.to_string())
}

async fn list(mut session: Session<Indexed>) -> Result<String, SessionError> {
    session.set_user(Some("ada".to_owned()));
    Ok(session.sessions().await?.len().to_string())
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/read", web::get().to(read))
        .route("/write", web::post().to(write))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/increment", web::post().to(increment))
        .route("/list", web::get().to(list));
}

/// Runs every check against middlewares from `builder`, which gives a fresh builder (with
/// its own store, if any) each time it is called, with `exceptions` declared.
pub async fn run(builder: impl Fn() -> SessionMiddlewareBuilder, exceptions: Exceptions) {
    a_write_is_read_back(builder()).await;
    a_renewal_keeps_the_data_under_a_new_cookie(builder()).await;
    a_logout_ends_the_session_and_its_copies(builder(), exceptions).await;
    a_renewal_ends_the_old_cookie(builder(), exceptions).await;
    a_forged_cookie_is_a_fresh_session(builder()).await;
    a_session_expires_after_its_ttl(builder()).await;
    the_absolute_timeout_holds_however_often_it_is_used(builder()).await;
    an_increment_counts_in_the_session(builder(), exceptions).await;
    a_user_lists_their_sessions(builder(), exceptions).await;
}

async fn call<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: std::fmt::Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    let status = res.status();
    jar.absorb(&res);
    (status, body(res).await)
}

macro_rules! app {
    ($builder:expr) => {
        test::init_service(App::new().wrap($builder.build()).configure(routes)).await
    };
}

async fn a_write_is_read_back(builder: SessionMiddlewareBuilder) {
    let app = app!(builder);
    let mut jar = Jar::default();
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "0 -");
    for _ in 0..3 {
        assert_eq!(
            call(&app, &mut jar, "POST", "/write").await.0,
            StatusCode::OK
        );
    }
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "3 -");
}

async fn a_renewal_keeps_the_data_under_a_new_cookie(builder: SessionMiddlewareBuilder) {
    let app = app!(builder);
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/write").await;
    let before = jar.clone();
    call(&app, &mut jar, "POST", "/login").await;
    assert_ne!(format!("{:?}", jar.0), format!("{:?}", before.0));
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "1 ada");
}

async fn a_logout_ends_the_session_and_its_copies(
    builder: SessionMiddlewareBuilder,
    exceptions: Exceptions,
) {
    let app = app!(builder);
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/login").await;
    let mut copy = jar.clone();
    call(&app, &mut jar, "POST", "/logout").await;
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "0 -");
    let expected = if exceptions.copies_outlive_logout {
        "0 ada"
    } else {
        "0 -"
    };
    assert_eq!(call(&app, &mut copy, "GET", "/read").await.1, expected);
}

async fn a_renewal_ends_the_old_cookie(builder: SessionMiddlewareBuilder, exceptions: Exceptions) {
    let app = app!(builder);
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/write").await;
    let mut planted = jar.clone();
    call(&app, &mut jar, "POST", "/login").await;
    // The cookie from before the login does not carry the login: it is either no session
    // or, declared, the session as it was then.
    let expected = if exceptions.copies_outlive_logout {
        "1 -"
    } else {
        "0 -"
    };
    assert_eq!(call(&app, &mut planted, "GET", "/read").await.1, expected);
}

async fn a_forged_cookie_is_a_fresh_session(builder: SessionMiddlewareBuilder) {
    let app = app!(builder.cookie_name("s"));
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/login").await;
    let value = jar.get("s").expect("a session cookie").value().to_owned();
    let forged = format!(
        "{}{}",
        &value[..value.len() / 2],
        "A".repeat(value.len() / 2 + 1)
    );
    let mut last_changed = value.clone();
    let last = last_changed.pop();
    last_changed.push(if last == Some('A') { 'B' } else { 'A' });
    for bad in [forged, String::new(), "x".repeat(5000), last_changed] {
        let mut forged = jar.clone();
        forged.set("s", &bad);
        let (status, text) = call(&app, &mut forged, "GET", "/read").await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::OK, "0 -"),
            "{bad:.40}"
        );
    }
}

async fn a_session_expires_after_its_ttl(builder: SessionMiddlewareBuilder) {
    let app = app!(builder.ttl(Duration::from_millis(400)));
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/login").await;
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "0 -");
}

async fn the_absolute_timeout_holds_however_often_it_is_used(builder: SessionMiddlewareBuilder) {
    let app = app!(builder.absolute_timeout(Duration::from_millis(700)));
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/login").await;
    for _ in 0..3 {
        actix_rt::time::sleep(Duration::from_millis(150)).await;
        call(&app, &mut jar, "POST", "/write").await;
    }
    call(&app, &mut jar, "POST", "/login").await;
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "3 ada");
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(call(&app, &mut jar, "GET", "/read").await.1, "0 -");
}

async fn an_increment_counts_in_the_session(
    builder: SessionMiddlewareBuilder,
    exceptions: Exceptions,
) {
    let app = app!(builder);
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/write").await;
    let (status, text) = call(&app, &mut jar, "POST", "/increment").await;
    if exceptions.no_increments {
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "")
        );
    } else {
        assert_eq!((status, text.as_str()), (StatusCode::OK, "2"));
        assert_eq!(call(&app, &mut jar, "POST", "/increment").await.1, "4");
    }
}

async fn a_user_lists_their_sessions(builder: SessionMiddlewareBuilder, exceptions: Exceptions) {
    let app = app!(builder);
    let mut jar = Jar::default();
    call(&app, &mut jar, "POST", "/write").await;
    let (status, text) = call(&app, &mut jar, "GET", "/list").await;
    if exceptions.no_index {
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "")
        );
    } else {
        // This session joins its index with the response; the listing before it sees none.
        assert_eq!((status, text.as_str()), (StatusCode::OK, "0"));
        assert_eq!(call(&app, &mut jar, "GET", "/list").await.1, "1");
    }
}
