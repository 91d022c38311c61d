//! Typed, Redis-backed sessions for actix-web.
//!
//! Derive [`SessionData`] on a plain struct, wrap the `App` in [`SessionMiddleware`] once,
//! and take [`Session<T>`] in the handlers that need it. Getters borrow, setters mark only
//! their field dirty, and after the handler the middleware writes just the changed fields,
//! in one guarded round trip. Handlers that never ask for the session never touch the store.
//!
//! ```
//! use actix_typed_session::{store::MemoryStore, Keys, Session, SessionData, SessionMiddleware};
//! use actix_web::{web, App, HttpServer};
//!
//! #[derive(SessionData)]
//! struct Visit {
//!     views: u64,
//!     user: Option<String>,
//! }
//!
//! async fn index(mut session: Session<Visit>) -> String {
//!     let views = *session.views() + 1;
//!     session.set_views(views);
//!     format!("{views} views")
//! }
//!
//! # fn main() {}
//! # #[allow(dead_code)]
//! async fn serve() -> std::io::Result<()> {
//!     // For production, `store::RedisStore::connect("redis://127.0.0.1:6379").await`.
//!     let store = MemoryStore::new();
//!     let keys = Keys::new(["a long, random secret from your configuration"]);
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(SessionMiddleware::new(store.clone(), keys.clone()))
//!             .route("/", web::get().to(index))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod commit;
mod compat;
mod config;
mod cookie;
mod data;
mod error;
mod extract;
mod id;
mod index;
mod middleware;
mod signing;
mod state;
pub mod store;
pub mod test;
mod transport;
mod typed;

pub use compat::Compat;
pub use config::{SameSite, SessionMiddlewareBuilder, TtlPolicy};
pub use data::{IndexedSession, SessionData};
pub use error::{SessionError, StoreError};
pub use extract::Session;
pub use id::SessionId;
pub use index::SessionInfo;
pub use middleware::SessionMiddleware;
pub use signing::{Algorithm, Keys};
pub use transport::IdTransport;

/// `#[derive(SessionData)]`: typed accessors and per-field dirty tracking for a struct.
///
/// Derive it on a struct with named fields whose types are `Serialize + DeserializeOwned`
/// and, unless the field says otherwise, `Default`. Each field is one field of the stored
/// session, encoded as JSON. `Session<T>` then dereferences to the generated `TFields`,
/// which has, per field `x`: `x()` that borrows it, `set_x(value)` that replaces it and
/// `update_x(|x| ...)` that changes it in place. Only fields changed through these (or
/// through [`Session::modify`]) are written back.
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
/// `modify`, `into`, `try_into`). Two fields of one struct with the same storage name are
/// an error; two *structs* that store a field under the same name are not (no derive can see
/// the other struct): they share that stored field, which is why `prefix` exists.
#[cfg(feature = "derive")]
pub use actix_typed_session_derive::SessionData;

/// Compiles the README's Rust snippets as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Entry points into the hot paths for the micro benchmarks in `benches/`. Not a public API.
#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;

/// What the code generated by `#[derive(SessionData)]` uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::data::{encode_value, IndexedSession, SessionData, StoredFields};
    pub use crate::typed::{Typed, TypedRef};
    pub use core::cell::Ref;
    pub use serde_json;
}
