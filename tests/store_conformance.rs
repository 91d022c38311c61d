//! Every store passes the same conformance suite.

use actix_typed_session::store::{MemoryStore, RedisStore};
use actix_typed_session_tests::admin;
use actix_typed_session_tests::conformance::{self, Cx};
use actix_typed_session_tests::RedisServer;

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
