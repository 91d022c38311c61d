//! Moving a deployment's sessions from one store to another (one Redis to a Redis Cluster,
//! say) with nobody logged out: [`MigratingStore`] wraps the old store and the new one.
//!
//! Reads look in the new store first, then in the old one. A session found only in the
//! old store moves to the new one on its first write (or on its first load, with
//! [`move_on_read`](MigratingStoreBuilder::move_on_read)): the whole record, with the
//! write's changes, its creation time and the indexes it recorded. Nothing but deletes
//! ever goes to the old store, so the old store's own guard refuses a late write to a
//! session that moved, as it refuses one to a session that was logged out.
//!
//! A session another request moves while this one looks for it is in the new store by
//! the time this one finds it gone from the old store (a move creates before it deletes),
//! so a call that finds it in neither store asks the new store once more before it
//! answers "no session": concurrent first requests of one session all find it.
//!
//! Why a move is ordered as it is: it creates the session in the new store (refused when
//! the key is taken there: another request moved it first), then deletes it from the old
//! one. A delete that finds nothing there means the session ended meanwhile (a logout, a
//! "sign out everywhere", its time-to-live), and the new copy is deleted again. Every
//! deletion goes to the old store first and to the new one after, so whichever order a
//! logout and a move interleave in, one of them deletes the new copy: a logout never
//! loses to a move.
//!
//! The old store may hold a Node package's JSON documents under its own keys
//! ([`old_format`](MigratingStoreBuilder::old_format)): a session read there is converted
//! once, as it is loaded (`envelope.rs` says what the package kept beside the app's keys
//! and when the document expires), and moves in the new store's field layout. The old
//! store only ever loads and deletes, so the ordering above holds across layouts: the
//! old copy is one key, whatever it holds.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::time::MAX_TTL;
use super::{
    recorded_indexes, ChangeSet, CommitOutcome, Committed, EndedByCap, Increment, IndexKey,
    IndexMoves, Layout, Listed, LoadOptions, Record, SessionKey, SessionStore, WriteMode,
};
use crate::compat::Compat;
use crate::envelope::Wrapping;
use crate::error::StoreError;
use crate::id::SessionId;

/// A store that moves sessions from an `Old` store to a `New` one as they are used, so a
/// deployment changes stores without logging anybody out. See
/// `docs/migrating-stores.md` for how to deploy it and how to know the move is over.
///
/// - A load looks in the new store, then in the old one.
/// - The first write (a commit or an increment) of a session found only in the old store
///   moves it whole to the new store, then applies the write there. With
///   [`move_on_read`](MigratingStoreBuilder::move_on_read), its first load moves it.
/// - A delete (logout, renewal, absolute timeout) deletes in both stores.
/// - An index listing is the union of both stores' lists, and ending an index ends its
///   sessions in both: "sign out everywhere" works while the move goes on.
/// - New sessions are created in the new store only, and nothing but deletes goes to the
///   old store.
///
/// The new store is read and written in the field layout ([`Layout::Fields`]). A call in
/// the JSON layout of the Node presets is refused with [`StoreError::Unsupported`]: that
/// layout exists to share sessions with a Node app, which would go on reading the old
/// store. The old store is read in the field layout under the same keys, unless
/// [`old_format`](MigratingStoreBuilder::old_format) names the Node package whose JSON
/// documents it holds: sessions then move from that layout to the field layout (leaving
/// the Node app behind).
///
/// A request on a session that has moved costs what it costs on the new store alone, but
/// for deletions, which also send a delete to the old store, and index listings and
/// endings, which also ask the old store.
///
/// ```
/// use actix_typed_session::store::{MemoryStore, MigratingStore};
///
/// let store = MigratingStore::builder(MemoryStore::new(), MemoryStore::new())
///     .move_on_read(true)
///     .build();
/// ```
#[derive(Debug, Clone)]
pub struct MigratingStore<Old, New> {
    old: Old,
    new: New,
    move_on_read: bool,
    old_format: OldFormat,
}

/// How the old store holds sessions: in which layout, inside which Node envelope, under
/// which key prefix.
#[derive(Debug, Clone)]
struct OldFormat {
    layout: Layout,
    wrapping: Wrapping,
    /// `None`: the middleware's own prefix.
    prefix: Option<String>,
}

impl<Old: SessionStore, New: SessionStore> MigratingStore<Old, New> {
    /// Moves sessions from `old` to `new` on their first write.
    pub fn new(old: Old, new: New) -> Self {
        Self::builder(old, new).build()
    }

    /// A builder, for a store that moves sessions on their first load.
    pub fn builder(old: Old, new: New) -> MigratingStoreBuilder<Old, New> {
        MigratingStoreBuilder {
            store: Self {
                old,
                new,
                move_on_read: false,
                old_format: OldFormat {
                    layout: Layout::Fields,
                    wrapping: Wrapping::Plain,
                    prefix: None,
                },
            },
        }
    }

    /// The store sessions move from, to count what is left in it (for example with
    /// [`RedisStore::count_sessions`](crate::store::RedisStore::count_sessions)).
    pub fn old_store(&self) -> &Old {
        &self.old
    }

    /// The store sessions move to.
    pub fn new_store(&self) -> &New {
        &self.new
    }

    /// The session as the old store holds it now, without refreshing it.
    async fn load_old(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        self.load_in_old(key, LoadOptions::default()).await
    }

    /// The session as the old store holds it, as a record of the field layout. A Node
    /// document comes without its envelope (`None` once it has expired by its own
    /// account), loaded without a refresh, which would not move the expiry it states.
    async fn load_in_old(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        let key = self.old_key(key);
        let format = &self.old_format;
        if format.layout == Layout::Fields {
            return self.old.load(&key, options).await;
        }
        let options = LoadOptions {
            layout: format.layout,
            ..LoadOptions::default()
        };
        let record = self.old.load(&key, options).await?;
        Ok(record.and_then(|record| format.wrapping.unwrapped(record)))
    }

    /// The session's key in the old store.
    fn old_key<'k>(&self, key: &'k SessionKey) -> Cow<'k, SessionKey> {
        match &self.old_format.prefix {
            Some(prefix) => Cow::Owned(key.with_prefix(prefix)),
            None => Cow::Borrowed(key),
        }
    }

    /// An index's key in the old store.
    fn old_index<'k>(&self, index: &'k IndexKey) -> Cow<'k, IndexKey> {
        match &self.old_format.prefix {
            Some(prefix) => Cow::Owned(index.with_prefix(prefix)),
            None => Cow::Borrowed(index),
        }
    }

    /// The indexes' keys in the old store.
    fn old_indexes<'k>(&self, indexes: &'k [IndexKey]) -> Cow<'k, [IndexKey]> {
        match &self.old_format.prefix {
            Some(_) => indexes
                .iter()
                .map(|index| self.old_index(index).into_owned())
                .collect(),
            None => Cow::Borrowed(indexes),
        }
    }

    /// Deletes the session in the old store, taking it out of the indexes `leave`.
    async fn delete_old(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        self.old
            .delete(&self.old_key(key), &self.old_indexes(leave))
            .await
    }

    /// Moves the session `record` (as the old store holds it) to the new store, with the
    /// changes of `update` applied, joining besides what it records the indexes `hold`.
    async fn move_record(
        &self,
        key: &SessionKey,
        record: &Record,
        update: Option<&ChangeSet>,
        hold: &[IndexKey],
    ) -> Result<Move, StoreError> {
        let create = create_in_new(key, record, update, hold);
        let committed = self.new.commit(key, &create).await?;
        match committed.outcome {
            CommitOutcome::Written => {}
            CommitOutcome::Collision => return Ok(Move::Elsewhere),
            // Only a renewal's take-over refuses a create so, and a move takes none over.
            CommitOutcome::Missing => return Ok(Move::Gone),
        }
        // The old copy's index entries go with it, so the old store lists it no more: those
        // it recorded, those the update leaves, and those it joins here, which a Node
        // document (it records none) may have been in there.
        let mut left = recorded_indexes(key.prefix(), &record.fields);
        if let Some(update) = update {
            left.extend(update.index.leave.iter().cloned());
        }
        for joined in &create.index.join {
            if !left.contains(joined) {
                left.push(joined.clone());
            }
        }
        if self.delete_old(key, &left).await? {
            return Ok(Move::Moved(committed.ended_by_cap));
        }
        // Ended between the load and the delete: the new copy must not outlive it.
        self.new.delete(key, &create.index.join).await?;
        Ok(Move::Gone)
    }
}

/// Builds a [`MigratingStore`].
#[must_use]
#[derive(Debug, Clone)]
pub struct MigratingStoreBuilder<Old, New> {
    store: MigratingStore<Old, New>,
}

impl<Old: SessionStore, New: SessionStore> MigratingStoreBuilder<Old, New> {
    /// Whether a load that finds a session in the old store moves it to the new one at
    /// once (default `false`: it moves on its first write). Moving on load empties the
    /// old store sooner, since sessions that are only read move too, at the cost of three
    /// more round trips on the first request of each session (a load and a delete in the
    /// old store, a create in the new one).
    pub fn move_on_read(mut self, on: bool) -> Self {
        self.store.move_on_read = on;
        self
    }

    /// The old store holds the JSON documents of the Node package `compat` stands for
    /// (default: this library's field layout), under that package's keys (koa-session's
    /// bare id, connect-redis' `sess:`...; see [`old_key_prefix`](Self::old_key_prefix)).
    /// A session found there moves in the new store's field layout: the app's keys become
    /// fields (keys no struct knows included), what the package kept beside them
    /// (koa-session's `_expire` and `_maxAge`, express-session's `cookie`) is dropped, and
    /// the session lives in the new store as long as it had left (a koa-session document
    /// whose `_expire` has passed is no session). The document holds no creation time, so
    /// an [`absolute_timeout`](crate::SessionMiddlewareBuilder::absolute_timeout) counts
    /// from the move. A document that is not a JSON object is no session.
    ///
    /// The middleware keeps reading the Node app's cookies with the same preset, storing
    /// in the field layout
    /// ([`store_layout(Layout::Fields)`](crate::SessionMiddlewareBuilder::store_layout)).
    ///
    /// [`Compat::KoaSessionCookie`] keeps its sessions in the clients' cookies, not in a
    /// store: an old store read in its format finds no session, and a move from
    /// koa-session's cookie mode to a store is not something this store does.
    ///
    /// ```
    /// use actix_typed_session::store::{Layout, MemoryStore, MigratingStore};
    /// use actix_typed_session::{Compat, Keys, SessionMiddleware};
    ///
    /// let store = MigratingStore::builder(MemoryStore::new(), MemoryStore::new())
    ///     .old_format(Compat::KoaSession)
    ///     .build();
    /// let keys = Keys::new(["the Koa app's key"]).allow_short_keys();
    /// let sessions = SessionMiddleware::builder(store, keys)
    ///     .compat(Compat::KoaSession)
    ///     .store_layout(Layout::Fields)
    ///     .key_prefix("session:")
    ///     .build();
    /// ```
    pub fn old_format(mut self, compat: Compat) -> Self {
        let preset = compat.preset();
        self.store.old_format = OldFormat {
            layout: preset.layout,
            wrapping: preset.envelope,
            prefix: Some(preset.key_prefix.to_owned()),
        };
        self
    }

    /// The key prefix of the old store's sessions, when it is not the middleware's (with
    /// [`old_format`](Self::old_format), the Node package's default): a koa-session
    /// `prefix`, a connect-redis `prefix`. Index keys are read under it too.
    pub fn old_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.store.old_format.prefix = Some(prefix.into());
        self
    }

    /// The store.
    pub fn build(self) -> MigratingStore<Old, New> {
        self.store
    }
}

/// How a move of one session to the new store ended.
enum Move {
    /// It is in the new store now, and no longer in the old one. Joining its indexes
    /// there ended these sessions for the cap.
    Moved(Vec<EndedByCap>),
    /// Another request moved it first: it is in the new store.
    Elsewhere,
    /// It is in neither store: it ended while it moved.
    Gone,
}

/// The create that puts `record`, changed by `update`, in the new store: its fields, its
/// creation time, the time-to-live it has left (or the update's), and the indexes it is
/// in. Checked for a taken key, so a move never overwrites a session another request
/// moved first.
fn create_in_new(
    key: &SessionKey,
    record: &Record,
    update: Option<&ChangeSet>,
    hold: &[IndexKey],
) -> ChangeSet {
    let mut fields = record.fields.clone();
    // A move ends nobody: no cap, unless the update is a login that must make room.
    let mut index = IndexMoves {
        cap: usize::MAX,
        ..IndexMoves::default()
    };
    let mut ttl = record.ttl.unwrap_or(MAX_TTL);
    let mut created_at = record.created_at;
    if let Some(update) = update {
        fields.extend(update.set.iter().cloned());
        for name in &update.remove {
            fields.remove(name);
        }
        index = update.index.clone();
        ttl = update.ttl;
        if let WriteMode::Update {
            created_at: Some(at),
        } = update.mode
        {
            created_at = created_at.or(Some(at));
        }
    }
    // In the new store it is in no index yet: it joins every one it is in after the write.
    let left = std::mem::take(&mut index.leave);
    index.take_over = None;
    for joined in recorded_indexes(key.prefix(), &fields).iter().chain(hold) {
        if !index.join.contains(joined) && !left.contains(joined) {
            index.join.push(joined.clone());
        }
    }
    ChangeSet {
        mode: WriteMode::Create {
            created_at: created_at.unwrap_or_else(SystemTime::now),
        },
        set: fields.into_iter().collect(),
        remove: Vec::new(),
        ttl: ttl.max(Duration::from_millis(1)),
        ttl_current: false,
        layout: Layout::Fields,
        base: None,
        index,
        fresh_id: false,
    }
}

/// Refuses the JSON layout (see [`MigratingStore`]).
fn fields_only(layout: Layout) -> Result<(), StoreError> {
    match layout {
        Layout::Fields => Ok(()),
        _ => Err(StoreError::Unsupported(
            "MigratingStore moves sessions in the field layout only, not in a Node preset's \
             JSON layout"
                .into(),
        )),
    }
}

#[async_trait]
impl<Old: SessionStore, New: SessionStore> SessionStore for MigratingStore<Old, New> {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        fields_only(options.layout)?;
        if let Some(record) = self.new.load(key, options).await? {
            return Ok(Some(record));
        }
        let Some(record) = self.load_in_old(key, options).await? else {
            // Another request may have moved it between the two loads.
            return self.new.load(key, options).await;
        };
        if !self.move_on_read {
            return Ok(Some(record));
        }
        match self.move_record(key, &record, None, &[]).await? {
            // A load reports no events: sessions its move ended for the cap go unreported.
            Move::Moved(_) => Ok(Some(record)),
            Move::Elsewhere => self.new.load(key, options).await,
            Move::Gone => Ok(None),
        }
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        fields_only(changes.layout)?;
        if let WriteMode::Create { .. } = changes.mode {
            // A key taken in either store is taken; a freshly generated id is taken in
            // neither (see `ChangeSet::fresh_id`).
            if !changes.fresh_id && self.load_old(key).await?.is_some() {
                return Ok(CommitOutcome::Collision.into());
            }
            return self.new.commit(key, changes).await;
        }
        let committed = self.new.commit(key, changes).await?;
        if committed != CommitOutcome::Missing {
            return Ok(committed);
        }
        let Some(record) = self.load_old(key).await? else {
            return self.new.commit(key, changes).await;
        };
        match self.move_record(key, &record, Some(changes), &[]).await? {
            Move::Moved(ended_by_cap) => Ok(Committed {
                outcome: CommitOutcome::Written,
                ended_by_cap,
            }),
            Move::Elsewhere => self.new.commit(key, changes).await,
            Move::Gone => Ok(CommitOutcome::Missing.into()),
        }
    }

    /// In the old store first, then in the new one (see the module's docs for why).
    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let old = self.delete_old(key, leave).await?;
        let new = self.new.delete(key, leave).await?;
        Ok(old || new)
    }

    /// A renewal's first step happens in the new store, where its create takes the
    /// session's place in its indexes: a session still in the old store moves first.
    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        if let Some(record) = self.new.retire(key, hold).await? {
            // A copy left in the old store (a move whose delete failed) must go too.
            self.delete_old(key, &[]).await?;
            return Ok(Some(record));
        }
        let Some(record) = self.load_old(key).await? else {
            return self.new.retire(key, hold).await;
        };
        if let Move::Gone = self.move_record(key, &record, None, hold).await? {
            return Ok(None);
        }
        self.new.retire(key, hold).await
    }

    /// The new store's sessions first (those in use lately), then the old store's.
    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        let mut listed = self.new.index_list(index, limit).await?;
        if listed.len() < limit {
            // A session moved while the two listings ran shows in both: once is enough.
            for old in self.old.index_list(&self.old_index(index), limit).await? {
                if !listed.iter().any(|new| new.id == old.id) {
                    listed.push(old);
                }
            }
            listed.truncate(limit);
        }
        Ok(listed)
    }

    /// In the old store first, then in the new one, as a delete.
    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut ended = self.old.index_end(&self.old_index(index), keep).await?;
        // A session being moved may have been in both: it ended once.
        for id in self.new.index_end(index, keep).await? {
            if !ended.contains(&id) {
                ended.push(id);
            }
        }
        Ok(ended)
    }

    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        fields_only(change.layout)?;
        if let Some(value) = self.new.increment(key, change).await? {
            return Ok(Some(value));
        }
        let Some(record) = self.load_old(key).await? else {
            return self.new.increment(key, change).await;
        };
        match self.move_record(key, &record, None, &[]).await? {
            Move::Moved(_) | Move::Elsewhere => self.new.increment(key, change).await,
            Move::Gone => Ok(None),
        }
    }
}
