//! Increments of a `#[session(counter)]` field against a real Redis, in both layouts: 64
//! concurrent increments of one session's counter, from 8 apps each with its own Redis
//! connection, add exactly 64, where the same requests as a read-modify-write
//! (`set_views(views() + 1)`) lose some; an increment refreshes the time-to-live and
//! re-sends a rolling cookie; a new visitor, or a cookie whose session was logged out, gets
//! a new session holding the increment, never the old one back; a refused increment of a
//! new visitor creates nothing.

use std::fmt::Debug;
use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::{
    Keys, Session, SessionData, SessionError, SessionMiddleware, SessionMiddlewareBuilder,
    SessionWriter, StoreError,
};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::http::{body, set_cookies, Jar};
use actix_typed_session_tests::layout::Layout;
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error};
use futures_util::future::join_all;

const TASKS: usize = 8;
const PER_TASK: usize = 8;

/// The middleware in `layout` on its own store, so its own connection to Redis.
async fn sessions(server: &RedisServer, layout: Layout) -> SessionMiddlewareBuilder {
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    layout.configure(SessionMiddleware::builder(
        store,
        Keys::new(["increments test key, long enough to sign"]).allow_short_keys(),
    ))
}

/// The counter app on its own store.
async fn app(
    server: &RedisServer,
    layout: Layout,
    max_age: Option<Duration>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody<Error: Debug>>, Error = Error>
{
    let mut builder = sessions(server, layout).await;
    if let Some(max_age) = max_age {
        builder = builder.max_age(max_age);
    }
    test::init_service(
        App::new()
            .wrap(builder.build())
            .configure(counter_app::routes),
    )
    .await
}

/// Sends `path` `PER_TASK` times from each of `TASKS` apps at once, all with the cookies of
/// `jar`; returns the stored `views` afterwards, and how many requests were answered 200
/// (the others were refused with a 503: a JSON write that kept finding the document
/// changed under it gives up, saving nothing).
async fn hammer(server: &RedisServer, layout: Layout, jar: &Jar, path: &str) -> (u64, u64) {
    let mut apps = Vec::new();
    for _ in 0..TASKS {
        apps.push(app(server, layout, None).await);
    }
    let answered = join_all(apps.iter().map(|app| async move {
        let mut ok = 0;
        for _ in 0..PER_TASK {
            let res = test::call_service(app, jar.request("GET", path).to_request()).await;
            match res.status() {
                StatusCode::OK => ok += 1,
                StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("{layout:?} {path}: {other}"),
            }
        }
        ok
    }))
    .await;
    let mut conn = server.connection().await;
    let views = layout
        .stored_views(&mut conn, &layout.key_of(jar))
        .await
        .expect("stored views");
    (views, answered.into_iter().sum())
}

#[actix_web::test]
async fn concurrent_increments_all_count_where_a_read_modify_write_loses_some() {
    for layout in Layout::ALL {
        let server = RedisServer::start();
        let first = app(&server, layout, None).await;
        let mut jar = Jar::default();
        let res = test::call_service(&first, jar.request("GET", "/").to_request()).await;
        jar.absorb(&res);
        assert_eq!(body(res).await, "1 views");

        let total = (TASKS * PER_TASK) as u64;
        let (incremented, answered) = hammer(&server, layout, &jar, "/").await;
        assert_eq!(answered, total, "{layout:?}: every increment answered 200");
        assert_eq!(
            incremented,
            1 + total,
            "{layout:?}: {total} concurrent increments over {TASKS} connections"
        );

        let (modified, acknowledged) = hammer(&server, layout, &jar, "/modify").await;
        let added = modified - incremented;
        let lost = acknowledged - added;
        eprintln!(
            "{layout:?}: {total} concurrent increments added {total}; {total} concurrent read-modify-writes ({acknowledged} acknowledged) added {added}, losing {lost}"
        );
        assert!(
            lost > 0,
            "{layout:?}: the read-modify-write lost nothing this time ({modified})"
        );
    }
}

#[actix_web::test]
async fn an_increment_refreshes_the_ttl_and_resends_a_rolling_cookie() {
    for layout in Layout::ALL {
        let server = RedisServer::start();
        let app = app(&server, layout, Some(Duration::from_secs(3600))).await;
        let mut jar = Jar::default();
        let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
        jar.absorb(&res);
        let key = layout.key_of(&jar);
        let mut conn = server.connection().await;
        let ttl = |conn: &mut redis::aio::MultiplexedConnection| {
            let key = key.clone();
            let mut conn = conn.clone();
            async move {
                let ttl: i64 = redis::cmd("TTL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .expect("TTL");
                ttl
            }
        };
        let configured = ttl(&mut conn).await;
        let _: () = redis::cmd("EXPIRE")
            .arg(&key)
            .arg(100)
            .query_async(&mut conn)
            .await
            .expect("EXPIRE");
        let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
        let cookies = set_cookies(&res);
        assert_eq!(body(res).await, "2 views", "{layout:?}");
        assert!(
            cookies.iter().any(|c| c.name() == layout.cookie()),
            "{layout:?}: the rolling cookie is sent again: {cookies:?}"
        );
        let refreshed = ttl(&mut conn).await;
        assert!(
            refreshed > configured - 10,
            "{layout:?}: the TTL was refreshed: {refreshed} s, {configured} s when created"
        );
    }
}

#[actix_web::test]
async fn an_increment_after_a_logout_starts_a_new_session_and_never_revives_the_old() {
    for layout in Layout::ALL {
        let server = RedisServer::start();
        let app = app(&server, layout, None).await;
        let mut jar = Jar::default();
        for _ in 0..3 {
            let res = test::call_service(&app, jar.request("GET", "/").to_request()).await;
            jar.absorb(&res);
        }
        let old = layout.key_of(&jar);
        let stale = jar.clone();
        let res = test::call_service(&app, jar.request("POST", "/logout").to_request()).await;
        assert!(res.status().is_success());
        // A request with the cookie from before the logout, as a late tab would send it.
        let res = test::call_service(&app, stale.request("GET", "/").to_request()).await;
        let mut after = stale.clone();
        after.absorb(&res);
        assert_eq!(body(res).await, "1 views", "{layout:?}: a new session");
        let mut conn = server.connection().await;
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&old)
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert_eq!(exists, 0, "{layout:?}: the logged-out session stays gone");
        assert_ne!(layout.key_of(&after), old, "{layout:?}: under a new id");
        assert_eq!(
            layout.stored_views(&mut conn, &layout.key_of(&after)).await,
            Some(1)
        );
    }
}

#[actix_web::test]
async fn an_increment_before_a_renewal_moves_with_the_session() {
    async fn bump_and_renew(
        mut session: Session<counter_app::Visit>,
    ) -> Result<String, SessionError> {
        let views = session.increment_views(1).await?;
        session.renew();
        Ok(format!("{views} views"))
    }
    for layout in Layout::ALL {
        let server = RedisServer::start();
        let app = test::init_service(
            App::new()
                .wrap(sessions(&server, layout).await.build())
                .route("/bump-and-renew", web::get().to(bump_and_renew))
                .configure(counter_app::routes),
        )
        .await;
        let mut jar = Jar::default();
        for path in ["/", "/", "/bump-and-renew"] {
            let res = test::call_service(&app, jar.request("GET", path).to_request()).await;
            assert!(res.status().is_success(), "{layout:?} {path}");
            jar.absorb(&res);
        }
        let res = test::call_service(&app, jar.request("GET", "/peek").to_request()).await;
        assert_eq!(
            body(res).await,
            "3 views",
            "{layout:?}: the new id holds the increment"
        );
    }
}

/// An increment whose result leaves the field's range changes nothing, in memory too: a new
/// visitor whose handler takes the error gets no cookie, and no session is stored.
#[actix_web::test]
async fn a_refused_increment_of_a_new_visitor_creates_no_session() {
    #[derive(SessionData)]
    struct Stock {
        #[session(counter)]
        small: u8,
    }
    fn answer(result: Result<u8, SessionError>) -> String {
        match result {
            Ok(value) => value.to_string(),
            Err(SessionError::Store(StoreError::OutOfRange(_))) => "refused".to_owned(),
            Err(other) => format!("{other}"),
        }
    }
    async fn take_writing(mut stock: SessionWriter<Stock>) -> String {
        answer(stock.increment_small(-1).await)
    }
    async fn take_loaded(mut stock: Session<Stock>) -> String {
        answer(stock.increment_small(-1).await)
    }
    for layout in Layout::ALL {
        let server = RedisServer::start();
        let app = test::init_service(
            App::new()
                .wrap(sessions(&server, layout).await.build())
                .route("/writer", web::get().to(take_writing))
                .route("/session", web::get().to(take_loaded)),
        )
        .await;
        for path in ["/writer", "/session"] {
            let res =
                test::call_service(&app, Jar::default().request("GET", path).to_request()).await;
            let cookies = set_cookies(&res);
            assert_eq!(body(res).await, "refused", "{layout:?} {path}");
            assert!(cookies.is_empty(), "{layout:?} {path}: {cookies:?}");
        }
        let mut conn = server.connection().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        assert!(
            keys.is_empty(),
            "{layout:?}: a session was stored: {keys:?}"
        );
    }
}
