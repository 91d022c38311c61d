//! Every store passes the same conformance suite.

use actix_typed_session::store::{MemoryStore, MigratingStore, RedisStore};
use actix_typed_session::{Compat, Keys, SessionMiddleware};
use actix_typed_session_tests::admin;
use actix_typed_session_tests::conformance::{self, Cx};
use actix_typed_session_tests::request_conformance::{self, Exceptions};
use actix_typed_session_tests::RedisServer;

const KEY: &str = "a request conformance key, long enough";

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run(&MemoryStore::new()).await;
}

#[tokio::test]
async fn redis_store_conforms() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    conformance::run(&store).await;
}

#[tokio::test]
async fn redis_store_conforms_over_a_unix_socket() {
    let server = RedisServer::start();
    let url = format!("redis+unix://{}", server.socket_path().display());
    let store = RedisStore::connect(&url).await.expect("connect");
    conformance::run(&store).await;
}

#[tokio::test]
async fn the_suite_accepts_a_trait_object() {
    let store: Box<dyn actix_typed_session::store::SessionStore> = Box::new(MemoryStore::new());
    conformance::run(store.as_ref()).await;
}

#[tokio::test]
async fn memory_store_conforms_in_the_json_layout() {
    conformance::run_in(&MemoryStore::new(), &Cx::json()).await;
}

#[tokio::test]
async fn redis_store_conforms_in_the_json_layout() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    conformance::run_in(&store, &Cx::json()).await;
}

/// Sessions start in the new store; `tests/migrating_store.rs` checks the ones that move
/// from the old. The JSON layout is refused (see `MigratingStore`), so it is not run.
#[tokio::test]
async fn migrating_store_conforms() {
    conformance::run(&MigratingStore::new(MemoryStore::new(), MemoryStore::new())).await;
    let moving_on_read = MigratingStore::builder(MemoryStore::new(), MemoryStore::new())
        .move_on_read(true)
        .build();
    conformance::run(&moving_on_read).await;
}

/// Reading the old store in koa-session's layout under koa-redis' keys changes nothing for
/// the sessions the new store holds.
#[tokio::test]
async fn migrating_store_from_koa_documents_conforms() {
    let from_koa = MigratingStore::builder(MemoryStore::new(), MemoryStore::new())
        .old_format(Compat::KoaSession)
        .build();
    conformance::run(&from_koa).await;
}

#[tokio::test]
async fn migrating_store_conforms_from_one_redis_to_another() {
    let (old, new) = (RedisServer::start(), RedisServer::start());
    let old = RedisStore::connect(&old.url()).await.expect("connect");
    let new = RedisStore::connect(&new.url()).await.expect("connect");
    conformance::run(&MigratingStore::new(old, new)).await;
}

#[actix_web::test]
async fn the_admin_handle_works_on_the_memory_store() {
    admin::run(MemoryStore::new()).await;
}

#[actix_web::test]
async fn the_admin_handle_works_on_the_redis_store() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    admin::run(store).await;
}

#[actix_web::test]
async fn the_memory_store_keeps_every_promise_a_request_sees() {
    let builder = || SessionMiddleware::builder(MemoryStore::new(), Keys::new([KEY]));
    request_conformance::run(builder, Exceptions::default()).await;
}

#[actix_web::test]
async fn the_redis_store_keeps_every_promise_a_request_sees() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let builder = || SessionMiddleware::builder(store.clone(), Keys::new([KEY]));
    request_conformance::run(builder, Exceptions::default()).await;
}

/// The cookie store has no `SessionStore` to run the store contract on (its placeholder
/// refuses every call), so it takes part through requests, with its exceptions declared:
/// a copy of its cookie outlives a logout or a renewal until it expires, and increments
/// and the per-user index are refused.
#[actix_web::test]
async fn the_cookie_store_keeps_every_promise_a_request_sees_but_those_it_declares() {
    let builder = || SessionMiddleware::builder_with_cookie_store(Keys::new([KEY]));
    request_conformance::run(builder, Exceptions::cookie_store()).await;
}
