//! The store calls the three Redis stores share, each put together from the parts of this
//! folder: which layout's load or write, and where the per-user index changes go, as the
//! [`Topology`] allows. A store only finds a connection and decides whether a call may be
//! tried again (`retry.rs`); what is sent on the connection is decided here.

use redis::aio::ConnectionLike;

use super::retry::Attempt;
use super::scripts::Scripts;
use super::topology::Topology;
use super::{hash_commit, hash_load, increment, index, json};
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::{
    ChangeSet, CommitOutcome, Committed, EndedByCap, Increment, IndexKey, IndexMoves, Layout,
    Listed, LoadOptions, Record, SessionKey, WriteMode,
};

/// The session operations on Redis, for one topology, with the scripts they call.
pub(super) struct Operations {
    scripts: Scripts,
    topology: Topology,
}

impl Operations {
    /// The operations for a store of `topology`, with the scripts compiled (not yet loaded
    /// on any server: see [`preload`](Self::preload)).
    pub(super) fn new(topology: Topology) -> Self {
        Self {
            scripts: Scripts::new(),
            topology,
        }
    }

    /// Loads the scripts into the server's script cache (see [`Scripts::preload`]).
    pub(super) async fn preload<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> Result<(), StoreError> {
        self.scripts.preload(conn).await
    }

    /// Loads a session in one round trip, in the layout `options` names. `attempt` says
    /// whether an earlier try may have refreshed it (see `retry.rs`).
    pub(super) async fn load<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        options: LoadOptions,
        attempt: Attempt,
    ) -> Result<Option<Record>, StoreError> {
        let mut record = match options.layout {
            Layout::Json(_) => json::load(&self.scripts, conn, key, options).await?,
            _ => hash_load::load(&self.scripts, self.topology, conn, key, options).await?,
        };
        if let (Attempt::Again, Some(record), Some(_), Some(_)) = (
            attempt,
            record.as_mut(),
            options.refresh_ttl,
            options.refresh_below,
        ) {
            // The first try may have refreshed the time-to-live before its answer was
            // lost, and this one then finds plenty left: count it as refreshed, so the
            // cookie's expiry follows (sending it again is harmless).
            record.refreshed = true;
        }
        Ok(record)
    }

    /// Applies a change set with its index moves: inside the write's own script (one
    /// round trip) for the hash layout on one node; elsewhere (a cluster, where the index
    /// is in another slot, or the JSON layout, whose script knows no index) joins are sent
    /// before the write, then checked after it (an ending may have taken the session out
    /// meanwhile: it is then deleted), and leaves are sent after it. An index left over
    /// its cap is brought back to it. `attempt` says whether an earlier try may have
    /// landed (see `retry.rs`).
    pub(super) async fn commit<C: ConnectionLike + Clone + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        changes: &ChangeSet,
        attempt: Attempt,
    ) -> Result<Committed, StoreError> {
        let moves = &changes.index;
        let inline = self.topology == Topology::OneNode && changes.layout == Layout::Fields;
        let mut full = false;
        if !inline {
            match index::join(&self.scripts, conn, key, moves).await? {
                index::Joined::Refused => return Ok(CommitOutcome::Missing.into()),
                index::Joined::Yes { full: over } => full = over,
            }
        }
        let mut outcome = match changes.layout {
            Layout::Json(write) => json::commit(&self.scripts, conn, key, changes, write).await?,
            _ => {
                let (outcome, over) =
                    hash_commit::commit(&self.scripts, conn, key, changes, inline).await?;
                full |= over;
                outcome
            }
        };
        if let (Attempt::Again, WriteMode::Create { .. }, CommitOutcome::Collision) =
            (attempt, changes.mode, outcome)
        {
            // The first try landed before its connection died: the session found is the
            // one it wrote, with its index joins. No one else can have made it: a fresh
            // id is 128 random bits or more.
            outcome = CommitOutcome::Written;
        }
        if !inline {
            let entered = entered(moves);
            if outcome == CommitOutcome::Written && !index::still_in(conn, key, &entered).await? {
                // Signed out between the join and the write: the ending could not see the
                // session yet, so it goes now, before anyone is told it was saved.
                index::delete(self.topology, conn, key, &entered).await?;
                outcome = CommitOutcome::Missing;
            }
            // A refused write undoes its joins, so an id that collided with a live session
            // never lists that session in the wrong index.
            let leave = match outcome {
                CommitOutcome::Written => &moves.leave,
                _ => &entered,
            };
            index::leave(conn, key, leave).await?;
        }
        let mut committed = Committed::from(outcome);
        if full && outcome == CommitOutcome::Written {
            for index in &moves.join {
                let ended = index::make_room(&self.scripts, conn, index, moves.cap).await?;
                committed
                    .ended_by_cap
                    .extend(ended.into_iter().map(|id| EndedByCap {
                        index: index.clone(),
                        id,
                    }));
            }
        }
        Ok(committed)
    }

    /// Adds to one integer field of a live session (see `increment.rs`): one round trip
    /// on the hash layout; on the JSON layout one with the load's snapshot, two without,
    /// and more when another writer got in between. Never tried again: a repeat of one
    /// that landed would count twice.
    pub(super) async fn increment<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        match change.layout {
            Layout::Json(write) => increment::json(&self.scripts, conn, key, change, write).await,
            _ => increment::hash(&self.scripts, self.topology, conn, key, change).await,
        }
    }

    /// Deletes a session and takes it out of the indexes in `leave`.
    pub(super) async fn delete<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        leave: &[IndexKey],
    ) -> Result<bool, StoreError> {
        index::delete(self.topology, conn, key, leave).await
    }

    /// Deletes a session a renewal replaces, holding its index entries (see
    /// [`index::retire`]).
    pub(super) async fn retire<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        index::retire(&self.scripts, self.topology, conn, key, hold).await
    }

    /// The newest live sessions of an index (see [`index::list`]).
    pub(super) async fn index_list<C: ConnectionLike + Clone + Send>(
        &self,
        conn: &C,
        index: &IndexKey,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        index::list(&self.scripts, conn, index, limit).await
    }

    /// Ends the live sessions of an index but `keep` (see [`index::end`]).
    pub(super) async fn index_end<C: ConnectionLike + Clone + Send>(
        &self,
        conn: &C,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        index::end(&self.scripts, conn, index, keep).await
    }
}

/// Every index a commit puts its session into: the ones it joins and the ones it takes
/// over.
fn entered(moves: &IndexMoves) -> Vec<IndexKey> {
    let taken = moves.take_over.iter().flat_map(|take| &take.indexes);
    moves.join.iter().chain(taken).cloned().collect()
}
