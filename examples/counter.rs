//! The counter example: the runnable contract in DESIGN.md.
//!
//! ```text
//! cargo run --example counter                        # in-memory store
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example counter
//! ```
//!
//! Environment: `BIND` (default 127.0.0.1:8080), `REDIS_URL`, `SESSION_KEYS` (comma-separated
//! secrets, the first signs), `SESSION_PREFIX` (store key prefix), `WORKERS`.

use std::env;
use std::io;

use actix_typed_session::store::{MemoryStore, RedisStore};
use actix_typed_session::{
    Keys, Session, SessionData, SessionMiddleware, SessionMiddlewareBuilder,
};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;

/// Used only when `SESSION_KEYS` is unset; anyone can forge cookies signed with it.
const DEVELOPMENT_KEY: &str = "development key: set SESSION_KEYS in production";
/// Longest user name `/login` accepts.
const MAX_USER_LEN: usize = 64;

#[derive(SessionData)]
struct Visit {
    views: u64,
    user: Option<String>,
}

async fn index(mut session: Session<Visit>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    format!("{views} views")
}

async fn peek(session: Session<Visit>) -> String {
    format!("{} views", *session.views())
}

async fn health() -> &'static str {
    "ok"
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

async fn login(mut session: Session<Visit>, query: web::Query<Login>) -> HttpResponse {
    let user = query.into_inner().user;
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return HttpResponse::BadRequest().body("user must be 1 to 64 bytes");
    }
    session.set_user(Some(user.clone()));
    // A new id on every privilege change: an id planted before the login is worthless.
    session.renew();
    HttpResponse::Ok().body(format!("welcome {user}"))
}

async fn whoami(session: Session<Visit>) -> HttpResponse {
    match session.user().as_deref() {
        Some(user) => HttpResponse::Ok().body(user.to_owned()),
        None => HttpResponse::Unauthorized().finish(),
    }
}

async fn logout(session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

fn keys() -> Keys {
    match env::var("SESSION_KEYS") {
        Ok(keys) if !keys.trim().is_empty() => Keys::new(keys.split(',').map(str::trim)),
        _ => {
            tracing::warn!("SESSION_KEYS is unset: signing cookies with a fixed development key");
            Keys::new([DEVELOPMENT_KEY])
        }
    }
}

fn with_prefix(builder: SessionMiddlewareBuilder) -> SessionMiddlewareBuilder {
    match env::var("SESSION_PREFIX") {
        Ok(prefix) => builder.key_prefix(prefix),
        Err(_) => builder,
    }
}

async fn middleware() -> io::Result<SessionMiddleware> {
    let builder = match env::var("REDIS_URL") {
        Ok(url) => {
            let store = RedisStore::connect(&url).await.map_err(io::Error::other)?;
            tracing::info!("session store: Redis at {url}");
            SessionMiddleware::builder(store, keys())
        }
        Err(_) => {
            tracing::info!("session store: in memory (set REDIS_URL to use Redis)");
            SessionMiddleware::builder(MemoryStore::new(), keys())
        }
    };
    Ok(with_prefix(builder).build())
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
    let bind = env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let sessions = middleware().await?;

    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/", web::get().to(index))
            .route("/peek", web::get().to(peek))
            .route("/health", web::get().to(health))
            .route("/login", web::post().to(login))
            .route("/whoami", web::get().to(whoami))
            .route("/logout", web::post().to(logout))
    });
    if let Some(workers) = env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    tracing::info!("listening on http://{bind}");
    server.bind(&bind)?.run().await
}
