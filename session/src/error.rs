//! Errors of the store layer and of the request layer.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// A store could not do what was asked of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend did not answer within its timeout, or failed at the I/O level in a way
    /// other than [`ConnectionLost`](Self::ConnectionLost).
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The connection to the backend was closed, reset or refused (the server restarted,
    /// or is down; connecting to a server that is down gives this too): a call that was on
    /// a connection that closed may or may not have been carried out.
    #[error("connection to the session store lost: {0}")]
    ConnectionLost(String),
    /// The backend answered with something this library does not understand.
    #[error("unexpected answer from the session store: {0}")]
    Protocol(String),
    /// A change the layout cannot hold: the JSON layout takes JSON values only.
    #[error("the session store cannot hold this change: {0}")]
    Unsupported(String),
    /// An increment would take a field out of the range of its type, or its stored value
    /// is one no store counts from (a `u64` above `i64::MAX`); nothing was changed.
    #[error("increment out of range: {0}")]
    OutOfRange(String),
}

/// An error reply among a pipeline's answers: what the same command sent alone would
/// have failed with.
#[cfg(feature = "redis")]
impl From<redis::ServerError> for StoreError {
    fn from(err: redis::ServerError) -> Self {
        redis::RedisError::from(err).into()
    }
}

#[cfg(feature = "redis")]
impl From<redis::RedisError> for StoreError {
    fn from(err: redis::RedisError) -> Self {
        // Never a timeout (redis-rs counts a timed-out I/O error as no drop): the server
        // may be hung, and a store retries only a lost connection.
        if err.is_connection_dropped() {
            StoreError::ConnectionLost(err.to_string())
        } else if err.is_io_error() || err.is_timeout() {
            StoreError::Unavailable(err.to_string())
        } else {
            StoreError::Protocol(err.to_string())
        }
    }
}

/// Why a request could not get its session, or why its changes could not be saved.
///
/// As a response it is always opaque: a status code with an empty body. The details go
/// to the log (with the session id hashed), never to the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed while loading or committing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session changed under this request in a way that forbids writing: it was
    /// ended (logged out, renewed elsewhere or expired) after this request loaded it.
    #[error("the session ended while this request was using it")]
    Ended,
    /// No fresh session id could be allocated (the store kept reporting collisions, or
    /// the operating system gave no randomness).
    #[error("could not allocate a session id")]
    NoId,
    /// A field could not be encoded for storage.
    #[error("could not encode field `{field}`: {source}")]
    Encode {
        /// The storage name of the field.
        field: &'static str,
        /// What serde_json reported.
        source: serde_json::Error,
    },
    /// The session would take more room in the store than
    /// [`max_session_size`](crate::SessionMiddlewareBuilder::max_session_size) allows.
    /// Nothing was written.
    #[error("the session would take {size} bytes in the store, over the limit of {limit}")]
    TooLarge {
        /// The size the session would have had after the commit.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The session's cookie, under the cookie store
    /// ([`builder_with_cookie_store`](crate::SessionMiddleware::builder_with_cookie_store)),
    /// would be longer than browsers keep: `size` bytes for its `Set-Cookie` line, name,
    /// value and every attribute. Nothing was handed out: the client keeps the cookie it
    /// had.
    #[error(
        "the session's cookie would take {size} bytes, over the {limit} browsers keep: \
         keep less in the session, or use a server-side store"
    )]
    CookieTooLarge {
        /// The length of the `Set-Cookie` line the session would have needed.
        size: usize,
        /// What browsers keep of one cookie (4096 bytes).
        limit: usize,
    },
    /// Under the cookie store, a request asked for what needs server state: a struct with
    /// an `#[session(index)]` field (and so [`Session::sessions`](crate::Session::sessions),
    /// [`end_other_sessions`](crate::Session::end_other_sessions) and
    /// [`end_all_sessions`](crate::Session::end_all_sessions)), or a `#[session(counter)]`
    /// increment, which is atomic only in a store. Refused, never ignored; nothing was
    /// written.
    #[error("the cookie store keeps no server state, so it cannot do this: {0}")]
    Stateless(&'static str),
    /// The [`SessionAdmin`](crate::SessionAdmin) was asked for something it cannot do:
    /// reading or changing a session in the JSON layout (a Node preset's), or changing the
    /// index field. Nothing was written.
    #[error("the admin handle cannot do this: {0}")]
    Unsupported(&'static str),
    /// Under a Node preset, a field of the extracted struct is stored under a key the Node
    /// package keeps for itself beside the app's data (`cookie` for express-session;
    /// `_expire`, `_maxAge`, `_session`, `isNew` for koa-session). Every write puts the
    /// package's value there or removes the key, so the field would never keep what the
    /// app set: refused instead. Give the field another storage name with
    /// `#[session(rename = "...")]`.
    #[error(
        "session field `{0}` is stored under a key the Node package keeps for itself; \
         give it another name with #[session(rename = \"...\")]"
    )]
    EnvelopeKey(&'static str),
    /// `Session<T>` was extracted in an app that is not wrapped in `SessionMiddleware`.
    #[error("Session<T> was extracted, but the app is not wrapped in SessionMiddleware")]
    MissingMiddleware,
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        match self {
            // Not the store's failure: the app counted past what its field holds.
            SessionError::Store(StoreError::OutOfRange(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            SessionError::Store(_) | SessionError::Ended => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::new(self.status_code())
    }
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use std::io;

    use redis::RedisError;

    use super::StoreError;

    #[test]
    fn a_dropped_connection_is_lost_and_a_timeout_or_a_reply_is_not() {
        for kind in [
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::UnexpectedEof,
        ] {
            let error = StoreError::from(RedisError::from(io::Error::from(kind)));
            assert!(matches!(error, StoreError::ConnectionLost(_)), "{kind:?}");
        }
        let timeout = StoreError::from(RedisError::from(io::Error::from(io::ErrorKind::TimedOut)));
        assert!(matches!(timeout, StoreError::Unavailable(_)), "{timeout:?}");
        let read_only = redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly);
        let reply = StoreError::from(RedisError::from((read_only, "a reply")));
        assert!(matches!(reply, StoreError::Protocol(_)), "{reply:?}");
    }
}
