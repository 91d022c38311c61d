#![cfg_attr(docsrs, feature(doc_cfg))]
//! Typed, Redis-backed sessions for actix-web.
//!
//! Derive [`SessionData`] on a plain struct, wrap the `App` in [`SessionMiddleware`] once,
//! and take [`Session<T>`] in the handlers that need it. A whole app:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use actix_typed_session::store::{MemoryStore, RedisStore};
//! use actix_typed_session::{Keys, Session, SessionData, SessionError, SessionMiddleware};
//! use actix_web::{web, App, HttpServer};
//!
//! /// What a visitor's session holds: each field is one field of the stored session.
//! #[derive(SessionData)]
//! struct Visit {
//!     views: u64,
//!     /// The per-user index: a user's sessions can be listed and ended together.
//!     #[session(index)]
//!     user: Option<String>,
//! }
//!
//! async fn index(mut session: Session<Visit>) -> String {
//!     session.update_views(|views| *views += 1); // marks only `views` for writing
//!     format!("{} views", session.views())
//! }
//!
//! async fn login(mut session: Session<Visit>, name: web::Path<String>) -> String {
//!     session.set_user(Some(name.into_inner()));
//!     session.renew(); // a new id on every privilege change; the data moves with it
//!     "welcome".to_owned()
//! }
//!
//! async fn sign_out_everywhere_else(session: Session<Visit>) -> Result<String, SessionError> {
//!     let ended = session.end_other_sessions().await?;
//!     Ok(format!("signed out {ended} other sessions"))
//! }
//!
//! async fn logout(mut session: Session<Visit>) -> &'static str {
//!     session.purge(); // deletes the record and clears the cookie
//!     "bye"
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // The first key signs; every key verifies, so keys can be rotated.
//!     let keys = Keys::new(["a long random secret from your configuration"]);
//!     let builder = match std::env::var("REDIS_URL") {
//!         Ok(url) => {
//!             let store = RedisStore::connect(&url).await.map_err(std::io::Error::other)?;
//!             SessionMiddleware::builder(store, keys)
//!         }
//!         Err(_) => SessionMiddleware::builder(MemoryStore::new(), keys),
//!     };
//!     let sessions = builder.max_age(Duration::from_secs(7 * 24 * 3600)).build();
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(sessions.clone())
//!             .route("/", web::get().to(index))
//!             .route("/login/{name}", web::post().to(login))
//!             .route("/sign-out-others", web::post().to(sign_out_everywhere_else))
//!             .route("/logout", web::post().to(logout))
//!             .route("/health", web::get().to(|| async { "ok" })) // never touches the store
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! # What happens in a request
//!
//! 1. The middleware puts an empty, lazy session state on the request; nothing is read yet.
//! 2. The first `Session<T>` a handler takes reads the session id (from the cookie or the
//!    header), checks its signature and loads the session: one store round trip, shared by
//!    every `Session<_>` of the request. A missing, forged or malformed id is "no session":
//!    never an error, never a store call. A handler that takes none costs nothing (unless
//!    [`save_uninitialized`](SessionMiddlewareBuilder::save_uninitialized) is on).
//! 3. Getters (`views()`) borrow a field; setters (`set_views`), `update_views` and
//!    [`Session::modify`] mark the fields they change.
//! 4. After the handler, the changed fields (and only those) are written in one guarded
//!    round trip, which never recreates a session that was ended meanwhile. The cookie is
//!    sent only when its value or lifetime changes. A write that fails turns the response
//!    into an empty error, so no client is told a change was saved when it was not: a 503
//!    when the store failed or the session ended meanwhile, a 500 when a field does not
//!    encode, the session is over [`max_session_size`](SessionMiddlewareBuilder::max_session_size)
//!    or no fresh id could be made (see [`SessionError`]).
//!
//! # In handlers
//!
//! - Per field `x`: `x()`, `set_x(value)`, `update_x(|x| ...)`; see [`SessionData`] for
//!   the derive's attributes (`rename`, `default`, `skip`, `prefix`, `index`, `counter`,
//!   `crate`).
//! - Counters: a `#[session(counter)]` integer field gets `increment_x(by)`, which adds in
//!   the store (one round trip, atomic: concurrent increments all count) and returns the
//!   new value.
//! - Handlers that only write take [`SessionWriter<T>`] instead: no load, `set_x` and
//!   `increment_x` but no getters, one round trip in all.
//! - The whole struct: [`Session::read`] and [`Session::modify`].
//! - The session itself: [`Session::renew`] (after a login), [`Session::purge`] (a
//!   logout), [`Session::is_new`].
//! - A user's sessions, with an `#[session(index)]` field: [`Session::sessions`],
//!   [`Session::end_other_sessions`], [`Session::end_all_sessions`].
//! - Several structs over one session (`#[session(prefix = "cart.")]`): take
//!   `Session<Account>` and `Session<Cart>` in one handler; they share one load and one
//!   write.
//! - Lifecycle events for an audit trail: [`on_event`](SessionMiddlewareBuilder::on_event)
//!   hooks receive a [`SessionEvent`] when a session is created, renewed, logged out,
//!   signed out everywhere, ended by the [`SessionAdmin`], or (with
//!   `RedisStore::expiry_events`) expired.
//! - Tests: [`test::TestSession`] builds `Session<T>` arguments for a handler called
//!   directly, without a store or an app.
//!
//! # Options
//!
//! [`SessionMiddleware::new`] takes every default; [`SessionMiddleware::builder`] sets
//! the rest. Each method's page says more.
//!
//! | builder method | default |
//! |---|---|
//! | [`cookie_name`](SessionMiddlewareBuilder::cookie_name) | `session` (and `session.sig` for the signature) |
//! | [`max_age`](SessionMiddlewareBuilder::max_age), [`expires`](SessionMiddlewareBuilder::expires), [`browser_session`](SessionMiddlewareBuilder::browser_session) | a browser-session cookie |
//! | [`cookie_path`](SessionMiddlewareBuilder::cookie_path) | `/` |
//! | [`cookie_domain`](SessionMiddlewareBuilder::cookie_domain) | none: the exact host |
//! | [`cookie_http_only`](SessionMiddlewareBuilder::cookie_http_only) | `true` |
//! | [`cookie_secure`](SessionMiddlewareBuilder::cookie_secure), [`cookie_secure_from_scheme`](SessionMiddlewareBuilder::cookie_secure_from_scheme) | `Secure` always (browsers accept it from `http://localhost` too) |
//! | [`trust_forwarded_headers`](SessionMiddlewareBuilder::trust_forwarded_headers) | `false`: `Forwarded`/`X-Forwarded-Proto`/`X-Forwarded-For` are ignored (`true` needs `cookie_secure_from_scheme` or `record_client_ip(true)`, which read them) |
//! | [`cookie_same_site`](SessionMiddlewareBuilder::cookie_same_site) | [`SameSite::Lax`] (`None` needs `Secure` always) |
//! | [`signing_algorithm`](SessionMiddlewareBuilder::signing_algorithm) | [`Algorithm::Sha256`]; [`Keys::none`] turns signing off |
//! | [`ttl`](SessionMiddlewareBuilder::ttl) | the cookie's max-age, else 24 hours |
//! | [`ttl_policy`](SessionMiddlewareBuilder::ttl_policy) | [`TtlPolicy::OnEveryAccess`] |
//! | [`absolute_timeout`](SessionMiddlewareBuilder::absolute_timeout) | none |
//! | [`save_uninitialized`](SessionMiddlewareBuilder::save_uninitialized) | `false` |
//! | [`fail_open`](SessionMiddlewareBuilder::fail_open) | `false`: an empty 503 when the store is down |
//! | [`max_session_size`](SessionMiddlewareBuilder::max_session_size) | no limit |
//! | [`commit_on_server_error`](SessionMiddlewareBuilder::commit_on_server_error) | `false` |
//! | [`overwrite_handler_cookie`](SessionMiddlewareBuilder::overwrite_handler_cookie) | `true`: the session cookie replaces a handler's own cookie of its name |
//! | [`on_event`](SessionMiddlewareBuilder::on_event) | no hook: no event is built |
//! | [`id_transport`](SessionMiddlewareBuilder::id_transport) | [`IdTransport::Cookie`] |
//! | [`id_header`](SessionMiddlewareBuilder::id_header) | `x-session-id` |
//! | [`key_prefix`](SessionMiddlewareBuilder::key_prefix) | `session:` |
//! | [`index_secret`](SessionMiddlewareBuilder::index_secret) | derived from the first signing key, with a warning at the first index use: set a stable one if you use `#[session(index)]` |
//! | [`compat`](SessionMiddlewareBuilder::compat) | none: this library's own formats |
//!
//! The defaults are the safe ones, and [`build`](SessionMiddlewareBuilder::build) refuses
//! (panics; [`try_build`](SessionMiddlewareBuilder::try_build) returns a [`ConfigError`]) a
//! configuration that would be insecure or silently ignored: a key that is empty or
//! shorter than 32 bytes (see [`Keys`]; [`Keys::allow_short_keys`] accepts a Node app's
//! short secrets by name), an index secret shorter than 32 bytes, a `__Host-` or
//! `__Secure-` cookie name with options its prefix forbids, `SameSite=None` on a cookie
//! that is not always `Secure`, `trust_forwarded_headers(true)` without
//! `cookie_secure_from_scheme()` or `record_client_ip(true)`, an `absolute_timeout` with a
//! Node preset. A response that hands out or removes an id is kept out of shared caches:
//! unless the handler's `Cache-Control` says `private` or `no-store`, it becomes
//! `private, no-store`, and a `CDN-Cache-Control` or `Surrogate-Control` is removed.
//!
//! # Stores
//!
//! - [`store::MemoryStore`]: in the process, same semantics and TTLs; for development
//!   and tests.
//! - [`store::RedisStore`] (feature `redis`, on by default): one server, through
//!   [`RedisStore::connect`](store::RedisStore::connect) with a `redis://`, `rediss://`
//!   (feature `tls`) or `redis+unix://` URL, or [`RedisStore::builder`](store::RedisStore::builder)
//!   (host `127.0.0.1`, port 6379, connect timeout 2 s, response timeout 1 s, 1 reconnect
//!   retry by default).
//! - `store::RedisClusterStore` (feature `cluster`) and `store::RedisSentinelStore`
//!   (feature `sentinel`).
//! - [`store::MigratingStore`]: an old store and a new one, while a deployment moves from
//!   one to the other with nobody logged out.
//! - No store: [`SessionMiddleware::builder_with_cookie_store`] keeps the whole session in
//!   the cookie, sealed with AES-256-GCM. A copied cookie stays valid until its expiry, so
//!   a logout cannot revoke it; what needs server state (the per-user index, counter
//!   increments, the admin handle, the store's options) is refused, at build where it can
//!   be, else with [`SessionError::Stateless`].
//!
//! Feature `derive` (on by default) re-exports `#[derive(SessionData)]`. Feature `metrics`
//! (off by default) records counters and latency histograms through the `metrics` facade;
//! [`telemetry`] lists them, and the spans every build opens.
//!
//! # Guides
//!
//! In the repository: `docs/coming-from-actix-session.md` (the same app with
//! actix-session and with this crate, side by side), `docs/sharing-sessions-with-node.md`
//! (one login shared with a Koa or Express app), `docs/compat.md` (the wire formats),
//! `docs/migrating-stores.md` (moving sessions to another store), `docs/cookie-store.md`
//! (sessions in the cookie, and what that cannot promise), and
//! `examples/demo` (`cargo run --example demo`: login, counter, cart and "your sessions"
//! as HTML pages).
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admin;
mod builder;
mod commit;
mod compat;
mod config;
mod config_error;
mod cookie;
mod cookie_payload;
mod cookie_store;
mod counter;
mod data;
mod device;
mod envelope;
mod error;
mod events;
mod extract;
mod id;
mod increment;
mod index;
mod index_secret;
mod koa_cookie;
mod middleware;
mod part;
mod sealed_commit;
mod sealed_cookie;
mod signing;
mod state;
pub mod store;
pub mod telemetry;
pub mod test;
mod transport;
mod writer;

pub use actix_web::cookie::SameSite;
pub use admin::SessionAdmin;
pub use builder::SessionMiddlewareBuilder;
pub use compat::Compat;
pub use config::TtlPolicy;
pub use config_error::ConfigError;
pub use data::{IndexedSession, SessionData};
pub use error::{SessionError, StoreError};
pub use events::{IndexValue, SessionEvent, SessionEventKind, SessionEvents};
pub use extract::Session;
pub use id::SessionId;
pub use index::SessionInfo;
pub use index_secret::IndexSecret;
pub use middleware::SessionMiddleware;
pub use signing::{Algorithm, Keys};
pub use transport::IdTransport;
pub use writer::SessionWriter;

/// `#[derive(SessionData)]`: typed accessors and per-field dirty tracking for a struct.
///
/// Derive it on a struct with named fields whose types are `Serialize + DeserializeOwned`
/// and, unless the field says otherwise, `Default`. Each field is one field of the stored
/// session, encoded as JSON. `Session<T>` then dereferences to the generated `TFields`,
/// which has, per field `x`: `x()` that borrows it, `set_x(value)` that replaces it and
/// `update_x(|x| ...)` that changes it in place. Only fields changed through these (or
/// through [`Session::modify`]) are written back. [`SessionWriter<T>`] dereferences to the
/// generated `TWriter`: `set_x` per stored field but the `index` one, and `increment_x` per
/// `counter` field.
///
/// A stored value that is missing, or no longer decodes because the field's type changed,
/// gives the field its default (the latter with a warning); fields in the store that the
/// struct does not know are left as they are, so two versions of an app can share sessions.
///
/// # Attributes
///
/// | where | attribute | effect |
/// |---|---|---|
/// | field | `rename = "name"` | stored as `name`; the methods keep the Rust name |
/// | field | `default` | `Default::default()` when the store has no usable value (also what happens without the attribute) |
/// | field | `default = "path"` | `path()`, a `fn() -> FieldType`, instead; the type needs no `Default` |
/// | field | `skip` | never loaded or stored: it starts at its default in every request, and its setters mark nothing; combine with `default = "path"` for a type that is neither `Default` nor serializable |
/// | field | `index` | the per-user index: the store keeps, per value of this field, the ids of the live sessions holding it, for [`Session::sessions`], [`Session::end_other_sessions`] and [`Session::end_all_sessions`]; one field per struct, an `Option<_>` (`None` indexes nothing) |
/// | field | `counter` | an integer field (64 bits or fewer) changed in the store: `increment_x(by)` on `Session<T>` and [`SessionWriter<T>`] adds to it atomically and returns the new value, in one round trip |
/// | struct | `prefix = "ns."` | put before every storage name of the struct, renamed or not, so several structs can share one session |
/// | struct | `crate = "path"` | reach the runtime through `path` instead of `::actix_typed_session`, for a crate that re-exports it |
///
/// ```
/// use actix_typed_session::{Session, SessionData};
///
/// fn light() -> String {
///     "light".to_owned()
/// }
///
/// #[derive(SessionData)]
/// struct Prefs {
///     /// Stored as `ui_theme`, "light" until set.
///     #[session(rename = "ui_theme", default = "light")]
///     theme: String,
///     /// Stored as `visits`; 0 when missing, as without the attribute.
///     #[session(default)]
///     visits: u64,
///     /// For this request only, never stored; `Instant` is neither `Default` nor JSON.
///     #[session(skip, default = "std::time::Instant::now")]
///     started: std::time::Instant,
/// }
///
/// /// A second struct over the same session: its fields are stored as `cart.items` and
/// /// `cart.total`, and cannot clash with another struct's `items`.
/// #[derive(SessionData)]
/// #[session(prefix = "cart.")]
/// struct Cart {
///     items: Vec<String>,
///     total: u64,
/// }
///
/// mod reexported {
///     // What a crate that re-exports this one looks like.
///     pub use actix_typed_session::*;
/// }
///
/// #[derive(SessionData)]
/// #[session(crate = "crate::reexported")]
/// struct Flash {
///     message: Option<String>,
/// }
///
/// // One load serves every struct a handler takes; one commit writes what each changed.
/// async fn checkout(mut prefs: Session<Prefs>, mut cart: Session<Cart>) -> String {
///     prefs.update_visits(|v| *v += 1);
///     let total = cart.modify(|cart| {
///         cart.items.clear();
///         std::mem::take(&mut cart.total)
///     });
///     format!("{total} paid in {:?}, theme {}", prefs.started().elapsed(), prefs.theme())
/// }
///
/// fn main() {
///     assert_eq!(Prefs::FIELD_NAMES, ["ui_theme", "visits"]);
///     assert_eq!(Cart::FIELD_NAMES, ["cart.items", "cart.total"]);
///     assert_eq!(Flash::FIELD_NAMES, ["message"]);
/// }
/// ```
///
/// # Compile-time checks
///
/// Tuple and unit structs, enums, unions and generic structs are refused, as are unknown
/// or misplaced attributes, storage names that are empty or start with `__` (reserved for
/// the store's metadata), `skip` with `rename`, and field names whose methods would clash
/// with each other or be hidden by `Session`'s own (`is_new`, `renew`, `purge`, `read`,
/// `modify`, `into`, `try_into`, and `clone`, `clone_from`, `to_owned`, `clone_into`,
/// which a `&Session` has; on a struct with an `index` field, which gives `Session` three
/// more methods, also `sessions`, `end_other_sessions` and `end_all_sessions`). An
/// `index` field must be an `Option<_>` and not `skip`, one per struct. Two fields of one
/// struct with the same storage name are an error; two *structs* that store a field under
/// the same name are not (no derive can see the other struct): they share that stored
/// field, which is why `prefix` exists.
#[cfg(feature = "derive")]
pub use actix_typed_session_derive::SessionData;

// The README's and guides' snippets are compiled as doc tests by the unpublished
// `doctests/` crate: this crate is packaged alone, without files from outside session/.

/// Entry points into the hot paths for the micro benchmarks in `benches/`. Not a public API.
#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;

/// What the code generated by `#[derive(SessionData)]` uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::counter::Counter;
    pub use crate::data::{
        encode_value, IndexedSession, SessionData, StoredFields, Typed, TypedRef,
    };
    pub use crate::error::SessionError;
    pub use core::cell::Ref;
    pub use serde_json;
}
