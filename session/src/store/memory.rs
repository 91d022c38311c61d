//! An in-process store: the default for development and tests, with the same semantics as
//! the Redis store (guarded writes, time-to-live), and nothing shared between processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;

use super::document::Document;
use super::time::clamp_ttl;
use super::{
    ChangeSet, CommitOutcome, Committed, EndedByCap, Increment, IndexKey, IndexMoves, Layout,
    Listed, LoadOptions, Record, SessionKey, SessionStore, Snapshot, WriteMode, DEVICE_FIELD,
    INDEX_GRACE,
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
    /// The session as a record, in the layout it was written in, as a load or a
    /// retirement hands it back. `None` for a JSON text that is no document (no session).
    fn record(&self, now: Instant) -> Option<Record> {
        let (fields, snapshot) = match &self.stored {
            Stored::Fields(fields) => (fields.clone(), None),
            Stored::Json(raw) => (
                Document::parse(raw)?.fields(),
                Some(Snapshot::new(raw.clone())),
            ),
        };
        Some(Record {
            fields,
            created_at: self.created_at,
            ttl: Some(self.expires_at.saturating_duration_since(now)),
            refreshed: false,
            snapshot,
        })
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// The ids in one per-user index, each with when it joined (or was last held for a
/// renewal). Every change is O(1) per id; only listing, ending and making room (past the
/// cap, so bounded by it) walk the ids.
struct Index {
    ids: HashMap<String, Instant>,
    expires_at: Option<Instant>,
    /// The key prefix of its sessions.
    session_prefix: String,
}

impl Index {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether the session of member `id` is live.
    fn holds_live(&self, sessions: &HashMap<String, Entry>, id: &str, now: Instant) -> bool {
        member_is_live(sessions, &self.session_prefix, id, now)
    }

    /// Drops the members whose sessions are gone, once past the grace period.
    fn drop_stale(&mut self, sessions: &HashMap<String, Entry>, now: Instant) {
        let Index {
            ids,
            session_prefix,
            ..
        } = self;
        ids.retain(|id, joined| {
            member_is_live(sessions, session_prefix, id, now)
                || now.saturating_duration_since(*joined) <= INDEX_GRACE
        });
    }
}

/// Whether the session `id`, stored under `prefix`, is live.
fn member_is_live(sessions: &HashMap<String, Entry>, prefix: &str, id: &str, now: Instant) -> bool {
    sessions
        .get(&format!("{prefix}{id}"))
        .is_some_and(|entry| entry.is_live(now))
}

impl Data {
    fn is_live(&self, key: &str, now: Instant) -> bool {
        self.sessions.get(key).is_some_and(|e| e.is_live(now))
    }

    /// The session under `key`, if it is live.
    fn live_entry(&mut self, key: &SessionKey, now: Instant) -> Option<&mut Entry> {
        self.sessions
            .get_mut(key.as_str())
            .filter(|entry| entry.is_live(now))
    }

    /// Drops expired sessions, and index entries whose sessions are gone (past the grace
    /// period), and indexes left empty: memory stays bounded by the live sessions.
    fn sweep(&mut self, now: Instant) {
        let Data { sessions, indexes } = self;
        sessions.retain(|_, entry| entry.is_live(now));
        indexes.retain(|_, index| {
            index.drop_stale(sessions, now);
            index.is_live(now) && !index.ids.is_empty()
        });
    }

    /// The live index under `key`.
    fn index(&self, index: &IndexKey, now: Instant) -> Option<&Index> {
        self.indexes.get(index.as_str()).filter(|i| i.is_live(now))
    }

    /// The ids of `index` whose sessions are live, newest first, and drops the entries
    /// of sessions that are gone once past the grace period.
    fn live_ids(&mut self, index: &IndexKey, now: Instant) -> Vec<(String, Instant)> {
        let Data { sessions, indexes } = self;
        let Some(entry) = indexes.get_mut(index.as_str()).filter(|i| i.is_live(now)) else {
            return Vec::new();
        };
        entry.drop_stale(sessions, now);
        let mut ids: Vec<(String, Instant)> = entry
            .ids
            .iter()
            .filter(|(id, _)| entry.holds_live(sessions, id, now))
            .map(|(id, joined)| (id.clone(), *joined))
            .collect();
        ids.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ids
    }

    /// Whether `from` is in every index of a renewal's take-over: only then may the renewal
    /// take its place (see [`super::TakeOver`]).
    fn may_take_over(&self, moves: &IndexMoves, now: Instant) -> bool {
        moves.take_over.as_ref().is_none_or(|take| {
            take.indexes.iter().all(|index| {
                self.index(index, now)
                    .is_some_and(|entry| entry.ids.contains_key(take.from.as_str()))
            })
        })
    }

    /// Puts `id` into its indexes as `moves` says, under the lock of the write. Returns
    /// the sessions ended to keep the indexes it joined within their cap.
    fn enter(&mut self, moves: &IndexMoves, id: &str, now: Instant) -> Vec<EndedByCap> {
        let until = moves.ttl.map(|ttl| now + clamp_ttl(ttl));
        let taken = moves.take_over.iter().flat_map(|take| {
            take.indexes
                .iter()
                .map(move |index| (index, Some(take.from.as_str())))
        });
        let joined = moves.join.iter().map(|index| (index, None));
        for (index, replaces) in joined.chain(taken) {
            let fresh = || Index {
                ids: HashMap::new(),
                expires_at: until,
                session_prefix: index.session_prefix.clone(),
            };
            let entry = self
                .indexes
                .entry(index.as_str().to_owned())
                .or_insert_with(fresh);
            if !entry.is_live(now) {
                *entry = fresh();
            }
            if let Some(old) = replaces {
                entry.ids.remove(old);
            }
            entry.ids.insert(id.to_owned(), now);
            // Only ever lengthened: `None` is no expiry at all.
            entry.expires_at = entry.expires_at.zip(until).map(|(at, until)| at.max(until));
        }
        moves
            .join
            .iter()
            .flat_map(|index| self.make_room(index, moves.cap, now))
            .collect()
    }

    /// Brings `index` back to `cap` ids: stale entries go first, then the live sessions
    /// that joined longest ago end. Returns those.
    fn make_room(&mut self, index: &IndexKey, cap: usize, now: Instant) -> Vec<EndedByCap> {
        if self
            .index(index, now)
            .is_none_or(|entry| entry.ids.len() <= cap)
        {
            return Vec::new();
        }
        let live = self.live_ids(index, now);
        live.iter()
            .skip(cap)
            .filter_map(|(id, _)| self.end(index, id))
            .map(|id| EndedByCap {
                index: index.clone(),
                id,
            })
            .collect()
    }

    /// Takes `id` out of `index` and ends its session; returns it if it was a session id.
    fn end(&mut self, index: &IndexKey, id: &str) -> Option<SessionId> {
        if let Some(entry) = self.indexes.get_mut(index.as_str()) {
            entry.ids.remove(id);
        }
        let id = SessionId::parse_any(id)?;
        self.sessions.remove(index.session_key(&id).as_str());
        Some(id)
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

    /// How many live sessions have a key starting with `prefix`: with the middleware's
    /// key prefix, whether a [`MigratingStore`](super::MigratingStore) has moved every
    /// session out of this store.
    pub fn count_sessions(&self, prefix: &str) -> usize {
        let now = Instant::now();
        self.data()
            .sessions
            .iter()
            .filter(|(key, entry)| key.starts_with(prefix) && entry.is_live(now))
            .count()
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
        let Some(entry) = data.live_entry(key, now) else {
            return Ok(None);
        };
        let left = entry.expires_at.saturating_duration_since(now);
        let refresh = options
            .refresh_ttl
            .filter(|_| options.refresh_below.is_none_or(|below| left < below));
        match (&entry.stored, options.layout) {
            (Stored::Fields(_), Layout::Fields) | (Stored::Json(_), Layout::Json(_)) => {}
            _ => return Err(wrong_layout()),
        }
        let Some(mut record) = entry.record(now) else {
            return Ok(None);
        };
        if let Some(ttl) = refresh {
            entry.expires_at = now + clamp_ttl(options.layout.stored_ttl(ttl));
            record.ttl = Some(entry.expires_at.saturating_duration_since(now));
            record.refreshed = true;
        }
        Ok(Some(record))
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        if self
            .inner
            .commits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            data.sweep(now);
        }
        let live = data.is_live(key.as_str(), now);
        if !data.may_take_over(&changes.index, now) {
            return Ok(CommitOutcome::Missing.into());
        }
        let sessions = &mut data.sessions;
        let entry = match (changes.mode, live) {
            (WriteMode::Create { .. }, true) => return Ok(CommitOutcome::Collision.into()),
            (WriteMode::Update { .. }, false) => return Ok(CommitOutcome::Missing.into()),
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
                None => return Ok(CommitOutcome::Missing.into()),
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
                    return Ok(CommitOutcome::Missing.into());
                };
                document.apply(&changes.set, &changes.remove)?;
                *raw = document.to_bytes();
            }
            _ => return Err(wrong_layout()),
        }
        entry.expires_at = now + clamp_ttl(changes.layout.stored_ttl(changes.ttl));
        // Under the same lock as the write, so the indexes move with it or not at all.
        let ended_by_cap = data.enter(&changes.index, key.id(), now);
        data.leave(&changes.index.leave, key.id());
        Ok(Committed {
            outcome: CommitOutcome::Written,
            ended_by_cap,
        })
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let removed = data.sessions.remove(key.as_str());
        data.leave(leave, key.id());
        Ok(removed.is_some_and(|entry| entry.is_live(now)))
    }

    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let removed = data.sessions.remove(key.as_str());
        for index in hold {
            if let Some(joined) = data
                .indexes
                .get_mut(index.as_str())
                .and_then(|entry| entry.ids.get_mut(key.id()))
            {
                *joined = now;
            }
        }
        Ok(removed
            .filter(|entry| entry.is_live(now))
            .and_then(|entry| entry.record(now)))
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let ids = data.live_ids(index, now);
        Ok(ids
            .iter()
            .take(limit)
            .filter_map(|(id, _)| SessionId::parse_any(id))
            .map(|id| {
                let entry = data.sessions.get(index.session_key(&id).as_str());
                Listed {
                    created_at: entry.and_then(|entry| entry.created_at),
                    ttl: entry.map(|entry| entry.expires_at.saturating_duration_since(now)),
                    device: entry.and_then(|entry| match &entry.stored {
                        Stored::Fields(fields) => fields.get(DEVICE_FIELD).cloned(),
                        Stored::Json(_) => None,
                    }),
                    id,
                }
            })
            .collect())
    }

    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let Some(entry) = data.live_entry(key, now) else {
            return Ok(None);
        };
        // Under the lock: nothing changes between the read and the write.
        let value = match (&mut entry.stored, change.layout) {
            (Stored::Fields(fields), Layout::Fields) => {
                let value = change.apply(fields.get(&change.field).map(Vec::as_slice))?;
                fields.insert(change.field.clone(), value.to_string().into_bytes());
                fields.extend(change.set.iter().cloned());
                value
            }
            (Stored::Json(raw), Layout::Json(_)) => {
                let Some(mut document) = Document::parse(raw) else {
                    return Ok(None);
                };
                let stored = document.fields().remove(&change.field);
                let value = change.apply(stored.as_deref())?;
                let mut set = change.set.clone();
                set.push((change.field.clone(), value.to_string().into_bytes()));
                document.apply(&set, &[])?;
                *raw = document.to_bytes();
                value
            }
            _ => return Err(wrong_layout()),
        };
        entry.expires_at = now + clamp_ttl(change.layout.stored_ttl(change.ttl));
        Ok(Some(value))
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let now = Instant::now();
        let mut data = self.data();
        let Some(entry) = data.indexes.get_mut(index.as_str()) else {
            return Ok(Vec::new());
        };
        let kept = keep.and_then(|keep| entry.ids.remove_entry(keep.as_str()));
        let ended = std::mem::take(&mut entry.ids);
        entry.ids.extend(kept);
        if entry.ids.is_empty() {
            data.indexes.remove(index.as_str());
        }
        let mut live = Vec::new();
        for id in ended.keys().filter_map(|id| SessionId::parse_any(id)) {
            let removed = data.sessions.remove(index.session_key(&id).as_str());
            if removed.is_some_and(|entry| entry.is_live(now)) {
                live.push(id);
            }
        }
        Ok(live)
    }
}
