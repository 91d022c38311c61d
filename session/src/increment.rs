//! Increments: a `#[session(counter)]` field changed on the server, so concurrent requests
//! that add to it all count, where a read-modify-write (`set_views(views() + 1)`) loses the
//! increments that raced it. This is the half that talks to the store; the typed half,
//! which keeps the struct in step, is `TypedRef::increment` in `data.rs`.

use async_trait::async_trait;

use crate::data::{CounterChange, Increased, RequestSession};
use crate::error::{SessionError, StoreError};
use crate::state::SessionState;
use crate::store::{Increment, Layout, WriteMode};
use crate::telemetry::{self, Operation};

/// Where the value lives decides where it changes. A live stored session: on the server,
/// in one store call, refreshing the time-to-live (the commit then re-sends a rolling
/// cookie). Anything else (a new visitor, a cookie whose session is gone, a purged session,
/// a store that failed open): in memory, so the commit writes it with the rest (a new
/// session is created holding it). A loaded session that ended since the load is
/// [`SessionError::Ended`], as a write to it would be.
#[async_trait(?Send)]
impl RequestSession for SessionState {
    fn is_stateless(&self) -> bool {
        self.config.cookie_store.is_some()
    }

    async fn increment_stored(&self, change: CounterChange) -> Result<Increased, SessionError> {
        let Some(target) = self.increment_target() else {
            return Ok(Increased::InMemory { reset: false });
        };
        let config = &self.config;
        if target
            .record
            .is_some_and(|record| record.created_at.is_none() && config.layout == Layout::Fields)
        {
            // A creation time that does not parse (another program's): the guarded commit
            // stamps one with the change, once.
            return Ok(Increased::InMemory { reset: false });
        }
        let CounterChange {
            field,
            by,
            min,
            max,
            absent,
        } = change;
        let mut increment = Increment::new(field, by, config.ttl, config.layout);
        increment.min = min;
        increment.max = max;
        increment.absent = absent;
        if let Some(record) = target.record {
            // What a Node package keeps beside the fields, refreshed as any write refreshes it.
            let mode = WriteMode::Update { created_at: None };
            let wrapped = config.change_set(mode, Vec::new(), Some(record), None);
            increment.set = wrapped.set;
            increment.ttl = wrapped.ttl;
            increment.base = wrapped.base;
        }
        let key = config.key(target.id);
        match config.store.increment(&key, &increment).await {
            Ok(Some(stored)) => {
                self.touch();
                Ok(Increased::Stored(stored))
            }
            Ok(None) if target.record.is_some() => Err(SessionError::Ended),
            Ok(None) => {
                // A cookie of a session that is gone: the commit creates a new one.
                self.found_no_session();
                Ok(Increased::InMemory { reset: false })
            }
            Err(error @ (StoreError::Unavailable(_) | StoreError::ConnectionLost(_)))
                if config.fail_open && target.record.is_none() =>
            {
                // As a load that failed open: a fresh session, which is not saved.
                telemetry::store_error(Operation::Increment, &error);
                telemetry::failed_open(Operation::Increment);
                let session = target.id.fingerprint();
                tracing::warn!(
                    %session, %error,
                    "session store unavailable: going on with a fresh session that will not be saved"
                );
                self.fail_open();
                Ok(Increased::InMemory { reset: true })
            }
            Err(error) => {
                telemetry::store_error(Operation::Increment, &error);
                let session = target.id.fingerprint();
                tracing::error!(%session, %error, "incrementing a session field failed");
                Err(error.into())
            }
        }
    }
}
