//! The comparison target: the bench routes on actix-session 0.11 with its
//! `RedisSessionStore`, configured like our defaults (signed cookie, browser-session
//! cookie, one day TTL) with the TTL refreshed on every request, as ours is.
//!
//! Environment: `BIND`, `REDIS_URL`, `WORKERS` (default 1).

use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_typed_session_bench::{big_value, bind, workers};
use actix_web::cookie::{time::Duration, Key};
use actix_web::{web, App, HttpResponse, HttpServer};

fn views(session: &Session) -> u64 {
    session.get::<u64>("views").ok().flatten().unwrap_or(0)
}

async fn index(session: Session) -> HttpResponse {
    let views = views(&session) + 1;
    match session.insert("views", views) {
        Ok(()) => HttpResponse::Ok().body(format!("{views} views")),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn peek(session: Session) -> String {
    format!("{} views", views(&session))
}

async fn health() -> &'static str {
    "ok"
}

async fn big_fill(session: Session) -> HttpResponse {
    match session.insert("blob", big_value()) {
        Ok(()) => HttpResponse::Ok().body("filled"),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn big_bump(session: Session) -> HttpResponse {
    index(session).await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("REDIS_URL").map_err(|_| std::io::Error::other("set REDIS_URL"))?;
    let store = RedisSessionStore::new(url)
        .await
        .map_err(std::io::Error::other)?;
    // A fixed key: the benchmark needs no secrecy, and a fixed key keeps runs comparable.
    let key = Key::from(&[7u8; 64]);
    HttpServer::new(move || {
        let lifecycle = BrowserSession::default()
            .state_ttl(Duration::days(1))
            .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest);
        App::new()
            .wrap(
                SessionMiddleware::builder(store.clone(), key.clone())
                    .cookie_content_security(CookieContentSecurity::Signed)
                    .cookie_secure(false)
                    .session_lifecycle(lifecycle)
                    .build(),
            )
            .route("/", web::get().to(index))
            .route("/peek", web::get().to(peek))
            .route("/health", web::get().to(health))
            .route("/big/fill", web::get().to(big_fill))
            .route("/big/bump", web::get().to(big_bump))
    })
    .workers(workers())
    .bind(bind())?
    .run()
    .await
}
