//! The `counter` example, driven as a user would: the built binary, started as a process,
//! talked to over HTTP by a client that keeps cookies.

use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::RedisServer;
use reqwest::StatusCode;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: String) -> (StatusCode, String) {
    let res = client.get(url).send().await.expect("GET");
    (res.status(), res.text().await.expect("body"))
}

async fn post(client: &reqwest::Client, url: String) -> (StatusCode, String) {
    let res = client.post(url).send().await.expect("POST");
    (res.status(), res.text().await.expect("body"))
}

/// Every route of the contract.
async fn walk_the_contract(counter: &Counter) {
    walk_the_session_routes(counter).await;
    walk_the_index(counter).await;
    read_the_metrics(counter).await;
}

/// The routes every mode serves, for one client and then another.
async fn walk_the_session_routes(counter: &Counter) {
    let client = browser();
    assert_eq!(
        get(&client, counter.url("/")).await,
        (StatusCode::OK, "1 views".into())
    );
    assert_eq!(
        get(&client, counter.url("/")).await,
        (StatusCode::OK, "2 views".into())
    );
    assert_eq!(
        get(&client, counter.url("/peek")).await,
        (StatusCode::OK, "2 views".into())
    );
    assert_eq!(
        get(&client, counter.url("/health")).await,
        (StatusCode::OK, "ok".into())
    );
    assert_eq!(
        get(&client, counter.url("/whoami")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&client, counter.url("/login?user=ada")).await,
        (StatusCode::OK, "welcome ada".into())
    );
    assert_eq!(
        get(&client, counter.url("/whoami")).await,
        (StatusCode::OK, "ada".into())
    );
    assert_eq!(
        get(&client, counter.url("/peek")).await.1,
        "2 views",
        "the login kept the data"
    );
    assert_eq!(
        post(&client, counter.url("/login?user=")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&client, counter.url("/logout")).await,
        (StatusCode::OK, "bye".into())
    );
    assert_eq!(
        get(&client, counter.url("/whoami")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&client, counter.url("/peek")).await.1, "0 views");

    let other = browser();
    assert_eq!(
        get(&other, counter.url("/")).await.1,
        "1 views",
        "clients do not share sessions"
    );
}

/// `/metrics`, after the walk: the session counters in Prometheus text format.
async fn read_the_metrics(counter: &Counter) {
    let client = browser();
    let (status, text) = get(&client, counter.url("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    assert!(value("typed_session_loads_total{outcome=\"loaded\"}") >= 1.0);
    assert!(value("typed_session_created_total{kind=\"new\"}") >= 4.0);
    assert!(value("typed_session_created_total{kind=\"renewal\"}") >= 1.0);
    assert!(value("typed_session_ended_total{reason=\"purge\"}") >= 1.0);
    let loads = value("typed_session_loads_total{outcome=\"loaded\"}");
    let (_, again) = get(&client, counter.url("/metrics")).await;
    assert!(
        again.contains(&format!(
            "typed_session_loads_total{{outcome=\"loaded\"}} {loads}"
        )),
        "a scrape loads no session:\n{again}"
    );
}

/// `/sessions` and `/logout-everywhere`: one user on two devices, and a bystander.
async fn walk_the_index(counter: &Counter) {
    let (laptop, phone, bystander) = (browser(), browser(), browser());
    assert_eq!(
        get(&laptop, counter.url("/sessions")).await.0,
        StatusCode::UNAUTHORIZED
    );
    for client in [&laptop, &phone] {
        assert_eq!(
            post(client, counter.url("/login?user=grace")).await.1,
            "welcome grace"
        );
    }
    post(&bystander, counter.url("/login?user=alan")).await;

    let (status, listed) = get(&phone, counter.url("/sessions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed.lines().count(),
        2,
        "both of grace's sessions: {listed:?}"
    );
    assert_eq!(
        get(&laptop, counter.url("/sessions"))
            .await
            .1
            .lines()
            .count(),
        2
    );

    assert_eq!(
        post(&laptop, counter.url("/logout-everywhere")).await,
        (StatusCode::OK, "ended 2".into())
    );
    for client in [&laptop, &phone] {
        assert_eq!(
            get(client, counter.url("/whoami")).await.0,
            StatusCode::UNAUTHORIZED,
            "every session of grace ended"
        );
    }
    assert_eq!(
        get(&bystander, counter.url("/whoami")).await,
        (StatusCode::OK, "alan".into()),
        "another user's session is untouched"
    );
}

#[tokio::test]
async fn on_the_memory_store() {
    let counter = Counter::start(&[]);
    walk_the_contract(&counter).await;
    assert!(
        counter.output().contains("in memory"),
        "says which store it uses:\n{}",
        counter.output()
    );
}

#[tokio::test]
async fn on_redis_and_across_an_app_restart() {
    let redis = RedisServer::start();
    let env = [("REDIS_URL", redis.url())];
    let counter = Counter::start(&env);
    walk_the_contract(&counter).await;

    let client = browser();
    assert_eq!(get(&client, counter.url("/")).await.1, "1 views");
    assert_eq!(get(&client, counter.url("/")).await.1, "2 views");
    drop(counter);

    let restarted = Counter::start(&env);
    assert_eq!(
        get(&client, restarted.url("/")).await.1,
        "3 views",
        "the session outlived the app"
    );
    assert!(
        restarted.output().contains("Redis"),
        "{}",
        restarted.output()
    );
}

#[tokio::test]
async fn honours_the_key_prefix() {
    let redis = RedisServer::start();
    let counter = Counter::start(&[
        ("REDIS_URL", redis.url()),
        ("SESSION_PREFIX", "myapp:sess:".into()),
    ]);
    assert_eq!(get(&browser(), counter.url("/")).await.1, "1 views");
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("myapp:sess:"), "{keys:?}");
}

#[tokio::test]
async fn session_compat_selects_the_node_formats() {
    let redis = RedisServer::start();
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    for (compat, cookie, key_shape) in [
        ("koa", "koa.sess=", 36),
        ("express", "connect.sid=s%3A", "sess:".len() + 32),
    ] {
        let counter = Counter::start(&[
            ("REDIS_URL", redis.url()),
            ("SESSION_COMPAT", compat.into()),
        ]);
        walk_the_contract(&counter).await;
        let res = reqwest::get(counter.url("/")).await.expect("GET");
        let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.starts_with(cookie), "{compat}: {set_cookie}");
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        // The per-user index of the contract's logins is a key of its own.
        keys.retain(|key| !key.contains("index:"));
        assert!(
            !keys.is_empty() && keys.iter().all(|k| k.len() == key_shape),
            "{compat}: {keys:?}"
        );
        let document: String = redis::cmd("GET")
            .arg(&keys[0])
            .query_async(&mut conn)
            .await
            .expect("a JSON string per session");
        assert!(document.starts_with('{'), "{document}");
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut conn)
            .await
            .expect("FLUSHALL");
    }
    let bad = Counter::start_failing(&[("SESSION_COMPAT", "rails".into())]);
    assert!(bad.contains("SESSION_COMPAT"), "{bad}");
}

#[tokio::test]
async fn session_compat_koa_cookie_keeps_the_whole_session_in_the_cookie() {
    let counter = Counter::start(&[("SESSION_COMPAT", "koa-cookie".into())]);
    walk_the_session_routes(&counter).await;
    let res = reqwest::get(counter.url("/")).await.expect("GET");
    let set_cookies: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ASCII"))
        .collect();
    // base64 of `{"views":1,...`, then its keygrip signature.
    assert!(
        set_cookies[0].starts_with("koa.sess=eyJ2aWV3cyI6MSwi"),
        "{set_cookies:?}"
    );
    assert!(
        set_cookies[1].starts_with("koa.sess.sig="),
        "{set_cookies:?}"
    );
    // What needs a store on the server is not served.
    let listing = reqwest::get(counter.url("/sessions")).await.expect("GET");
    assert_eq!(listing.status(), StatusCode::NOT_FOUND);

    let redis = RedisServer::start();
    let bad = Counter::start_failing(&[
        ("SESSION_COMPAT", "koa-cookie".into()),
        ("REDIS_URL", redis.url()),
    ]);
    assert!(bad.contains("unset the Redis variables"), "{bad}");
}

#[test]
fn keys_that_cannot_sign_safely_stop_the_example_at_start_up() {
    // A trailing comma once put an empty HMAC key in the ring, with which anyone signs.
    let empty = Counter::start_failing(&[("SESSION_KEYS", format!("{},", "k".repeat(32)))]);
    assert!(empty.contains("session key #1 is empty"), "{empty}");
    let short = Counter::start_failing(&[("SESSION_KEYS", "keyboard cat".into())]);
    assert!(short.contains("fewer than 32"), "{short}");
    assert!(short.contains("allow_short_keys"), "{short}");
    // A Node app's short secret, accepted by name.
    let counter = Counter::start(&[
        ("SESSION_KEYS", "keyboard cat".into()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".into()),
    ]);
    assert!(counter.output().contains("SESSION_ALLOW_SHORT_KEYS"));
    let empty = Counter::start_failing(&[
        ("SESSION_KEYS", "keyboard cat,".into()),
        ("SESSION_ALLOW_SHORT_KEYS", "1".into()),
    ]);
    assert!(empty.contains("is empty"), "{empty}");
}
