//! What the fuzz targets check, one function a target (`scripts/fuzz.sh` runs them all).
//!
//! - [`id_extraction`]: any bytes as the `Cookie` header and the id header, under the
//!   default, Koa and Express cookie formats: a 200 for a fresh session, and no store call.
//! - [`stored_session`]: any stored fields (names and values, UTF-8 or not) under a valid
//!   id, read and written by a struct of many field types, under the same three formats
//!   (whose envelopes, `_expire` and express' `cookie`, are read from the stored fields):
//!   always a 200.
//! - [`cookie_store`]: any bytes as the `Cookie` header of the cookie store (a 200 for a
//!   fresh session), and as a field's text, sealed into the cookie and opened again: the
//!   same text back, or a refusal (an empty 500) only for a session too large for a cookie.
//! - [`store_replies`]: any bytes as a JSON-layout document, and as RESP replies of the
//!   hash layout's loads (script and pipeline): no panic, and a document written back keeps
//!   every value.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_http::Request;
use actix_typed_session::store::{
    fuzz, ChangeSet, CommitOutcome, Committed, IndexKey, Listed, LoadOptions, Record, SessionKey,
    SessionStore,
};
use actix_typed_session::{
    Compat, IdTransport, Keys, Session, SessionData, SessionId, SessionMiddleware, StoreError,
};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderValue, COOKIE};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, Error};
use async_trait::async_trait;

/// A store that answers every load with one record and accepts every write, counting calls.
#[derive(Clone, Default)]
struct FixedStore {
    record: Arc<Mutex<Option<Record>>>,
    calls: Arc<AtomicUsize>,
}

impl FixedStore {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl SessionStore for FixedStore {
    async fn load(&self, _: &SessionKey, _: LoadOptions) -> Result<Option<Record>, StoreError> {
        self.count();
        Ok(self.record.lock().expect("not poisoned").clone())
    }

    async fn commit(&self, _: &SessionKey, _: &ChangeSet) -> Result<Committed, StoreError> {
        self.count();
        Ok(CommitOutcome::Written.into())
    }

    async fn delete(&self, _: &SessionKey, _: &[IndexKey]) -> Result<bool, StoreError> {
        self.count();
        Ok(true)
    }

    async fn retire(&self, _: &SessionKey, _: &[IndexKey]) -> Result<Option<Record>, StoreError> {
        self.count();
        Ok(self.record.lock().expect("not poisoned").clone())
    }

    async fn index_list(&self, _: &IndexKey, _: usize) -> Result<Vec<Listed>, StoreError> {
        self.count();
        Ok(Vec::new())
    }

    async fn index_end(
        &self,
        _: &IndexKey,
        _: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        self.count();
        Ok(Vec::new())
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize, Debug)]
struct Nested {
    a: i32,
    b: Vec<Option<u8>>,
}

/// Fields of many types, so stored values meet many decoders.
#[derive(SessionData)]
struct Visit {
    views: u64,
    #[session(index)]
    user: Option<String>,
    tags: Vec<String>,
    prefs: HashMap<String, f64>,
    flag: Option<bool>,
    nested: Nested,
}

/// `GET /`: decodes every field and writes one.
async fn visit(mut session: Session<Visit>) -> String {
    let views = session.views().saturating_add(1);
    session.set_views(views);
    let v = session.read();
    format!(
        "{views} {:?} {:?} {:?} {:?} {:?}",
        v.user, v.tags, v.prefs, v.flag, v.nested
    )
}

/// `GET /peek`: reads only.
async fn peek(session: Session<Visit>) -> String {
    format!("{} views", *session.views())
}

/// The three cookie formats: ours (keygrip `.sig`, SHA-256), Koa's (SHA-1, UUID ids, an
/// `_expire` envelope) and Express' (`s:` inline signature, a `cookie` envelope).
const FORMATS: [Option<Compat>; 3] = [None, Some(Compat::KoaSession), Some(Compat::ExpressSession)];

/// The app of both targets, on `store`, in `format`.
async fn app(
    store: FixedStore,
    format: Option<Compat>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = Error> {
    // Short keys, accepted by name: the corpus holds cookies signed with them.
    let keys = Keys::new(["fuzz key", "older fuzz key"]).allow_short_keys();
    let builder = SessionMiddleware::builder(store, keys).id_transport(IdTransport::Both);
    let sessions = match format {
        Some(compat) => builder.compat(compat),
        None => builder,
    }
    .build();
    test::init_service(
        App::new()
            .wrap(sessions)
            .route("/", web::get().to(visit))
            .route("/peek", web::get().to(peek)),
    )
    .await
}

fn runtime() -> actix_rt::Runtime {
    actix_rt::Runtime::new().expect("a runtime")
}

/// `data` as the `Cookie` header and as the id header of one request, in every format.
pub fn id_extraction(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    runtime().block_on(async {
        for format in FORMATS {
            let store = FixedStore::default();
            let app = app(store.clone(), format).await;
            let req = TestRequest::get()
                .uri("/peek")
                .insert_header((COOKIE, value.clone()))
                .insert_header(("x-session-id", value.clone()))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK, "{format:?}");
            assert_eq!(test::read_body(res).await, "0 views", "{format:?}");
            assert_eq!(
                store.calls(),
                0,
                "{format:?}: a store call for an unverified id"
            );
        }
    });
}

/// The fields `data` spells: name and value pieces separated by 0xFF, a byte that never
/// occurs in UTF-8.
fn fields(data: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut pieces = data.split(|&b| b == 0xff);
    let mut fields = HashMap::new();
    while let (Some(name), Some(value)) = (pieces.next(), pieces.next()) {
        fields.insert(String::from_utf8_lossy(name).into_owned(), value.to_vec());
    }
    fields
}

/// `data` as the stored fields of a valid session, read and written in every format.
pub fn stored_session(data: &[u8]) {
    let record = Record {
        fields: fields(data),
        created_at: (data.len() % 2 == 0).then(SystemTime::now),
        ttl: Some(Duration::from_secs(3600)),
        refreshed: data.first().is_some_and(|b| b % 3 == 0),
        snapshot: None,
    };
    runtime().block_on(async {
        for format in FORMATS {
            let store = FixedStore::default();
            let app = app(store.clone(), format).await;
            // A first visit makes a valid, signed id; the store then "holds" `data` under it.
            let res = test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
            assert_eq!(res.status(), StatusCode::OK);
            let cookie: Vec<String> = res
                .response()
                .cookies()
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect();
            *store.record.lock().expect("not poisoned") = Some(record.clone());
            for _ in 0..2 {
                let req = TestRequest::get()
                    .uri("/")
                    .insert_header((COOKIE, cookie.join("; ")))
                    .to_request();
                let res = test::call_service(&app, req).await;
                assert_eq!(res.status(), StatusCode::OK, "{format:?}");
            }
        }
    });
}

/// `data` as a JSON-layout document and as the RESP replies of a hash-layout load.
pub fn store_replies(data: &[u8]) {
    if let Some((before, after)) = fuzz::json_round_trip(data) {
        for (name, value) in &before {
            if name != "views" {
                assert_eq!(after.get(name), Some(value), "`{name}` changed on the way");
            }
        }
        let views = after.get("views").map(Vec::as_slice);
        assert!(
            views == Some(b"2") || views == Some(b"2.0"),
            "views: {views:?}"
        );
    }
    for record in fuzz::load_replies(data).into_iter().flatten().flatten() {
        assert!(
            !record.fields.contains_key("__created"),
            "metadata leaked into the fields"
        );
    }
}

/// The cookie store's session of [`cookie_store`].
#[derive(SessionData)]
struct Note {
    note: String,
}

async fn read_note(session: Session<Note>) -> String {
    session.note().clone()
}

async fn write_note(mut session: Session<Note>, body: web::Bytes) -> &'static str {
    session.set_note(String::from_utf8_lossy(&body).into_owned());
    "noted"
}

/// `data` as the cookie store's `Cookie` header, then as the text of a field sealed into
/// the cookie and read back.
pub fn cookie_store(data: &[u8]) {
    runtime().block_on(async {
        let keys = Keys::new(["the fuzz cookie store key, at least 32 bytes"]);
        let sessions = SessionMiddleware::builder_with_cookie_store(keys).build();
        let app = test::init_service(
            App::new()
                .wrap(sessions)
                .route("/", web::get().to(read_note))
                .route("/", web::post().to(write_note)),
        )
        .await;
        if let Ok(value) = HeaderValue::from_bytes(data) {
            let req = TestRequest::get()
                .uri("/")
                .insert_header((COOKIE, value))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                test::read_body(res).await,
                "",
                "a made-up cookie is no session"
            );
        }
        let req = TestRequest::post()
            .uri("/")
            .set_payload(data.to_vec())
            .to_request();
        let res = test::call_service(&app, req).await;
        if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
            // Refused only when the sealed session would not fit a cookie.
            assert!(data.len() > 400, "refused {} bytes", data.len());
            assert!(res.response().cookies().next().is_none());
            return;
        }
        assert_eq!(res.status(), StatusCode::OK);
        let cookie: Vec<String> = res
            .response()
            .cookies()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        let req = TestRequest::get()
            .uri("/")
            .insert_header((COOKIE, cookie.join("; ")))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        let text = String::from_utf8_lossy(data);
        assert_eq!(test::read_body(res).await, text.as_bytes());
    });
}
