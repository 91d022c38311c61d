//! A second try for a store call whose connection turned out to be dead.
//!
//! A connection learns that Redis went away (a restart, a failover, a proxy that cut an
//! idle connection) only when a command fails on it. Without a second try, that command's
//! request gets a 503 although Redis may be back: one per connection after every restart.
//! So a call that failed on a dropped connection is made once more on a fresh one. The
//! `ConnectionManager` of the single-node store has already started reconnecting when
//! the error comes back, and the second try waits for that (within the connect timeout and
//! reconnect retries); the Sentinel store asks the sentinels for the master again.
//!
//! Only a dropped connection (closed, reset or refused) earns a second try. Never a
//! timeout: a hung Redis fails within the response timeout. Never an error reply: Redis
//! answered, and would answer the same. A call that does get a second try may take up to
//! twice its bound: the first try's wait, then a reconnection and the second try's.
//!
//! The first try may have been carried out before the connection died, so only a call
//! whose repeat leaves the same data and gives the same answer is tried again:
//! - loads. A refresh sets the same time-to-live again. With a refresh threshold the
//!   second try may find the time-to-live its first try set, above the threshold: it
//!   counts as refreshed all the same, so the cookie follows
//!   ([`Operations::load`](super::operations::Operations::load));
//! - index listings (the stale ids are gone already);
//! - creates. A create whose first try landed finds its own session and reports a
//!   collision, which [`Operations::commit`](super::operations::Operations::commit) takes
//!   for the write it is when told it runs [`Again`](Attempt::Again): ids are random
//!   enough that nobody else's session can be there.
//!
//! Updates are not tried again: between a first try that landed and its repeat, another
//! request may have written the same fields, and the repeat would undo that. Nor are
//! deletes (a repeat would report that nothing was there, which a renewal takes for a
//! session ended elsewhere), nor ending a user's sessions (a repeat would count none).

use std::future::Future;

use crate::error::StoreError;
use crate::store::{ChangeSet, WriteMode};

/// Whether a call may be made a second time (see the module's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Loads, index listings and creates.
    Safe,
    /// Updates: sent once.
    Never,
}

impl Repeat {
    /// A create may be made again, an update not.
    pub(super) fn of_commit(changes: &ChangeSet) -> Self {
        match changes.mode {
            WriteMode::Update { .. } => Repeat::Never,
            WriteMode::Create { .. } => Repeat::Safe,
        }
    }
}

/// Which try of a call this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    First,
    /// The first try failed on a dropped connection, and Redis may have carried it out
    /// before the connection died.
    Again,
}

/// Runs `call` on a connection from `connect` and, if it failed on a dropped connection
/// ([`StoreError::ConnectionLost`]) and may [`Repeat`], once more on a connection from
/// `connect`.
pub(super) async fn retry_once_if_dropped<C, T, Connect, Connected, Call, Called>(
    repeat: Repeat,
    connect: Connect,
    call: Call,
) -> Result<T, StoreError>
where
    Connect: Fn() -> Connected,
    Connected: Future<Output = Result<C, StoreError>>,
    Call: Fn(C, Attempt) -> Called,
    Called: Future<Output = Result<T, StoreError>>,
{
    // The first answer is not kept across the second try: held there, it would grow the
    // future of every call, which is allocated on every request.
    match call(connect().await?, Attempt::First).await {
        Err(StoreError::ConnectionLost(err)) if repeat == Repeat::Safe => {
            tracing::debug!(error = %err, "the connection to Redis was dropped; trying once more");
        }
        result => return result,
    }
    call(connect().await?, Attempt::Again).await
}
