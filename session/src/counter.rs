//! Increments: a `#[session(counter)]` field changed on the server, so concurrent requests
//! that add to it all count, where a read-modify-write (`set_views(views() + 1)`) loses
//! the increments that raced it. The derive generates `increment_<field>(by)` on both
//! `Session<T>` and `SessionWriter<T>`; both come here.

use std::collections::HashMap;

use crate::data::{SessionData, StoredFields, Typed};
use crate::error::{SessionError, StoreError};
use crate::state::SessionState;
use crate::store::{Increment, Layout, WriteMode};

/// An integer type a `#[session(counter)]` field may have: one of 64 bits or fewer, whose
/// JSON text is the decimal number that Redis' `HINCRBY` adds to.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[session(counter)]` needs an integer field, and `{Self}` is not one",
    label = "not an integer type of 64 bits or fewer",
    note = "a counter is changed on the server, which adds to a stored integer: use one of \
            i8, i16, i32, i64, isize, u8, u16, u32, u64 or usize"
)]
pub trait Counter: Copy + 'static {
    /// The least value the type holds.
    const MIN: i64;
    /// The largest value the type holds, or `i64::MAX` when it holds more.
    const MAX: i64;
    /// The value as an `i64`; `None` past `i64::MAX`.
    fn to_i64(self) -> Option<i64>;
    /// The `i64` as this type; `None` outside its range.
    fn from_i64(value: i64) -> Option<Self>;
}

macro_rules! counters {
    ($($ty:ty),*) => {$(
        impl Counter for $ty {
            const MIN: i64 = if (<$ty>::MIN as i128) < (i64::MIN as i128) {
                i64::MIN
            } else {
                <$ty>::MIN as i64
            };
            const MAX: i64 = if (<$ty>::MAX as i128) > (i64::MAX as i128) {
                i64::MAX
            } else {
                <$ty>::MAX as i64
            };
            fn to_i64(self) -> Option<i64> {
                i64::try_from(self).ok()
            }
            fn from_i64(value: i64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
        }
    )*};
}

counters!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// Adds `by` to field number `index` of `typed` (the field `project` reaches) and returns
/// its new value.
///
/// Where the value lives decides where it changes. A live stored session that this
/// request has not changed the field of: on the server, in one store call, refreshing
/// the time-to-live (the commit then re-sends a rolling cookie). Anything else (a new
/// visitor, a cookie whose session is gone, a purged session, a field the request already
/// set, a store that failed open): in memory, marked dirty, so the commit writes it with
/// the rest (a new session is created holding it). A loaded session that ended since the
/// load is [`SessionError::Ended`], as a write to it would be.
pub(crate) async fn increment<T: SessionData, V: Counter>(
    state: &SessionState,
    typed: &Typed<T>,
    index: usize,
    by: i64,
    project: impl Fn(&mut T) -> &mut V,
) -> Result<V, SessionError> {
    let name = T::FIELD_NAMES.get(index).copied().unwrap_or_default();
    let out_of_range = || {
        SessionError::Store(StoreError::OutOfRange(format!(
            "adding {by} to field `{name}` would take it out of {}..={}",
            V::MIN,
            V::MAX
        )))
    };
    let in_memory = || {
        typed.update(index, |data| {
            let field = project(data);
            let value = field
                .to_i64()
                .and_then(|current| current.checked_add(by))
                .and_then(V::from_i64)
                .ok_or_else(out_of_range)?;
            *field = value;
            Ok(value)
        })
    };
    if typed.is_dirty(index) {
        return in_memory();
    }
    let Some(target) = state.increment_target() else {
        return in_memory();
    };
    let config = &state.config;
    if target
        .record
        .is_some_and(|record| record.created_at.is_none() && config.layout == Layout::Fields)
    {
        // Another program's hash, without the `__created` mark that tells a live session
        // from a stray hash: the guarded commit adds the mark with the change, once.
        return in_memory();
    }
    let mut change = Increment::new(name, by, config.ttl, config.layout);
    change.min = V::MIN;
    change.max = V::MAX;
    let mut default = T::decode(&StoredFields::new(&HashMap::new(), &"default"));
    change.absent = project(&mut default).to_i64().unwrap_or_default();
    if let Some(record) = target.record {
        // What a Node package keeps beside the fields, refreshed as any write refreshes it.
        let mode = WriteMode::Update { created_at: None };
        let wrapped = config.change_set(mode, Vec::new(), Some(record));
        change.set = wrapped.set;
        change.ttl = wrapped.ttl;
        change.base = wrapped.base;
    }
    let key = config.key(target.id);
    match config.store.increment(&key, &change).await {
        Ok(Some(stored)) => {
            let value = V::from_i64(stored).ok_or_else(out_of_range)?;
            typed.update_unstored(|data| *project(data) = value);
            state.touch(name, stored);
            Ok(value)
        }
        Ok(None) if target.record.is_some() => Err(SessionError::Ended),
        Ok(None) => {
            // A cookie of a session that is gone: the commit creates a new one.
            state.found_no_session();
            in_memory()
        }
        Err(error @ (StoreError::Unavailable(_) | StoreError::ConnectionLost(_)))
            if config.fail_open && target.record.is_none() =>
        {
            // As a load that failed open: a fresh session, which is not saved.
            let session = target.id.fingerprint();
            tracing::warn!(
                %session, %error,
                "session store unavailable: going on with a fresh session that will not be saved"
            );
            state.fail_open();
            typed.reset();
            in_memory()
        }
        Err(error) => {
            let session = target.id.fingerprint();
            tracing::error!(%session, %error, "incrementing a session field failed");
            Err(error.into())
        }
    }
}
