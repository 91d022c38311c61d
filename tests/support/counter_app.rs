//! The counter app's session struct and handlers, for tests that run an app in-process.
//! They mirror `examples/counter.rs`, which tests drive as a separate process.

use actix_typed_session::{Session, SessionData};
use actix_web::{web, HttpResponse};

/// The counter's session.
#[derive(SessionData)]
pub struct Visit {
    views: u64,
    user: Option<String>,
}

/// `GET /`: views += 1.
pub async fn index(mut session: Session<Visit>) -> String {
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
pub async fn logout(session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

/// The counter's routes: `/`, `/peek`, `/health` (no session), `/login`, `/whoami`, `/logout`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/peek", web::get().to(peek))
        .route("/health", web::get().to(|| async { "ok" }))
        .route("/login", web::post().to(login))
        .route("/whoami", web::get().to(whoami))
        .route("/logout", web::post().to(logout));
}
