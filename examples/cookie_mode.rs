//! The counter under the cookie store (`SESSION_COMPAT=koa-cookie`): the whole session
//! travels in koa-session's signed cookie, shared with a Koa app that has no store. A
//! counter increment and the per-user index need a store on the server, so here `/`
//! reads and writes the count, and `/sessions` and `/logout-everywhere` do not exist.

use actix_typed_session::{Session, SessionData};
use actix_web::{web, HttpResponse};

use super::{valid_user, Login};

#[derive(SessionData)]
struct Visit {
    views: u64,
    user: Option<String>,
}

/// Two requests at once each count from what their cookie held: the last answer's
/// cookie wins, as with koa-session.
async fn index(mut session: Session<Visit>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

async fn peek(session: Session<Visit>) -> String {
    format!("{} views", *session.views())
}

async fn login(mut session: Session<Visit>, query: web::Query<Login>) -> HttpResponse {
    let user = query.into_inner().user;
    if !valid_user(&user) {
        return HttpResponse::BadRequest().body("user must be 1 to 64 bytes");
    }
    session.set_user(Some(user.clone()));
    // The cookie is sent again; a copy taken before the login stays what it was.
    session.renew();
    HttpResponse::Ok().body(format!("welcome {user}"))
}

async fn whoami(session: Session<Visit>) -> HttpResponse {
    match session.user().as_deref() {
        Some(user) => HttpResponse::Ok().body(user.to_owned()),
        None => HttpResponse::Unauthorized().finish(),
    }
}

/// Clears the cookie: the session ends in this browser (a copy stays valid until its
/// `_expire`).
async fn logout(mut session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

/// The session routes of the contract, cookie-store style.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/peek", web::get().to(peek))
        .route("/login", web::post().to(login))
        .route("/whoami", web::get().to(whoami))
        .route("/logout", web::post().to(logout));
}
