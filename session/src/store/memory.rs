//! An in-process store: the default for development and tests, with the same semantics as
//! the Redis store (guarded writes, time-to-live), and nothing shared between processes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;

use super::document::Document;
use super::time::clamp_ttl;
use super::{
    ChangeSet, CommitOutcome, IndexKey, Layout, LoadOptions, Record, SessionKey, SessionStore,
    Snapshot, WriteMode,
};
use crate::error::StoreError;
use crate::id::SessionId;

/// Every this many commits, expired sessions are swept out so memory stays bounded.
const SWEEP_EVERY: usize = 1024;

/// Sessions kept in this process's memory. Clones share the same sessions.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    data: Mutex<Data>,
    commits: AtomicUsize,
}

/// Sessions and per-user indexes under one lock, so a commit moves both at once.
#[derive(Default)]
struct Data {
    sessions: HashMap<String, Entry>,
    indexes: HashMap<String, Index>,
}

struct Entry {
    stored: Stored,
    created_at: Option<SystemTime>,
    expires_at: Instant,
}

/// A session in the form its layout gives it.
enum Stored {
    Fields(HashMap<String, Vec<u8>>),
    /// The JSON text, kept as written so a load hands back the same bytes as Redis would.
    Json(Vec<u8>),
}

impl Stored {
    fn empty(layout: Layout) -> Self {
        match layout {
            Layout::Json(_) => Stored::Json(b"{}".to_vec()),
            _ => Stored::Fields(HashMap::new()),
        }
    }
}

/// Like Redis' `WRONGTYPE`: the session was written in another layout.
fn wrong_layout() -> StoreError {
    StoreError::Protocol("the session is stored in another layout".into())
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// The ids in one per-user index.
struct Index {
    ids: HashSet<String>,
    expires_at: Option<Instant>,
}

impl Index {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl Data {
    fn is_live(&self, key: &str, now: Instant) -> bool {
        self.sessions.get(key).is_some_and(|e| e.is_live(now))
    }

    /// The live index under `key`, without the ids of sessions that are gone.
    fn pruned_index(&mut self, index: &IndexKey, now: Instant) -> Option<&mut Index> {
        let Data { sessions, indexes } = self;
        let entry = indexes.get_mut(index.as_str()).filter(|i| i.is_live(now))?;
        entry.ids.retain(|id| {
            SessionId::parse_any(id).is_some_and(|id| {
                sessions
                    .get(index.session_key(&id).as_str())
                    .is_some_and(|e| e.is_live(now))
            })
        });
        Some(entry)
    }

    fn leave(&mut self, indexes: &[IndexKey], id: &str) {
        for index in indexes {
            if let Some(entry) = self.indexes.get_mut(index.as_str()) {
                entry.ids.remove(id);
                if entry.ids.is_empty() {
                    self.indexes.remove(index.as_str());
                }
            }
        }
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
        self.data()
            .sessions
            .values()
            .filter(|e| e.is_live(now))
            .count()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The maps, even if a panic elsewhere poisoned the lock: every update below leaves
    /// them consistent, so their contents stay good.
    fn data(&self) -> MutexGuard<'_, Data> {
        self.inner
            .data
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
        let mut data = self.data();
        let Some(entry) = data
            .sessions
            .get_mut(key.as_str())
            .filter(|e| e.is_live(now))
        else {
            return Ok(None);
        };
        let left = entry.expires_at.saturating_duration_since(now);
        let refresh = options
            .refresh_ttl
            .filter(|_| options.refresh_below.is_none_or(|below| left < below));
        let (fields, snapshot) = match (&entry.stored, options.layout) {
            (Stored::Fields(fields), Layout::Fields) => (fields.clone(), None),
            (Stored::Json(raw), Layout::Json(_)) => match Document::parse(raw) {
                Some(document) => (document.fields(), Some(Snapshot::new(raw.clone()))),
                None => return Ok(None),
            },
            _ => return Err(wrong_layout()),
        };
        if let Some(ttl) = refresh {
            entry.expires_at = now + clamp_ttl(options.layout.stored_ttl(ttl));
        }
        Ok(Some(Record {
            fields,
            created_at: entry.created_at,
            ttl: Some(entry.expires_at.saturating_duration_since(now)),
            refreshed: refresh.is_some(),
            snapshot,
        }))
    }

    async fn commit(
        &self,
        key: &SessionKey,
        changes: &ChangeSet,
    ) -> Result<CommitOutcome, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        if self
            .inner
            .commits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            data.sessions.retain(|_, entry| entry.is_live(now));
            data.indexes.retain(|_, index| index.is_live(now));
        }
        let live = data.is_live(key.as_str(), now);
        let sessions = &mut data.sessions;
        let entry = match (changes.mode, live) {
            (WriteMode::Create { .. }, true) => return Ok(CommitOutcome::Collision),
            (WriteMode::Update { .. }, false) => return Ok(CommitOutcome::Missing),
            (WriteMode::Create { created_at }, false) => {
                let (stored, created_at) = match (changes.layout, &changes.base) {
                    // A renewal starts from the session it renews, in its key order.
                    (Layout::Json(_), Some(base)) if Document::parse(base.as_bytes()).is_some() => {
                        (Stored::Json(base.as_bytes().to_vec()), None)
                    }
                    (Layout::Json(_), _) => (Stored::empty(changes.layout), None),
                    _ => (Stored::empty(changes.layout), Some(created_at)),
                };
                sessions
                    .entry(key.as_str().to_owned())
                    .insert_entry(Entry {
                        stored,
                        created_at,
                        expires_at: now,
                    })
                    .into_mut()
            }
            (WriteMode::Update { .. }, true) => match sessions.get_mut(key.as_str()) {
                Some(entry) => entry,
                None => return Ok(CommitOutcome::Missing),
            },
        };
        // Nothing can change between the check above and the write below: the lock is
        // held, so the merge is into the current session whatever `changes.base` says.
        match (&mut entry.stored, changes.layout) {
            (Stored::Fields(fields), Layout::Fields) => {
                for (name, value) in &changes.set {
                    fields.insert(name.clone(), value.clone());
                }
                for name in &changes.remove {
                    fields.remove(name);
                }
            }
            (Stored::Json(raw), Layout::Json(_)) => {
                let Some(mut document) = Document::parse(raw) else {
                    return Ok(CommitOutcome::Missing);
                };
                document.apply(&changes.set, &changes.remove)?;
                *raw = document.to_bytes();
            }
            _ => return Err(wrong_layout()),
        }
        entry.expires_at = now + clamp_ttl(changes.layout.stored_ttl(changes.ttl));
        // Under the same lock as the write, so the indexes move with it or not at all.
        let index_moves = &changes.index;
        let until = index_moves.ttl.map(|ttl| now + clamp_ttl(ttl));
        for index in &index_moves.join {
            let fresh = || Index {
                ids: HashSet::new(),
                expires_at: until,
            };
            let entry = data
                .indexes
                .entry(index.as_str().to_owned())
                .or_insert_with(fresh);
            if !entry.is_live(now) {
                *entry = fresh();
            }
            entry.ids.insert(key.id().to_owned());
            // Only ever lengthened: `None` is no expiry at all.
            entry.expires_at = entry.expires_at.zip(until).map(|(at, until)| at.max(until));
        }
        data.leave(&index_moves.leave, key.id());
        Ok(CommitOutcome::Written)
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let removed = data.sessions.remove(key.as_str());
        data.leave(leave, key.id());
        Ok(removed.is_some_and(|entry| entry.is_live(now)))
    }

    async fn index_list(&self, index: &IndexKey) -> Result<Vec<SessionId>, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let Some(entry) = data.pruned_index(index, now) else {
            return Ok(Vec::new());
        };
        Ok(entry
            .ids
            .iter()
            .filter_map(|id| SessionId::parse_any(id))
            .collect())
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let Some(entry) = data.pruned_index(index, now) else {
            return Ok(0);
        };
        let ended: Vec<String> = entry
            .ids
            .iter()
            .filter(|id| keep.is_none_or(|keep| keep.as_str() != id.as_str()))
            .cloned()
            .collect();
        entry.ids.retain(|id| !ended.contains(id));
        if entry.ids.is_empty() {
            data.indexes.remove(index.as_str());
        }
        for id in &ended {
            if let Some(id) = SessionId::parse_any(id) {
                data.sessions.remove(index.session_key(&id).as_str());
            }
        }
        Ok(ended.len())
    }
}
