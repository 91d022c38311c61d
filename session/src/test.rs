//! Unit tests for handlers, without Redis, a middleware or a running app: build a
//! [`Session<T>`] from a value, call the handler function, and read back what it changed.
//!
//! ```
//! use actix_typed_session::test::TestSession;
//! use actix_typed_session::{Session, SessionData};
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
//! # actix_web::rt::System::new().block_on(async {
//! let visit = TestSession::new(Visit { views: 41, user: None });
//! assert_eq!(index(visit.session()).await, "42 views");
//! assert_eq!(visit.changed_fields(), ["views"]);
//! assert_eq!(visit.changes().unwrap(), [("views", serde_json::json!(42))]);
//! assert_eq!(visit.value().views, 42);
//! # });
//! ```
//!
//! It needs no feature: it adds no dependency, and it lets the tests of a crate that uses
//! this one (where this crate's own `cfg(test)` is never set) reach it without a
//! dev-dependency feature switch.

use std::cell::Ref;
use std::rc::Rc;
use std::sync::Arc;

use crate::builder::SessionMiddlewareBuilder;
use crate::data::{SessionData, Typed};
use crate::error::SessionError;
use crate::extract::Session;
use crate::signing::Keys;
use crate::state::SessionState;
use crate::store::MemoryStore;

/// A stored session holding one value of `T`, for calling a handler directly.
///
/// [`TestSession::session`] hands out `Session<T>` arguments that all share this state, as
/// several extractors in one request would; afterwards, the other methods tell what the
/// handler did. Nothing is ever saved: there is no store behind it.
pub struct TestSession<T: SessionData> {
    state: Rc<SessionState>,
    typed: Rc<Typed<T>>,
}

impl<T: SessionData> TestSession<T> {
    /// A session that already exists (not [`Session::is_new`]) and holds `value`, with no
    /// field changed yet.
    pub fn new(value: T) -> Self {
        let config = SessionMiddlewareBuilder::new(
            Arc::new(MemoryStore::new()),
            Keys::new(["unused: a handler test signs no cookie"]),
        )
        .config();
        let typed = Rc::new(Typed::new(value));
        let state = Rc::new(SessionState::preloaded(Arc::new(config), typed.clone()));
        Self { state, typed }
    }

    pub(crate) fn state(&self) -> &SessionState {
        &self.state
    }

    /// A `Session<T>` over this state, to pass to a handler.
    pub fn session(&self) -> Session<T> {
        Session::new(self.state.clone(), self.typed.clone())
    }

    /// The value as the handler left it, `skip` fields included.
    pub fn value(&self) -> Ref<'_, T> {
        self.typed.read()
    }

    /// The storage names of the fields that would be written, in declaration order.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        T::FIELD_NAMES
            .iter()
            .enumerate()
            .filter(|(index, _)| self.typed.is_dirty(*index))
            .map(|(_, name)| *name)
            .collect()
    }

    /// The fields that would be written, by storage name, with the JSON they would be
    /// written as, in declaration order. Fails as the commit would, when one does not
    /// encode.
    pub fn changes(&self) -> Result<Vec<(&'static str, serde_json::Value)>, SessionError> {
        let mut encoded = Vec::new();
        self.typed
            .for_each_dirty(|name, value| encoded.push((name, value)))?;
        encoded
            .into_iter()
            .map(|(field, value)| {
                serde_json::from_slice(&value)
                    .map(|value| (field, value))
                    .map_err(|source| SessionError::Encode { field, source })
            })
            .collect()
    }

    /// Whether the handler purged the session.
    pub fn is_purged(&self) -> bool {
        self.state.is_purged()
    }

    /// Whether the handler asked for a new id with [`Session::renew`].
    pub fn is_renewed(&self) -> bool {
        self.state.wants_renewal()
    }
}
