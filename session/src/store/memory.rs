//! An in-process store: the default for development and tests, with the same semantics as
//! the Redis store (guarded writes, time-to-live), and nothing shared between processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use super::{ChangeSet, CommitOutcome, LoadOptions, Record, SessionKey, SessionStore, WriteMode};
use crate::error::StoreError;

/// Every this many commits, expired sessions are swept out so memory stays bounded.
const SWEEP_EVERY: usize = 1024;

/// Sessions kept in this process's memory. Clones share the same sessions.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: Mutex<HashMap<String, Entry>>,
    commits: AtomicUsize,
}

struct Entry {
    fields: HashMap<String, Vec<u8>>,
    created_at: Option<SystemTime>,
    expires_at: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.sessions().values().filter(|e| e.is_live(now)).count()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map, even if a panic elsewhere poisoned the lock: every update below leaves
    /// the map consistent, so its contents stay good.
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.len())
            .finish()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        let now = Instant::now();
        let mut sessions = self.sessions();
        let Some(entry) = sessions.get_mut(key.as_str()).filter(|e| e.is_live(now)) else {
            return Ok(None);
        };
        let left = entry.expires_at.saturating_duration_since(now);
        let refresh = options
            .refresh_ttl
            .filter(|_| options.refresh_below.is_none_or(|below| left < below));
        if let Some(ttl) = refresh {
            entry.expires_at = now + clamp(ttl);
        }
        Ok(Some(Record {
            fields: entry.fields.clone(),
            created_at: entry.created_at,
            ttl: Some(entry.expires_at.saturating_duration_since(now)),
            refreshed: refresh.is_some(),
        }))
    }

    async fn commit(
        &self,
        key: &SessionKey,
        changes: &ChangeSet,
    ) -> Result<CommitOutcome, StoreError> {
        let now = Instant::now();
        let mut sessions = self.sessions();
        if self
            .inner
            .commits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            sessions.retain(|_, entry| entry.is_live(now));
        }
        let live = sessions.get(key.as_str()).is_some_and(|e| e.is_live(now));
        let entry = match (changes.mode, live) {
            (WriteMode::Create { .. }, true) => return Ok(CommitOutcome::Collision),
            (WriteMode::Update, false) => return Ok(CommitOutcome::Missing),
            (WriteMode::Create { created_at }, false) => sessions
                .entry(key.as_str().to_owned())
                .insert_entry(Entry {
                    fields: HashMap::new(),
                    created_at: Some(created_at),
                    expires_at: now,
                })
                .into_mut(),
            (WriteMode::Update, true) => match sessions.get_mut(key.as_str()) {
                Some(entry) => entry,
                None => return Ok(CommitOutcome::Missing),
            },
        };
        for (name, value) in &changes.set {
            entry.fields.insert(name.clone(), value.clone());
        }
        for name in &changes.remove {
            entry.fields.remove(name);
        }
        entry.expires_at = now + clamp(changes.ttl);
        Ok(CommitOutcome::Written)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let now = Instant::now();
        let removed = self.sessions().remove(key.as_str());
        Ok(removed.is_some_and(|entry| entry.is_live(now)))
    }
}

/// Keeps `Instant` arithmetic from overflowing on absurd TTLs (about 100 years is plenty).
fn clamp(ttl: Duration) -> Duration {
    ttl.min(Duration::from_secs(100 * 365 * 24 * 60 * 60))
}
