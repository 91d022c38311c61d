//! A rolling deploy, against a real Redis: two versions of a session struct, served by two
//! apps, take turns on one session. V2 changed the type of `a`, dropped `b` and added `c`.
//! Neither version destroys the fields of the other; a value that no longer decodes takes
//! its default (logged as a warning) and the request still succeeds.

use std::collections::HashMap;
use std::fmt::Debug;

use actix_http::Request;
use actix_typed_session::store::RedisStore;
use actix_typed_session::{Keys, Session, SessionData, SessionMiddleware};
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App, Error};

mod v1 {
    use super::*;

    #[derive(SessionData)]
    pub struct State {
        a: u64,
        b: String,
    }

    pub async fn show(session: Session<State>) -> String {
        format!("a={} b={}", session.a(), session.b())
    }

    pub async fn write(mut session: Session<State>) -> &'static str {
        session.update_a(|a| *a += 1);
        session.set_b("from v1".to_owned());
        "ok"
    }
}

mod v2 {
    use super::*;

    #[derive(SessionData)]
    pub struct State {
        a: String,
        c: Vec<u32>,
    }

    pub async fn show(session: Session<State>) -> String {
        format!("a={:?} c={:?}", session.a(), session.c())
    }

    pub async fn write_c(mut session: Session<State>) -> &'static str {
        session.update_c(|c| c.push(7));
        "ok"
    }

    pub async fn write_a(mut session: Session<State>) -> &'static str {
        session.set_a("from v2".to_owned());
        "ok"
    }
}

/// Sends one request with the jar's cookies, asserts it succeeded, and returns its body.
async fn send<S, B>(app: &S, jar: &mut Jar, path: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let res = test::call_service(app, jar.request("GET", path).to_request()).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
    jar.absorb(&res);
    body(res).await
}

/// The session's hash as Redis holds it, without the store's own `__` metadata.
async fn stored(server: &RedisServer, jar: &Jar) -> HashMap<String, String> {
    let id = jar.get("session").expect("a session cookie").value();
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a plain connection");
    let fields: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("session:{id}"))
        .query_async(&mut conn)
        .await
        .expect("HGETALL");
    fields
        .into_iter()
        .filter(|(name, _)| !name.starts_with("__"))
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[actix_web::test]
async fn two_versions_of_a_struct_share_a_session_without_destroying_each_others_fields() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let keys = Keys::new(["one secret for both versions of the app"]);
    let old = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(store.clone(), keys.clone()))
            .route("/show", web::get().to(v1::show))
            .route("/write", web::get().to(v1::write)),
    )
    .await;
    let new = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(store, keys))
            .route("/show", web::get().to(v2::show))
            .route("/write-c", web::get().to(v2::write_c))
            .route("/write-a", web::get().to(v2::write_a)),
    )
    .await;
    let mut jar = Jar::default();

    assert_eq!(send(&old, &mut jar, "/write").await, "ok");
    assert_eq!(
        stored(&server, &jar).await,
        fields(&[("a", "1"), ("b", r#""from v1""#)])
    );

    // V2 cannot read V1's `a` (a number, where it expects a string): it gets the default,
    // and the request succeeds. Writing `c` leaves `a` and `b` as V1 wrote them.
    assert_eq!(send(&new, &mut jar, "/show").await, r#"a="" c=[]"#);
    assert_eq!(send(&new, &mut jar, "/write-c").await, "ok");
    assert_eq!(
        stored(&server, &jar).await,
        fields(&[("a", "1"), ("b", r#""from v1""#), ("c", "[7]")])
    );

    // V1 still has its data, and its write leaves V2's `c` alone.
    assert_eq!(send(&old, &mut jar, "/show").await, "a=1 b=from v1");
    assert_eq!(send(&old, &mut jar, "/write").await, "ok");
    assert_eq!(
        stored(&server, &jar).await,
        fields(&[("a", "2"), ("b", r#""from v1""#), ("c", "[7]")])
    );
    assert_eq!(send(&new, &mut jar, "/write-c").await, "ok");
    assert_eq!(send(&new, &mut jar, "/show").await, r#"a="" c=[7, 7]"#);

    // When V2 writes `a` in its new type, V1 falls back to its default for `a` only, and
    // its next write puts its own type back; `b` and `c` survive all of it.
    assert_eq!(send(&new, &mut jar, "/write-a").await, "ok");
    assert_eq!(send(&old, &mut jar, "/show").await, "a=0 b=from v1");
    assert_eq!(send(&old, &mut jar, "/write").await, "ok");
    assert_eq!(
        stored(&server, &jar).await,
        fields(&[("a", "1"), ("b", r#""from v1""#), ("c", "[7,7]")])
    );
    assert_eq!(send(&new, &mut jar, "/show").await, r#"a="" c=[7, 7]"#);
}
