//! Nothing a session holds, and no session id, reaches the library's logs or the `Debug`
//! output of the store's types. A whole flow runs against a real Redis in both layouts,
//! with every log line of the library captured at TRACE: a login that stores an e-mail
//! (the indexed field) and a token, a write, a renewal, a field that no longer decodes
//! (planted straight into Redis, with a recognisable string where a number belongs), the
//! load that warns about it, and a logout. A loaded `Record` and a `ChangeSet` holding the
//! secrets are formatted with `{:?}` too, and so is the index secret, which must show in
//! neither (the JSON layout's document is crate-private: its own unit test checks its
//! `Debug`). The decode warning must still name the field.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use actix_http::Request;
use actix_typed_session::store::{
    ChangeSet, IndexKey, IndexMoves, JsonWrite, Layout as StoreLayout, LoadOptions, RedisStore,
    SessionKey, SessionStore, WriteMode,
};
use actix_typed_session::{IndexSecret, Keys, Session, SessionData, SessionId, SessionMiddleware};
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::layout::Layout;
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error};
use redis::aio::MultiplexedConnection;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The indexed field's value: an e-mail address, personal data.
const EMAIL: &str = "alice-7f3a@example.com";
/// A credential the app keeps in the session.
const TOKEN: &str = "tok-9c1e-d04b-secret";
/// The secret behind the index key names.
const INDEX_SECRET: &str = "index-secret-5e8a-d17c-long-enough-for-32";
/// What is planted where the struct has a number, so that the field no longer decodes.
const PLANTED: &str = "planted-4b2d-secret";

#[derive(SessionData)]
struct Account {
    #[session(index)]
    email: Option<String>,
    token: String,
    visits: u64,
}

async fn login(mut session: Session<Account>) -> &'static str {
    session.set_email(Some(EMAIL.to_owned()));
    session.set_token(TOKEN.to_owned());
    session.renew();
    "welcome"
}

async fn write(mut session: Session<Account>) -> String {
    session.update_visits(|visits| *visits += 1);
    session.visits().to_string()
}

async fn renew(session: Session<Account>) -> &'static str {
    session.renew();
    "renewed"
}

async fn show(session: Session<Account>) -> String {
    format!(
        "{} {}",
        session.email().as_deref().unwrap_or("nobody"),
        session.visits()
    )
}

async fn logout(mut session: Session<Account>) -> &'static str {
    session.purge();
    "bye"
}

/// Where the captured log lines go; every test of this binary shares it (one subscriber
/// per process), so the flow runs as one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Captures every event of the library, at every level, from here on.
fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(move || writer.clone())
        .with_filter(Targets::new().with_target("actix_typed_session", LevelFilter::TRACE));
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .expect("the only subscriber of this test binary");
    captured
}

/// `GET path`: asserts a 200 and returns the body.
async fn get<S, B>(app: &S, jar: &mut Jar, path: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let res = test::call_service(app, jar.request("GET", path).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    jar.absorb(&res);
    body(res).await
}

/// Replaces the stored `visits` with a string, as a deploy that changed its type would
/// leave it.
async fn plant(layout: Layout, conn: &mut MultiplexedConnection, key: &str) {
    let planted = serde_json::to_string(PLANTED).expect("a JSON string");
    match layout {
        Layout::Hash => {
            let _: i64 = redis::cmd("HSET")
                .arg(key)
                .arg("visits")
                .arg(planted)
                .query_async(conn)
                .await
                .expect("HSET");
        }
        Layout::Json => {
            let stored: String = redis::cmd("GET")
                .arg(key)
                .query_async(conn)
                .await
                .expect("GET");
            let mut document: serde_json::Value =
                serde_json::from_str(&stored).expect("a JSON document");
            document["visits"] = serde_json::Value::String(PLANTED.to_owned());
            let _: () = redis::cmd("SET")
                .arg(key)
                .arg(document.to_string())
                .arg("KEEPTTL")
                .query_async(conn)
                .await
                .expect("SET");
        }
    }
}

/// The store's view of the layout, as the preset `layout` configures it.
fn store_layout(layout: Layout) -> StoreLayout {
    match layout {
        Layout::Hash => StoreLayout::Fields,
        Layout::Json => StoreLayout::Json(JsonWrite::SetEx),
    }
}

/// Runs the flow in `layout`; returns the `Debug` output it made and the session ids
/// (every cookie value the app handed out, and the id part of every session key).
async fn flow(server: &RedisServer, layout: Layout) -> (String, BTreeSet<String>) {
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let builder = SessionMiddleware::builder(
        store.clone(),
        Keys::new(["no secrets test key, long enough to sign"]),
    )
    .index_secret(INDEX_SECRET);
    let app = test::init_service(
        App::new()
            .wrap(layout.configure(builder).build())
            .route("/login", web::get().to(login))
            .route("/write", web::get().to(write))
            .route("/renew", web::get().to(renew))
            .route("/show", web::get().to(show))
            .route("/logout", web::get().to(logout)),
    )
    .await;
    let mut conn = server.connection().await;
    let mut jar = Jar::default();
    let mut ids = BTreeSet::new();
    let note = |jar: &Jar, ids: &mut BTreeSet<String>| {
        for cookie in &jar.0 {
            ids.insert(cookie.value().to_owned());
        }
    };

    get(&app, &mut jar, "/login").await;
    note(&jar, &mut ids);
    assert_eq!(get(&app, &mut jar, "/write").await, "1");
    get(&app, &mut jar, "/renew").await;
    note(&jar, &mut ids);
    let key = layout.key_of(&jar);
    plant(layout, &mut conn, &key).await;
    assert_eq!(
        get(&app, &mut jar, "/show").await,
        format!("{EMAIL} 0"),
        "{layout:?}: the planted field takes its default"
    );

    // The session as a store loads it, under a key this test can name (a Node preset's
    // ids have a shape `SessionId::parse` does not take).
    let copy = SessionKey::new(layout.prefix(), &SessionId::generate().expect("randomness"));
    ids.insert(copy.id().to_owned());
    let _: bool = redis::cmd("COPY")
        .arg(&key)
        .arg(copy.as_str())
        .query_async(&mut conn)
        .await
        .expect("COPY");
    let options = LoadOptions {
        layout: store_layout(layout),
        ..LoadOptions::default()
    };
    let record = store
        .load(&copy, options)
        .await
        .expect("load")
        .expect("the copied session");
    let encoded = |value: &str| serde_json::to_vec(value).expect("a JSON string");
    let changes = ChangeSet {
        mode: WriteMode::Update { created_at: None },
        set: vec![
            ("email".to_owned(), encoded(EMAIL)),
            ("token".to_owned(), encoded(TOKEN)),
            ("visits".to_owned(), encoded(PLANTED)),
        ],
        remove: vec!["visits".to_owned()],
        ttl: std::time::Duration::from_secs(60),
        ttl_current: false,
        layout: store_layout(layout),
        base: record.snapshot.clone(),
        index: IndexMoves {
            join: vec![IndexKey::new(
                &IndexSecret::new(INDEX_SECRET),
                layout.prefix(),
                "email",
                &encoded(EMAIL),
            )],
            ..IndexMoves::default()
        },
        fresh_id: false,
    };
    let shown = format!(
        "{record:?}\n{changes:?}\n{:?}\n",
        IndexSecret::new(INDEX_SECRET)
    );

    get(&app, &mut jar, "/logout").await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    ids.extend(
        keys.iter()
            .filter_map(|key| key.strip_prefix(layout.prefix()))
            .map(str::to_owned),
    );
    (shown, ids)
}

/// The forms a secret takes in text: itself, and the numbers `{:?}` of its bytes shows.
fn forms(secret: &str) -> [String; 2] {
    let bytes = format!("{:?}", secret.as_bytes());
    [secret.to_owned(), bytes.trim_matches(['[', ']']).to_owned()]
}

#[actix_web::test]
async fn logs_and_debug_output_show_neither_session_values_nor_ids() {
    let logs = capture_logs();
    let server = RedisServer::start();
    let mut shown = String::new();
    let mut ids = BTreeSet::new();
    for layout in Layout::ALL {
        let (debug, seen) = flow(&server, layout).await;
        shown.push_str(&debug);
        ids.extend(seen);
    }
    let logged = logs.text();

    let warnings: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("does not decode"))
        .collect();
    // The load before the logout warns again: the planted value is still stored.
    assert!(
        warnings.len() >= 2,
        "a decode warning per layout:\n{logged}"
    );
    for warning in &warnings {
        assert!(
            warning.contains("visits"),
            "the warning names the field: {warning}"
        );
    }
    assert!(
        shown.contains("email") && shown.contains("token"),
        "Debug names the fields:\n{shown}"
    );
    assert!(ids.len() >= 4, "ids were collected: {}", ids.len());

    let mut leaks = Vec::new();
    for secret in [EMAIL, TOKEN, PLANTED, INDEX_SECRET] {
        for form in forms(secret) {
            if logged.contains(&form) {
                leaks.push(format!("the log holds {secret:?} as {form:?}"));
            }
            if shown.contains(&form) {
                leaks.push(format!("Debug output holds {secret:?} as {form:?}"));
            }
        }
    }
    for id in &ids {
        if logged.contains(id.as_str()) {
            leaks.push(format!("the log holds the session id {id:?}"));
        }
        if shown.contains(id.as_str()) {
            leaks.push(format!("Debug output holds the session id {id:?}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{}\n--- log ---\n{logged}--- Debug ---\n{shown}",
        leaks.join("\n")
    );
}
