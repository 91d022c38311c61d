//! The demo: a small web app with HTML pages on actix-typed-session, for people to try
//! the library in a browser (and for the browser test to drive).
//!
//! ```text
//! cargo run --example demo                                   # in-memory store
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example demo  # Redis
//! ```
//!
//! Then open <http://127.0.0.1:8080>. Environment: `BIND` (default 127.0.0.1:8080),
//! `REDIS_URL` (else the in-memory store), `SESSION_KEYS` (comma-separated secrets, the
//! first signs), `WORKERS`.
//!
//! | route | does |
//! |---|---|
//! | `GET /` | counts the visit; a guest sees the login form |
//! | `POST /login` | form field `user`: any name signs in, with a new session id |
//! | `GET /cart`, `POST /cart`, `POST /cart/clear` | the cart, a second session struct |
//! | `GET /sessions` | the user's live sessions, this one marked |
//! | `POST /sessions/end-others` | "sign out everywhere else" |
//! | `POST /logout` | ends the session |

mod html;
mod pages;

use std::env;
use std::io;

use actix_typed_session::store::{MemoryStore, RedisStore};
use actix_typed_session::{Keys, SessionMiddleware};
use actix_web::{web, App, HttpServer};

/// Used only when `SESSION_KEYS` is unset; anyone can forge cookies signed with it.
const DEVELOPMENT_KEY: &str = "development key: set SESSION_KEYS in production";

fn keys() -> Keys {
    match env::var("SESSION_KEYS") {
        Ok(keys) if !keys.trim().is_empty() => Keys::new(keys.split(',').map(str::trim)),
        _ => {
            tracing::warn!("SESSION_KEYS is unset: signing cookies with a fixed development key");
            Keys::new([DEVELOPMENT_KEY])
        }
    }
}

async fn middleware() -> io::Result<SessionMiddleware> {
    // Every option at its default: a browser-session cookie, HttpOnly, SameSite=Lax,
    // Secure on https, 24 hours of idle time in the store.
    Ok(match env::var("REDIS_URL") {
        Ok(url) => {
            let store = RedisStore::connect(&url).await.map_err(io::Error::other)?;
            tracing::info!("session store: Redis at {url}");
            SessionMiddleware::new(store, keys())
        }
        Err(_) => {
            tracing::info!("session store: in memory (set REDIS_URL to use Redis)");
            SessionMiddleware::new(MemoryStore::new(), keys())
        }
    })
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
            .route("/", web::get().to(pages::home))
            .route("/login", web::post().to(pages::login))
            .route("/logout", web::post().to(pages::logout))
            .route("/cart", web::get().to(pages::cart))
            .route("/cart", web::post().to(pages::add_to_cart))
            .route("/cart/clear", web::post().to(pages::clear_cart))
            .route("/sessions", web::get().to(pages::sessions))
            .route("/sessions/end-others", web::post().to(pages::end_others))
    });
    if let Some(workers) = env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    tracing::info!("open http://{bind}");
    server.bind(&bind)?.run().await
}
