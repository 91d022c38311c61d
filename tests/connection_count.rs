//! The counter example under concurrent load, with two workers, holds one connection to
//! Redis, and still one after Redis restarts: reconnecting replaces the connection
//! instead of adding to it. `scripts/soak.sh` watches the same figure for minutes.

use std::time::Duration;

use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::RedisServer;
use redis::aio::MultiplexedConnection;

/// Clients at once, each on its own session.
const CLIENTS: usize = 8;
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

/// Sends [`BURSTS`] bursts, and counts the app's connections to `server` after each.
async fn assert_one_connection_under_load(
    server: &RedisServer,
    clients: &[reqwest::Client],
    url: &str,
) {
    let mut conn = server.connection().await;
    for _ in 0..BURSTS {
        assert_eq!(burst(clients, url).await, clients.len() * REQUESTS);
        assert_eq!(
            other_clients(&mut conn).await,
            1,
            "the app's one connection"
        );
    }
}

#[actix_web::test]
async fn the_app_holds_one_connection_to_redis_under_load_and_after_a_restart() {
    let mut server = RedisServer::start();
    let counter = Counter::start(&[("REDIS_URL", server.url()), ("WORKERS", "2".to_owned())]);
    let clients: Vec<reqwest::Client> = (0..CLIENTS)
        .map(|_| {
            reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap()
        })
        .collect();
    let url = counter.url("/");
    assert_one_connection_under_load(&server, &clients, &url).await;

    server.restart();
    // The first requests after the restart may fail while the app reconnects.
    for _ in 0..50 {
        if burst(&clients[..1], &url).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_one_connection_under_load(&server, &clients, &url).await;
}
