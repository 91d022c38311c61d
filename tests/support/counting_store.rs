//! The in-memory store, instrumented: it counts every call and can be told to fail them,
//! so an in-process test can say exactly which store calls a request made. It is the real
//! `MemoryStore` underneath, not a mock of Redis.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix_typed_session::store::{
    ChangeSet, Committed, Increment, IndexKey, Listed, LoadOptions, MemoryStore, Record,
    SessionKey, SessionStore,
};
use actix_typed_session::{SessionId, StoreError};
use async_trait::async_trait;

/// Calls made so far, shared by every clone of one [`CountingStore`].
#[derive(Default)]
pub struct Counts {
    loads: AtomicUsize,
    commits: AtomicUsize,
    deletes: AtomicUsize,
    index_calls: AtomicUsize,
    fail: AtomicBool,
    fail_commits: AtomicBool,
}

/// The memory store, counting calls, and failing every call while [`CountingStore::fail`]
/// is on.
#[derive(Clone, Default)]
pub struct CountingStore {
    /// The store underneath, for checks behind the middleware's back.
    pub inner: MemoryStore,
    counts: Arc<Counts>,
}

impl CountingStore {
    /// (loads, commits, deletes) so far.
    pub fn calls(&self) -> (usize, usize, usize) {
        let c = &self.counts;
        (
            c.loads.load(Ordering::SeqCst),
            c.commits.load(Ordering::SeqCst),
            c.deletes.load(Ordering::SeqCst),
        )
    }

    /// Every store call made so far.
    pub fn total_calls(&self) -> usize {
        let (loads, commits, deletes) = self.calls();
        loads + commits + deletes + self.counts.index_calls.load(Ordering::SeqCst)
    }

    /// While on, every call fails as an unreachable store would.
    pub fn fail(&self, on: bool) {
        self.counts.fail.store(on, Ordering::SeqCst);
    }

    /// While on, every commit (a create or an update) fails, and the other calls (loads,
    /// deletes) succeed: a commit that fails half way, after a delete.
    pub fn fail_commits(&self, on: bool) {
        self.counts.fail_commits.store(on, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.counts.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test says no".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        self.counts.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.load(key, options).await
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        self.counts.commits.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        if self.counts.fail_commits.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test says no to commits".into()));
        }
        self.inner.commit(key, changes).await
    }

    /// Counted as a commit: it is a write.
    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        self.counts.commits.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.increment(key, change).await
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        self.counts.deletes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.delete(key, leave).await
    }

    /// Counted as a delete: it is one, that keeps the session's index entries.
    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        self.counts.deletes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.retire(key, hold).await
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        self.counts.index_calls.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.index_list(index, limit).await
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        self.counts.index_calls.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.index_end(index, keep).await
    }
}
