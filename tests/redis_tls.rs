//! `rediss://`: the store over TLS (the `tls` feature).

use std::time::Duration;

use actix_typed_session::store::RedisStore;
use actix_typed_session::StoreError;
use actix_typed_session_tests::{conformance, RedisServer};

#[tokio::test]
async fn the_store_conforms_over_tls() {
    let server = RedisServer::start_tls();
    let port = server.tls_port().expect("a TLS port");
    // The certificate is self-signed, so the test has to opt out of verifying it.
    let url = format!("rediss://127.0.0.1:{port}/#insecure");
    let store = RedisStore::connect(&url).await.expect("connect over TLS");
    conformance::run(&store).await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let server = RedisServer::start_tls();
    let port = server.tls_port().expect("a TLS port");
    let url = format!("rediss://127.0.0.1:{port}");
    let connect = RedisStore::connect(&url);
    let result = tokio::time::timeout(Duration::from_secs(15), connect)
        .await
        .expect("connect hung");
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}
