//! The field and struct attributes of `#[derive(SessionData)]` at work in real requests, and
//! several session structs over one session: `default`, `skip`, `prefix`, one load and one
//! commit for all of a request's structs, and `read`/`modify` on the whole struct. A store
//! that records every change set shows exactly which fields each request wrote.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_typed_session::store::{
    ChangeSet, Committed, IndexKey, IndexMoves, Layout, Listed, LoadOptions, MemoryStore, Record,
    SessionKey, SessionStore, WriteMode,
};
use actix_typed_session::{Keys, Session, SessionData, SessionId, SessionMiddleware, StoreError};
use actix_web::http::header::COOKIE;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, Handler, Responder};
use async_trait::async_trait;

const PREFIX: &str = "attrs:";

/// The memory store, recording how many loads there were and every change set committed.
#[derive(Clone, Default)]
struct RecordingStore {
    inner: MemoryStore,
    loads: Arc<Mutex<usize>>,
    commits: Arc<Mutex<Vec<ChangeSet>>>,
}

impl RecordingStore {
    /// (loads, the storage names each commit set, sorted) since the last call.
    fn take(&self) -> (usize, Vec<Vec<String>>) {
        let loads = std::mem::take(&mut *self.loads.lock().unwrap());
        let commits = std::mem::take(&mut *self.commits.lock().unwrap())
            .into_iter()
            .map(|changes| {
                let mut names: Vec<String> =
                    changes.set.into_iter().map(|(name, _)| name).collect();
                names.sort();
                names
            })
            .collect();
        (loads, commits)
    }

    /// A session stored under a fresh id, with the given raw fields.
    async fn stored(&self, fields: &[(&str, &str)]) -> SessionId {
        let id = SessionId::generate().unwrap();
        let changes = ChangeSet {
            mode: WriteMode::Create {
                created_at: SystemTime::now(),
            },
            set: fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
                .collect(),
            remove: Vec::new(),
            ttl: Duration::from_secs(600),
            ttl_current: false,
            index: IndexMoves::default(),
            fresh_id: false,
            layout: Layout::Fields,
            base: None,
        };
        self.inner
            .commit(&SessionKey::new(PREFIX, &id), &changes)
            .await
            .unwrap();
        id
    }

    /// The stored fields of session `id`, as text.
    async fn fields(&self, id: &SessionId) -> HashMap<String, String> {
        let record = self
            .inner
            .load(&SessionKey::new(PREFIX, id), LoadOptions::default())
            .await
            .unwrap()
            .expect("the session still exists");
        record
            .fields
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8(value).unwrap()))
            .collect()
    }
}

#[async_trait]
impl SessionStore for RecordingStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        *self.loads.lock().unwrap() += 1;
        self.inner.load(key, options).await
    }
    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        self.commits.lock().unwrap().push(changes.clone());
        self.inner.commit(key, changes).await
    }
    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        self.inner.delete(key, leave).await
    }
    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        self.inner.retire(key, hold).await
    }
    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        self.inner.index_list(index, limit).await
    }
    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        self.inner.index_end(index, keep).await
    }
}

/// Runs one request carrying session `id` through `handler`, and returns the body.
async fn request<F, Args>(store: &RecordingStore, id: &SessionId, handler: F) -> String
where
    F: Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let middleware = SessionMiddleware::builder(store.clone(), Keys::none())
        .key_prefix(PREFIX)
        .build();
    let app = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/", web::get().to(handler)),
    )
    .await;
    let req = TestRequest::get()
        .uri("/")
        .insert_header((COOKIE, format!("session={}", id.as_str())))
        .to_request();
    let response = test::call_service(&app, req).await;
    assert!(response.status().is_success(), "{}", response.status());
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

fn text(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn default_theme() -> String {
    "light".to_owned()
}

mod defaults {
    pub fn page_size() -> u32 {
        20
    }
}

/// `Instant` is neither `Default` nor serializable: a `skip` field with a `default` path
/// needs neither.
fn started() -> std::time::Instant {
    std::time::Instant::now()
}

#[derive(SessionData)]
struct Prefs {
    #[session(default = "default_theme")]
    theme: String,
    #[session(default = "defaults::page_size")]
    page_size: u32,
    #[session(default)]
    visits: u64,
    #[session(skip)]
    scratch: Vec<String>,
    #[session(skip, default = "started")]
    since: std::time::Instant,
}

#[test]
fn skip_fields_have_no_storage_name() {
    assert_eq!(Prefs::FIELD_NAMES, ["theme", "page_size", "visits"]);
}

/// Collects the `field` of every warning emitted on this thread while it is the default
/// subscriber (the test runtime runs the whole request on one thread).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Field<'a>(&'a mut Option<String>);
        impl tracing::field::Visit for Field<'_> {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "field" {
                    *self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut field = None;
            event.record(&mut Field(&mut field));
            self.0.lock().unwrap().extend(field);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[actix_web::test]
async fn a_default_path_fills_missing_and_undecodable_fields() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    let store = RecordingStore::default();
    let id = store
        .stored(&[("theme", "42"), ("visits", r#""many""#)])
        .await;
    let body = request(&store, &id, |session: Session<Prefs>| async move {
        format!(
            "{} {} {} {:?}",
            session.theme(),
            session.page_size(),
            session.visits(),
            session.scratch()
        )
    })
    .await;
    assert_eq!(body, "light 20 0 []");
    assert_eq!(store.take(), (1, vec![]), "reading writes nothing");
    assert_eq!(
        *warnings.0.lock().unwrap(),
        ["theme", "visits"],
        "a warning per stored value that does not decode; none for a missing one"
    );
}

#[actix_web::test]
async fn a_default_path_does_not_replace_a_stored_value() {
    let store = RecordingStore::default();
    let id = store
        .stored(&[("theme", r#""dark""#), ("page_size", "50")])
        .await;
    let body = request(&store, &id, |session: Session<Prefs>| async move {
        format!("{} {}", session.theme(), session.page_size())
    })
    .await;
    assert_eq!(body, "dark 50");
}

#[actix_web::test]
async fn skip_fields_live_for_the_request_and_are_never_written() {
    let store = RecordingStore::default();
    let id = store.stored(&[("theme", r#""dark""#)]).await;
    let body = request(
        &store,
        &id,
        |mut first: Session<Prefs>, mut second: Session<Prefs>| async move {
            first.set_scratch(vec!["a".to_owned()]);
            second.update_scratch(|scratch| scratch.push("b".to_owned()));
            let elapsed = second.since().elapsed();
            second.set_since(std::time::Instant::now());
            format!(
                "{:?} {}",
                first.scratch(),
                elapsed < Duration::from_secs(60)
            )
        },
    )
    .await;
    assert_eq!(body, r#"["a", "b"] true"#, "one state for the request");
    assert_eq!(
        store.take(),
        (1, vec![]),
        "changing only skip fields commits nothing"
    );

    request(&store, &id, |mut session: Session<Prefs>| async move {
        session.set_scratch(vec!["c".to_owned()]);
        session.set_visits(1);
        ""
    })
    .await;
    assert_eq!(store.take(), (1, vec![vec!["visits".to_owned()]]));
    assert_eq!(
        store.fields(&id).await,
        text(&[("theme", r#""dark""#), ("visits", "1")])
    );
}

/// Two structs over one session, each with an `items` field: the prefix keeps them apart.
#[derive(SessionData)]
#[session(prefix = "auth.")]
struct Auth {
    user: Option<String>,
    #[session(rename = "roles")]
    items: Vec<String>,
}

#[derive(SessionData)]
#[session(prefix = "cart.")]
struct Cart {
    items: Vec<String>,
    total: u64,
}

#[test]
fn a_prefix_goes_before_every_storage_name_renamed_or_not() {
    assert_eq!(Auth::FIELD_NAMES, ["auth.user", "auth.roles"]);
    assert_eq!(Cart::FIELD_NAMES, ["cart.items", "cart.total"]);
}

#[actix_web::test]
async fn two_structs_share_one_load_and_one_commit_of_their_own_dirty_fields() {
    let store = RecordingStore::default();
    let id = store
        .stored(&[
            ("auth.user", r#""ada""#),
            ("auth.roles", r#"["admin"]"#),
            ("cart.items", r#"["tea"]"#),
            ("cart.total", "3"),
            ("theme", r#""dark""#),
        ])
        .await;
    let body = request(
        &store,
        &id,
        |auth: Session<Auth>, mut cart: Session<Cart>| async move {
            cart.update_items(|items| items.push("cake".to_owned()));
            format!("{:?} {:?} {:?}", auth.user(), auth.items(), cart.items())
        },
    )
    .await;
    assert_eq!(body, r#"Some("ada") ["admin"] ["tea", "cake"]"#);
    assert_eq!(
        store.take(),
        (1, vec![vec!["cart.items".to_owned()]]),
        "one load for both; one commit with only the cart's changed field"
    );

    request(
        &store,
        &id,
        |mut auth: Session<Auth>, mut cart: Session<Cart>, prefs: Session<Prefs>| async move {
            auth.set_items(vec![]);
            cart.set_total(9);
            prefs.theme().clone()
        },
    )
    .await;
    assert_eq!(
        store.take(),
        (
            1,
            vec![vec!["auth.roles".to_owned(), "cart.total".to_owned()]]
        ),
        "changes of two structs travel in one commit"
    );
    assert_eq!(
        store.fields(&id).await,
        text(&[
            ("auth.user", r#""ada""#),
            ("auth.roles", "[]"),
            ("cart.items", r#"["tea","cake"]"#),
            ("cart.total", "9"),
            ("theme", r#""dark""#),
        ])
    );
}

/// A middleware inside the session middleware that extracts `Session<Auth>` itself, as a
/// login guard would, and records the visit there.
async fn guard(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let mut auth = req.extract::<Session<Auth>>().await?;
    if auth.user().is_none() {
        return Err(actix_web::error::ErrorUnauthorized(""));
    }
    auth.update_items(|roles| roles.push("seen".to_owned()));
    next.call(req).await
}

#[actix_web::test]
async fn a_guard_and_a_handler_share_one_load_and_one_commit() {
    let store = RecordingStore::default();
    let id = store
        .stored(&[("auth.user", r#""ada""#), ("cart.total", "3")])
        .await;
    let middleware = SessionMiddleware::builder(store.clone(), Keys::none())
        .key_prefix(PREFIX)
        .build();
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(guard))
            .wrap(middleware)
            .route(
                "/",
                web::get().to(|mut cart: Session<Cart>| async move {
                    cart.update_total(|total| *total += 1);
                    cart.total().to_string()
                }),
            ),
    )
    .await;
    let req = TestRequest::get()
        .uri("/")
        .insert_header((COOKIE, format!("session={}", id.as_str())))
        .to_request();
    let body = test::call_and_read_body(&app, req).await;
    assert_eq!(body, "4");
    assert_eq!(
        store.take(),
        (
            1,
            vec![vec!["auth.roles".to_owned(), "cart.total".to_owned()]]
        )
    );
}

#[actix_web::test]
async fn read_borrows_the_whole_struct() {
    let store = RecordingStore::default();
    let id = store
        .stored(&[("cart.items", r#"["tea","cake"]"#), ("cart.total", "7")])
        .await;
    let body = request(&store, &id, |cart: Session<Cart>| async move {
        let cart = cart.read();
        format!("{} items, {}", cart.items.len(), cart.total)
    })
    .await;
    assert_eq!(body, "2 items, 7");
    assert_eq!(store.take(), (1, vec![]));
}

#[actix_web::test]
async fn modify_writes_exactly_the_fields_whose_value_changed() {
    let store = RecordingStore::default();
    let id = store
        .stored(&[("cart.items", r#"["tea"]"#), ("cart.total", "3")])
        .await;

    // An in-place change through `&mut` is seen; the untouched field is not written.
    let body = request(&store, &id, |mut cart: Session<Cart>| async move {
        cart.modify(|cart| {
            cart.items.push("cake".to_owned());
            cart.items.len()
        })
        .to_string()
    })
    .await;
    assert_eq!(body, "2", "modify returns what its closure returns");
    assert_eq!(store.take(), (1, vec![vec!["cart.items".to_owned()]]));

    // A field changed and set back is not written; one that ends up different is.
    request(&store, &id, |mut cart: Session<Cart>| async move {
        cart.modify(|cart| {
            cart.total += 100;
            cart.items.clear();
            cart.total -= 100;
            cart.items.push("tea".to_owned());
            cart.items.push("cake".to_owned());
            cart.total += 2;
        });
        ""
    })
    .await;
    assert_eq!(store.take(), (1, vec![vec!["cart.total".to_owned()]]));

    // A modify that assigns the values already there writes nothing.
    request(&store, &id, |mut cart: Session<Cart>| async move {
        cart.modify(|cart| cart.total = 5);
        ""
    })
    .await;
    assert_eq!(store.take(), (1, vec![]));

    assert_eq!(
        store.fields(&id).await,
        text(&[("cart.items", r#"["tea","cake"]"#), ("cart.total", "5")])
    );
}
