//! `SessionWriter<T>`: the session as a handler argument for handlers that only write.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::data::{SessionData, TypedRef};
use crate::error::SessionError;
use crate::state::SessionState;

/// The session, for a handler that writes fields without reading any.
///
/// Taking it costs no store call: the session is not loaded. It dereferences to the
/// writer the derive generates: `set_<field>(v)` per stored field (but the `index` one,
/// whose change moves the session between per-user indexes and so needs the stored value)
/// and `increment_<field>(by)` per `#[session(counter)]` field. It has no getters: a
/// handler that reads takes [`Session<T>`](crate::Session) instead.
///
/// What it costs in store calls:
/// - sets only: one guarded write when the response is sent, which refreshes the
///   time-to-live; it never brings back a session that ended (a session is alive only
///   while its record is), and a request without a live session gets a new one, created
///   holding what was set;
/// - an increment: one store call, which also refreshes the time-to-live; nothing at
///   commit unless fields were set too;
/// - with [`absolute_timeout`](crate::SessionMiddlewareBuilder::absolute_timeout),
///   [`max_session_size`](crate::SessionMiddlewareBuilder::max_session_size) or a Node
///   preset ([`compat`](crate::SessionMiddlewareBuilder::compat)), whose checks need the
///   stored session, it loads first, as `Session<T>` does: one round trip more.
///
/// ```
/// # use actix_typed_session::{SessionData, SessionError, SessionWriter};
/// #[derive(SessionData)]
/// struct Visit {
///     #[session(counter)]
///     views: u64,
///     theme: Option<String>,
/// }
///
/// async fn count(mut visit: SessionWriter<Visit>) -> Result<String, SessionError> {
///     let views = visit.increment_views(1).await?; // one round trip, nothing to load
///     Ok(format!("{views} views"))
/// }
///
/// async fn dark(mut visit: SessionWriter<Visit>) -> &'static str {
///     visit.set_theme(Some("dark".into())); // one guarded write when the response goes
///     "dark it is"
/// }
/// ```
pub struct SessionWriter<T: SessionData> {
    writer: T::Writer,
}

impl<T: SessionData> Deref for SessionWriter<T> {
    type Target = T::Writer;

    fn deref(&self) -> &T::Writer {
        &self.writer
    }
}

impl<T: SessionData> DerefMut for SessionWriter<T> {
    fn deref_mut(&mut self) -> &mut T::Writer {
        &mut self.writer
    }
}

impl<T: SessionData> fmt::Debug for SessionWriter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionWriter")
            .field("type", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T: SessionData> FromRequest for SessionWriter<T> {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.extensions().get::<Rc<SessionState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = state else {
                tracing::error!("SessionWriter<T> extracted in an app without SessionMiddleware");
                return Err(SessionError::MissingMiddleware);
            };
            state.config.check_struct::<T>()?;
            if state.config.writers_load() || state.loaded().is_some() {
                state.load(&req).await?;
            } else {
                state.read_id_for_writes(&req);
            }
            let typed = state.writer::<T>();
            Ok(SessionWriter {
                writer: T::writer(TypedRef::new(typed, state)),
            })
        })
    }
}
