//! The counter example under concurrent load, with two workers, holds a fixed number of
//! connections to Redis: the one made at connect, plus one for each worker that sends a
//! command (see `store/redis/connections.rs`). It holds no more after Redis restarts:
//! reconnecting replaces a connection instead of adding one; and no request fails for the
//! restart (see `store/redis/retry.rs`). `scripts/soak.sh` watches the same figure for
//! minutes.

use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::RedisServer;
use redis::aio::MultiplexedConnection;

/// Clients at once, each on its own session.
const CLIENTS: usize = 8;
/// The app's worker threads.
const WORKERS: usize = 2;
/// Requests each client sends in one burst.
const REQUESTS: usize = 50;
/// Bursts before and after the restart.
const BURSTS: usize = 4;

/// Connections to `server` other than `conn`, the test's own.
async fn other_clients(conn: &mut MultiplexedConnection) -> usize {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(conn)
        .await
        .expect("CLIENT LIST");
    list.lines().count() - 1
}

/// Every client sends [`REQUESTS`] counting requests; returns how many got a 200.
async fn burst(clients: &[reqwest::Client], url: &str) -> usize {
    let mut set = tokio::task::JoinSet::new();
    for client in clients {
        let (client, url) = (client.clone(), url.to_owned());
        set.spawn(async move {
            let mut ok = 0;
            for _ in 0..REQUESTS {
                let res = client.get(&url).send().await.expect("the app answers");
                ok += usize::from(res.status().is_success());
            }
            ok
        });
    }
    set.join_all().await.into_iter().sum()
}

/// Sends [`BURSTS`] bursts, and checks after each that the app holds at most one
/// connection per worker plus the one made at connect.
async fn assert_bounded_connections_under_load(
    server: &RedisServer,
    clients: &[reqwest::Client],
    url: &str,
) {
    let mut conn = server.connection().await;
    for _ in 0..BURSTS {
        let served = burst(clients, url).await;
        assert_eq!(served, clients.len() * REQUESTS, "requests that got a 200");
        let held = other_clients(&mut conn).await;
        assert!(
            (1..=WORKERS + 1).contains(&held),
            "the app holds {held} connections; at most one per worker and one from connect"
        );
    }
}

#[actix_web::test]
async fn the_app_holds_one_connection_per_worker_under_load_and_after_a_restart() {
    let mut server = RedisServer::start();
    let counter = Counter::start(&[
        ("REDIS_URL", server.url()),
        ("WORKERS", WORKERS.to_string()),
    ]);
    let clients: Vec<reqwest::Client> = (0..CLIENTS)
        .map(|_| {
            reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap()
        })
        .collect();
    assert_bounded_connections_under_load(&server, &clients, &counter.url("/")).await;

    server.restart();
    // No read fails after the restart, not even each worker's first on its dead
    // connection: the load that finds it dropped is made again once it has reconnected.
    // (`GET /` increments, and an increment is never sent twice: each worker's first one
    // after the restart would be an empty 503, as README's Guarantees say.)
    assert_bounded_connections_under_load(&server, &clients, &counter.url("/peek")).await;
}
