//! What Redis holds under one key, read with a plain connection: for tests that check a
//! key was left alone, refreshed or deleted.

use redis::aio::MultiplexedConnection;

/// What `key` holds, in a form to compare before and after (`None`: no key).
pub async fn dump(conn: &mut MultiplexedConnection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query_async(conn).await.unwrap()
}

/// The time-to-live of `key` in milliseconds; -1 when it has none, -2 when it is gone.
pub async fn pttl(conn: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

/// Whether Redis holds anything under `key`.
pub async fn exists(conn: &mut MultiplexedConnection, key: &str) -> bool {
    let found: i64 = redis::cmd("EXISTS")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap();
    found == 1
}
