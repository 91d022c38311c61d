//! The counter example: the runnable contract in DESIGN.md.
//!
//! ```text
//! cargo run --example counter                        # in-memory store
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example counter
//! REDIS_CLUSTER=redis://127.0.0.1:7000,redis://127.0.0.1:7001 cargo run --example counter
//! REDIS_SENTINEL=redis://127.0.0.1:26379 REDIS_MASTER_NAME=mymaster cargo run --example counter
//! ```
//!
//! Environment: `BIND` (default 127.0.0.1:8080); at most one of `REDIS_URL` (one server),
//! `REDIS_CLUSTER` (comma-separated node URLs) and `REDIS_SENTINEL` (comma-separated
//! sentinel URLs, with `REDIS_MASTER_NAME`, default `mymaster`); `SESSION_KEYS`
//! (comma-separated secrets of at least 32 bytes each, the first signs; unset, a fixed
//! development key), `SESSION_ALLOW_SHORT_KEYS=1` (accept shorter secrets, such as a Node
//! app's), `SESSION_COMPAT` (`koa` or `express`: share
//! sessions with a koa-session + koa-redis or express-session + connect-redis app;
//! `koa-cookie`: with a koa-session app without a store, the whole session in its signed
//! cookie, no Redis, see `cookie_mode.rs`), `SESSION_PREFIX` (store key prefix, after the
//! preset's), `SESSION_LAYOUT=hash` (with `SESSION_COMPAT=koa` or `express`: keep the Node
//! app's cookie but store in the hash layout), `WORKERS`.
//!
//! Moving stores (`docs/migrating-stores.md`): `MIGRATE_FROM_URL` (the old single Redis;
//! the store chosen above is the new one) and `MIGRATE_FROM_COMPAT` (`koa` or `express`:
//! the old Redis holds that Node package's JSON sessions under its keys).
//!
//! `GET /metrics` shows the session metrics (see `actix_typed_session::telemetry`) in
//! Prometheus text format, on the app's own port.

mod cookie_mode;
mod setup;

use std::env;
use std::io;
use std::time::Duration;

use actix_typed_session::store::{
    Layout, MemoryStore, MigratingStore, RedisClusterStore, RedisSentinelStore, RedisStore,
    SessionStore,
};
use actix_typed_session::{
    Compat, Session, SessionData, SessionError, SessionMiddleware, SessionMiddlewareBuilder,
    SessionWriter,
};
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;

/// Longest user name `/login` accepts.
const MAX_USER_LEN: usize = 64;

#[derive(SessionData)]
struct Visit {
    /// Changed on the server by `increment_views`: concurrent requests all count.
    #[session(counter)]
    views: u64,
    /// The index: every session of one user can be listed and ended together.
    #[session(index)]
    user: Option<String>,
}

/// One round trip: the increment, which also refreshes the session's time-to-live. A new
/// visitor gets a session holding 1 when the response is sent.
async fn index(mut visit: SessionWriter<Visit>) -> Result<String, SessionError> {
    let views = visit.increment_views(1).await?;
    Ok(format!("{views} views"))
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

/// Whether `/login` takes the name: 1 to [`MAX_USER_LEN`] bytes.
fn valid_user(user: &str) -> bool {
    !user.is_empty() && user.len() <= MAX_USER_LEN
}

async fn login(mut session: Session<Visit>, query: web::Query<Login>) -> HttpResponse {
    let user = query.into_inner().user;
    if !valid_user(&user) {
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

async fn logout(mut session: Session<Visit>) -> &'static str {
    session.purge();
    "bye"
}

/// The logged-in user's live sessions, one fingerprint a line (never the id itself).
async fn list_sessions(session: Session<Visit>) -> Result<HttpResponse, SessionError> {
    if session.user().is_none() {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let listed = session.sessions().await?;
    let body: String = listed
        .iter()
        .map(|info| format!("{}\n", info.fingerprint()))
        .collect();
    Ok(HttpResponse::Ok().body(body))
}

/// Ends every session of the logged-in user, this one included.
async fn logout_everywhere(mut session: Session<Visit>) -> Result<HttpResponse, SessionError> {
    if session.user().is_none() {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let ended = session.end_all_sessions().await?;
    Ok(HttpResponse::Ok().body(format!("ended {ended}")))
}

/// Every metric recorded so far, for a Prometheus scrape. It takes no session, so a scrape
/// records nothing of its own.
async fn metrics(prometheus: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(prometheus.render())
}

/// Installs the Prometheus recorder that `/metrics` renders, and the upkeep its histograms
/// need between scrapes (the exporter's own HTTP listener, which would do it, is not used:
/// the metrics go out on the app's port).
fn install_metrics() -> io::Result<PrometheusHandle> {
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .map_err(io::Error::other)?;
    let upkeep = prometheus.clone();
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(prometheus)
}

/// `SESSION_COMPAT=koa-cookie`: the cookie store in koa-session's format.
fn cookie_mode() -> bool {
    env::var("SESSION_COMPAT").as_deref() == Ok("koa-cookie")
}

/// The store preset `var` names (`koa` or `express`), if it is set.
fn compat(var: &str) -> io::Result<Option<Compat>> {
    match env::var(var).as_deref() {
        Err(_) | Ok("") => Ok(None),
        Ok("koa") => Ok(Some(Compat::KoaSession)),
        Ok("express") => Ok(Some(Compat::ExpressSession)),
        Ok(other) => Err(io::Error::other(format!(
            "{var} must be koa or express, not {other:?}"
        ))),
    }
}

/// The preset, layout and key prefix the environment asks for.
fn with_env_options(mut builder: SessionMiddlewareBuilder) -> io::Result<SessionMiddlewareBuilder> {
    if cookie_mode() {
        builder = builder.compat(Compat::KoaSessionCookie);
    } else if let Some(compat) = compat("SESSION_COMPAT")? {
        builder = builder.compat(compat);
    }
    match env::var("SESSION_LAYOUT").as_deref() {
        Err(_) | Ok("") => {}
        Ok("hash") => builder = builder.store_layout(Layout::Fields),
        Ok(other) => {
            return Err(io::Error::other(format!(
                "SESSION_LAYOUT must be hash, not {other:?}"
            )))
        }
    }
    Ok(match env::var("SESSION_PREFIX") {
        Ok(prefix) => builder.key_prefix(prefix),
        Err(_) => builder,
    })
}

/// The middleware's builder on `store`, or, with `MIGRATE_FROM_URL`, on a store that moves
/// sessions from that Redis to `store`.
async fn builder_on(store: impl SessionStore) -> io::Result<SessionMiddlewareBuilder> {
    let Ok(url) = env::var("MIGRATE_FROM_URL") else {
        return Ok(SessionMiddleware::builder(store, setup::keys()));
    };
    let old = RedisStore::connect(&url).await.map_err(io::Error::other)?;
    let mut migrating = MigratingStore::builder(old, store);
    if let Some(compat) = compat("MIGRATE_FROM_COMPAT")? {
        migrating = migrating.old_format(compat);
    }
    tracing::info!("moving sessions from the Redis at {url}");
    Ok(SessionMiddleware::builder(migrating.build(), setup::keys()))
}

/// The comma-separated URLs in `var`, if it is set.
fn url_list(var: &str) -> Option<Vec<String>> {
    let list = env::var(var).ok()?;
    Some(
        list.split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

async fn middleware() -> io::Result<SessionMiddleware> {
    let url = env::var("REDIS_URL").ok();
    let cluster = url_list("REDIS_CLUSTER");
    let sentinels = url_list("REDIS_SENTINEL");
    let chosen = [url.is_some(), cluster.is_some(), sentinels.is_some()];
    let stores = chosen.iter().filter(|set| **set).count();
    if stores > 1 {
        return Err(io::Error::other(
            "set only one of REDIS_URL, REDIS_CLUSTER and REDIS_SENTINEL",
        ));
    }
    let builder = if cookie_mode() {
        if stores > 0 {
            return Err(io::Error::other(
                "SESSION_COMPAT=koa-cookie keeps sessions in the cookie: unset the Redis variables",
            ));
        }
        tracing::info!("session store: none, the whole session in koa-session's signed cookie");
        SessionMiddleware::builder_with_cookie_store(setup::keys())
    } else if let Some(url) = url {
        let store = RedisStore::connect(&url).await.map_err(io::Error::other)?;
        tracing::info!("session store: Redis at {url}");
        builder_on(store).await?
    } else if let Some(nodes) = cluster {
        let count = nodes.len();
        let store = RedisClusterStore::connect(nodes)
            .await
            .map_err(io::Error::other)?;
        tracing::info!("session store: Redis Cluster, through {count} node(s)");
        builder_on(store).await?
    } else if let Some(sentinels) = sentinels {
        let name = env::var("REDIS_MASTER_NAME").unwrap_or_else(|_| "mymaster".to_owned());
        let store = RedisSentinelStore::connect(sentinels, &name)
            .await
            .map_err(io::Error::other)?;
        tracing::info!("session store: Redis master {name:?}, through Sentinel");
        builder_on(store).await?
    } else {
        tracing::info!(
            "session store: in memory (set REDIS_URL, REDIS_CLUSTER or REDIS_SENTINEL to use Redis)"
        );
        builder_on(MemoryStore::new()).await?
    };
    // `try_build`: a refused configuration (an empty or short key) ends the example with
    // its message rather than a panic.
    with_env_options(builder)?
        .try_build()
        .map_err(|refused| io::Error::other(refused.to_string()))
}

/// The routes that take a session, with a store on the server.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/peek", web::get().to(peek))
        .route("/login", web::post().to(login))
        .route("/whoami", web::get().to(whoami))
        .route("/logout", web::post().to(logout))
        .route("/sessions", web::get().to(list_sessions))
        .route("/logout-everywhere", web::post().to(logout_everywhere));
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    setup::init_logging();
    let bind = setup::bind_address();
    let sessions = middleware().await?;
    let prometheus = web::Data::new(install_metrics()?);

    let session_routes = if cookie_mode() {
        cookie_mode::routes
    } else {
        routes
    };
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(prometheus.clone())
            .wrap(sessions.clone())
            // First: actix-web tries routes in order, and a health check is the most
            // frequent request of all.
            .route("/health", web::get().to(health))
            .route("/metrics", web::get().to(metrics))
            .configure(session_routes)
    });
    if let Some(workers) = setup::workers() {
        server = server.workers(workers);
    }
    tracing::info!("listening on http://{bind}");
    server.bind(&bind)?.run().await
}
