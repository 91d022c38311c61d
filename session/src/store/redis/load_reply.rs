//! What the load scripts of both layouts answer, read into a [`Found`]: nil for no key, the
//! type of a key that holds another program's data, or the session with its time left.

use std::time::Duration;

use redis::Value;

use crate::error::StoreError;
use crate::store::SessionKey;

/// What a load finds when the key holds a session of its layout.
#[derive(Debug)]
pub(in crate::store) struct Found {
    /// The session as stored: the hash's `[name, value, ...]`, or the JSON text.
    pub(super) stored: Value,
    /// The time left; `None` when the key has no expiry.
    pub(super) ttl: Option<Duration>,
    /// Whether the load pushed the time-to-live back.
    pub(super) refreshed: bool,
}

/// Splits a load script's reply: nil (no key), the type of a key that holds another
/// program's data, or `[stored, pttl, refreshed]`.
///
/// A key of another type (a list, a string where a hash belongs) is no session: the
/// request goes on with a fresh one, saved under a new id, and the key is left as it is.
pub(super) fn found_session(reply: Value, key: &SessionKey) -> Result<Option<Found>, StoreError> {
    let parts = match reply {
        Value::Nil => return Ok(None),
        Value::Array(parts) => parts,
        Value::BulkString(kind) => {
            warn_foreign_key(key, &String::from_utf8_lossy(&kind));
            return Ok(None);
        }
        _ => return Err(unexpected_load_reply()),
    };
    let Ok([stored, Value::Int(pttl), Value::Int(refreshed)]) = <[Value; 3]>::try_from(parts)
    else {
        return Err(unexpected_load_reply());
    };
    Ok(Some(Found {
        stored,
        ttl: ttl_of(pttl),
        refreshed: refreshed == 1,
    }))
}

/// The time left, from a `PTTL` answer: -1, the key has no expiry; -2, the key is gone
/// (it was deleted or expired just now), nothing left.
pub(super) fn ttl_of(pttl: i64) -> Option<Duration> {
    match pttl {
        -1 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    }
}

/// Something other than a session of ours under a session's name: `kind`, as `TYPE`
/// names it.
pub(super) fn warn_foreign_key(key: &SessionKey, kind: &str) {
    tracing::warn!(
        session = ?key,
        %kind,
        "the session key holds something other than a session of ours; treated as no session"
    );
}

/// Says nothing of the reply itself: it may hold session data.
pub(super) fn unexpected_load_reply() -> StoreError {
    StoreError::Protocol("unexpected reply to a session load".into())
}
