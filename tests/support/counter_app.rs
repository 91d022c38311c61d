//! The counter app's session struct and handlers, for tests that run an app in-process.
//! They mirror `examples/counter.rs`, which tests drive as a separate process.

use actix_typed_session::{Session, SessionData, SessionError, SessionWriter};
use actix_web::{web, HttpResponse};

/// The counter's session.
#[derive(SessionData)]
pub struct Visit {
    #[session(counter)]
    views: u64,
    #[session(index)]
    user: Option<String>,
}

/// `GET /`: views += 1, on the server (one round trip; concurrent ones all count).
pub async fn index(mut visit: SessionWriter<Visit>) -> Result<String, SessionError> {
    let views = visit.increment_views(1).await?;
    Ok(format!("{views} views"))
}

/// `GET /modify`: views += 1 read-modify-write, as `GET /` did before increments: a load,
/// then a guarded write. Not a route of the example; tests of that path use it.
pub async fn modify(mut session: Session<Visit>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

/// `GET /peek`: reads only.
pub async fn peek(session: Session<Visit>) -> String {
    format!("{} views", *session.views())
}

/// `POST /login`: logs `ada` in and renews the id.
pub async fn login(mut session: Session<Visit>) -> &'static str {
    session.set_user(Some("ada".to_owned()));
    session.renew();
    "welcome"
}

/// `GET /whoami`: the user, or 401.
pub async fn whoami(session: Session<Visit>) -> HttpResponse {
    match session.user().as_deref() {
        Some(user) => HttpResponse::Ok().body(user.to_owned()),
        None => HttpResponse::Unauthorized().finish(),
    }
}

/// `POST /logout`: purges.
pub async fn logout(mut session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

/// `GET /sessions`: the user's sessions, one fingerprint a line; 401 without a user.
pub async fn sessions(session: Session<Visit>) -> Result<HttpResponse, SessionError> {
    if session.user().is_none() {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let listed = session.sessions().await?;
    let lines: String = listed
        .iter()
        .map(|info| format!("{}\n", info.fingerprint()))
        .collect();
    Ok(HttpResponse::Ok().body(lines))
}

/// `POST /logout-everywhere`: ends every session of the user; 401 without a user.
pub async fn logout_everywhere(mut session: Session<Visit>) -> Result<HttpResponse, SessionError> {
    if session.user().is_none() {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let ended = session.end_all_sessions().await?;
    Ok(HttpResponse::Ok().body(format!("ended {ended}")))
}

/// The counter's routes: `/`, `/modify` (not the example's), `/peek`, `/health` (no session), `/login`, `/whoami`, `/logout`,
/// `/sessions`, `/logout-everywhere`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/modify", web::get().to(modify))
        .route("/peek", web::get().to(peek))
        .route("/health", web::get().to(|| async { "ok" }))
        .route("/login", web::post().to(login))
        .route("/whoami", web::get().to(whoami))
        .route("/logout", web::post().to(logout))
        .route("/sessions", web::get().to(sessions))
        .route("/logout-everywhere", web::post().to(logout_everywhere));
}
