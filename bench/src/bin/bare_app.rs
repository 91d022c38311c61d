//! The ceiling: the bench routes on actix-web without any session middleware. Handlers
//! answer what a fresh session would, so only the session work is missing.
//!
//! Environment: `BIND`, `WORKERS` (default 1).

use actix_typed_session_bench::{bind, workers};
use actix_web::{web, App, HttpServer};

async fn views() -> &'static str {
    "1 views"
}

async fn health() -> &'static str {
    "ok"
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| {
        App::new()
            .route("/", web::get().to(views))
            .route("/peek", web::get().to(views))
            .route("/health", web::get().to(health))
            .route("/big/bump", web::get().to(views))
    })
    .workers(workers())
    .bind(bind())?
    .run()
    .await
}
