//! The demo: a small web app with HTML pages on actix-typed-session, for people to try
//! the library in a browser (and for the browser test to drive).
//!
//! ```text
//! cargo run --example demo                                   # in-memory store
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example demo  # Redis
//! ```
//!
//! Then open <http://127.0.0.1:8080>: the session cookie is `Secure`, which browsers keep
//! from `http://127.0.0.1` and `http://localhost` (as from https). Environment: `BIND`
//! (default 127.0.0.1:8080), `REDIS_URL` (else the in-memory store), `SESSION_KEYS`
//! (comma-separated secrets of at least 32 bytes, the first signs), `WORKERS`.
//!
//! | route | does |
//! |---|---|
//! | `GET /` | counts the visit; a guest sees the login form |
//! | `POST /login` | form field `user`: any name signs in, with a new session id |
//! | `GET /cart`, `POST /cart`, `POST /cart/clear` | the cart, a second session struct |
//! | `GET /sessions` | the user's live sessions, this one marked |
//! | `POST /sessions/end-others` | "sign out everywhere else" |
//! | `POST /logout` | ends the session |
//!
//! Every lifecycle event (a session created, renewed, logged out, signed out elsewhere,
//! and with Redis expired) goes to the log as an audit line, target `audit`, by
//! fingerprint and user.
//!
//! The forms carry no CSRF token: the session cookie is `SameSite=Lax` (the default), so a
//! browser does not send it with a form that another site posts here. An app that also
//! serves browsers without SameSite support adds a token.

mod html;
mod pages;
#[path = "../setup.rs"]
mod setup;

use std::env;
use std::io;

use actix_typed_session::store::{
    ExpiryListener, ExpiryNotifications, MemoryStore, RedisStore, SessionStore,
};
use actix_typed_session::{Keys, SessionEvent, SessionMiddleware};
use actix_web::{web, App, HttpServer};

use setup::keys;

/// The audit log: one line per lifecycle event.
fn audit(event: &SessionEvent) {
    let user = event.index::<pages::Account>();
    tracing::info!(target: "audit", event = %event.kind(), session = event.fingerprint(),
        previous = event.previous_fingerprint(), user = user.as_deref());
}

/// Every option at its default but the audit hook: a browser-session cookie, HttpOnly,
/// SameSite=Lax, Secure, 24 hours of idle time in the store. Browsers keep a Secure
/// cookie from http://127.0.0.1 and http://localhost, so the demo works over plain http
/// there.
fn sessions(store: impl SessionStore, keys: Keys) -> SessionMiddleware {
    SessionMiddleware::builder(store, keys)
        .on_event(audit)
        .build()
}

/// The middleware, and with Redis the listener that reports expired sessions (kept
/// running while it is held).
async fn middleware() -> io::Result<(SessionMiddleware, Option<ExpiryListener>)> {
    Ok(match env::var("REDIS_URL") {
        Ok(url) => {
            let store = RedisStore::connect(&url).await.map_err(io::Error::other)?;
            tracing::info!("session store: Redis at {url}");
            let sessions = sessions(store.clone(), keys());
            let listener = store
                .expiry_events(sessions.events(), ExpiryNotifications::Configure)
                .await
                .inspect_err(|error| tracing::warn!(%error, "expired sessions go unreported"))
                .ok();
            (sessions, listener)
        }
        Err(_) => {
            tracing::info!("session store: in memory (set REDIS_URL to use Redis)");
            (sessions(MemoryStore::new(), keys()), None)
        }
    })
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    setup::init_logging();
    let bind = setup::bind_address();
    let (sessions, _expiry_listener) = middleware().await?;

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
    if let Some(workers) = setup::workers() {
        server = server.workers(workers);
    }
    tracing::info!("open http://{bind}");
    server.bind(&bind)?.run().await
}
