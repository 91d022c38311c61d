//! Ours, for the cases the counter example cannot serve: a session holding a 10 KB field
//! next to a small one that changes, and the read-modify-write of `views` that the
//! counter's `GET /` did before it incremented on the server. The counter example's routes
//! are a fixed contract (DESIGN.md), so these routes live here, on the same defaults.
//!
//! Environment: `BIND`, `REDIS_URL`, `WORKERS` (default 1).

use actix_typed_session::store::RedisStore;
use actix_typed_session::{Keys, Session, SessionData, SessionMiddleware};
use actix_typed_session_bench::{big_value, bind, workers};
use actix_web::{web, App, HttpServer};

#[derive(SessionData)]
struct Big {
    views: u64,
    blob: String,
}

async fn big_fill(mut session: Session<Big>) -> &'static str {
    session.set_blob(big_value());
    "filled"
}

async fn big_bump(mut session: Session<Big>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

#[derive(SessionData)]
struct Visit {
    views: u64,
}

/// `views += 1` as a load and a guarded write, as actix-session's `/` does it.
async fn modify(mut session: Session<Visit>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("REDIS_URL").map_err(|_| std::io::Error::other("set REDIS_URL"))?;
    let store = RedisStore::connect(&url)
        .await
        .map_err(std::io::Error::other)?;
    let sessions =
        SessionMiddleware::new(store, Keys::new(["bench key that is long enough to sign"]));
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/big/fill", web::get().to(big_fill))
            .route("/big/bump", web::get().to(big_bump))
            .route("/modify", web::get().to(modify))
    })
    .workers(workers())
    .bind(bind())?
    .run()
    .await
}
