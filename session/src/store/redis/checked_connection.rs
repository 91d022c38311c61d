//! A connection that is checked after a call got no answer, and replaced if it is dead.
//!
//! A connection can die without a word: a firewall or NAT that forgets the flow, a proxy
//! whose upstream went away, a host that vanished from the network. No close or reset
//! ever arrives, so the redis crate's clients, which reconnect only on those, keep sending
//! into it, and every call on it times out until the kernel gives up on the connection
//! (some fifteen minutes with Linux's defaults).
//!
//! So after a call that got no answer, a check asks the connection whether it still
//! answers. If it does, Redis was only slow. If not, a fresh connection is made and asked:
//! if that one answers, the old connection is dead and the fresh one takes its place; if
//! it does not either, Redis itself is down or hung, and the old one stays (it reconnects
//! by itself once Redis closes it). One check runs at a time per connection, in the
//! background, however many calls time out: the requests that time out meanwhile get
//! their 503 within their own timeout.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::runtime::Handle;

use crate::error::StoreError;

/// Whether a call's result calls for a check: it got no answer, or failed at the I/O
/// level without the connection closing ([`StoreError::Unavailable`]). A closed
/// connection reconnects by itself.
pub(super) fn got_no_answer<T>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(_)))
}

/// Whether a check's `PING` was answered: any reply counts, an error reply too (`BUSY`
/// while a long script runs): only silence or a failed connection does not.
pub(super) fn answered(result: redis::RedisResult<()>) -> bool {
    match result {
        Ok(()) => true,
        Err(err) => !matches!(
            StoreError::from(err),
            StoreError::Unavailable(_) | StoreError::ConnectionLost(_)
        ),
    }
}

/// A connection handle `C` (cheap to clone, shared by every call) that a check can
/// replace while calls use it.
pub(super) struct CheckedConnection<C> {
    conn: Mutex<C>,
    checking: AtomicBool,
}

impl<C: Clone + Send + 'static> CheckedConnection<C> {
    pub(super) fn new(conn: C) -> Arc<Self> {
        Arc::new(Self {
            conn: Mutex::new(conn),
            checking: AtomicBool::new(false),
        })
    }

    /// The connection to send a call on.
    pub(super) fn get(&self) -> C {
        self.lock().clone()
    }

    /// Starts a check on `runtime` (see the module's comment), unless one is running:
    /// `answers` asks a connection whether it still answers (within its response
    /// timeout), `connect` makes a fresh one (within its connect timeout). `runtime` is
    /// the one the connection's I/O runs on, so the fresh one's does too.
    pub(super) fn check<Answers, Answered, Connect, Connected>(
        self: &Arc<Self>,
        runtime: &Handle,
        answers: Answers,
        connect: Connect,
    ) where
        Answers: Fn(C) -> Answered + Send + 'static,
        Answered: Future<Output = bool> + Send,
        Connect: FnOnce() -> Connected + Send + 'static,
        Connected: Future<Output = Option<C>> + Send,
    {
        if self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let checked = self.clone();
        runtime.spawn(async move {
            // Cleared however the check ends, its task dropped with its runtime included.
            let _done = Done(&checked.checking);
            if answers(checked.get()).await {
                return;
            }
            let Some(fresh) = connect().await else {
                return;
            };
            if answers(fresh.clone()).await {
                tracing::warn!(
                    "a connection to Redis gave no answer where a fresh one did: replaced"
                );
                *checked.lock() = fresh;
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, C> {
        // The guarded value is a plain handle: a panic elsewhere cannot leave it half set.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Clears the `checking` flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
