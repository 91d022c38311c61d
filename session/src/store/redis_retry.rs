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
//! timeout: a hung Redis must fail within the response timeout, not twice that. Never an
//! error reply: Redis answered, and would answer the same.
//!
//! The first try may have been carried out before the connection died, so only a call
//! whose repeat leaves the same data and gives the same answer is tried again:
//! - loads (a time-to-live refresh sets the same time-to-live again);
//! - index listings (the stale ids are gone already);
//! - commits. An update sets the same fields to the same values, only in a session that
//!   exists (in the JSON layout the repeat finds its own write and merges into it). A
//!   create whose first try landed finds its own session and reports a collision, which
//!   [`Scripts::commit`](super::redis::Scripts::commit) takes for the write it is when told
//!   it runs [`Again`](Attempt::Again): ids are random enough that nobody else's session
//!   can be there.
//!
//! Deletes are not tried again (a repeat would report that nothing was there, which a
//! renewal takes for a session ended elsewhere), nor is ending a user's sessions (a repeat
//! would count none).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::error::StoreError;

/// Which try of a call this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    First,
    /// The first try failed on a dropped connection, and Redis may have carried it out
    /// before the connection died.
    Again,
}

/// Runs `call` on a connection from `connect` and, if it failed on a dropped connection,
/// once more on a connection from `connect`.
pub(super) async fn retry_once_if_dropped<C, T, Connect, Connected, Call, Called>(
    connect: Connect,
    call: Call,
) -> Result<T, StoreError>
where
    Connect: Fn() -> Connected,
    Connected: Future<Output = Result<C, StoreError>>,
    Call: Fn(Watched<C>, Attempt) -> Called,
    Called: Future<Output = Result<T, StoreError>>,
{
    let conn = Watched::new(connect().await?);
    let dropped = conn.dropped.clone();
    match call(conn, Attempt::First).await {
        Err(err) if dropped.load(Ordering::Relaxed) => {
            tracing::debug!(error = %err, "the connection to Redis was dropped; trying once more");
            call(Watched::new(connect().await?), Attempt::Again).await
        }
        result => result,
    }
}

/// A connection that notes whether one of its commands found it dropped. Clones share the
/// note, so a call may send commands over several clones at once.
#[derive(Clone)]
pub(super) struct Watched<C> {
    conn: C,
    dropped: Arc<AtomicBool>,
}

impl<C> Watched<C> {
    fn new(conn: C) -> Self {
        Self {
            conn,
            dropped: Arc::new(AtomicBool::new(false)),
        }
    }

    fn note<T>(&self, result: &Result<T, RedisError>) {
        if result.as_ref().is_err_and(was_dropped) {
            self.dropped.store(true, Ordering::Relaxed);
        }
    }
}

/// Closed, reset or refused. A timeout is none of these (`is_connection_dropped` reports
/// an I/O error of another kind, such as `TimedOut`, as false), nor is an error reply.
fn was_dropped(err: &RedisError) -> bool {
    err.is_connection_dropped() && !err.is_timeout()
}

impl<C: ConnectionLike + Send> ConnectionLike for Watched<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.conn.req_packed_command(cmd).await;
            self.note(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self.conn.req_packed_commands(pipeline, offset, count).await;
            self.note(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn dropped_connections_count_and_timeouts_and_replies_do_not() {
        for kind in [
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::UnexpectedEof,
        ] {
            assert!(
                was_dropped(&RedisError::from(io::Error::from(kind))),
                "{kind:?}"
            );
        }
        assert!(!was_dropped(&RedisError::from(io::Error::from(
            io::ErrorKind::TimedOut
        ))));
        let read_only = redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly);
        assert!(!was_dropped(&RedisError::from((read_only, "a reply"))));
    }
}
