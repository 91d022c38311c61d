//! The store calls the three Redis stores share, each put together from the parts of this
//! folder: which layout's load or write, and where the per-user index changes go, as the
//! [`Topology`] allows. A store only finds a connection and decides whether a call may be
//! tried again (`retry.rs`); what is sent on the connection is decided here.

use redis::aio::ConnectionLike;

use super::retry::Attempt;
use super::scripts::Scripts;
use super::topology::Topology;
use super::{hash_commit, hash_load, index, json};
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::{
    ChangeSet, CommitOutcome, IndexKey, Layout, LoadOptions, Record, SessionKey, WriteMode,
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

    /// Applies a change set in one round trip, with its index moves: inside the write's own
    /// script for the hash layout on one node; elsewhere (a cluster, where the index is in
    /// another slot, or the JSON layout, whose script knows no index) joins are sent before
    /// the write and leaves after it. `attempt` says whether an earlier try may have landed
    /// (see `retry.rs`).
    pub(super) async fn commit<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        changes: &ChangeSet,
        attempt: Attempt,
    ) -> Result<CommitOutcome, StoreError> {
        let moves = &changes.index;
        let inline = self.topology == Topology::OneNode && changes.layout == Layout::Fields;
        if !inline {
            index::join(&self.scripts, conn, key, moves).await?;
        }
        let mut outcome = match changes.layout {
            Layout::Json(write) => json::commit(&self.scripts, conn, key, changes, write).await?,
            _ => hash_commit::commit(&self.scripts, conn, key, changes, inline).await?,
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
            // A refused write undoes its joins, so an id that collided with a live session
            // never lists that session in the wrong index.
            let leave = match outcome {
                CommitOutcome::Written => &moves.leave,
                _ => &moves.join,
            };
            index::leave(conn, key, leave).await?;
        }
        Ok(outcome)
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

    /// The live sessions of an index (see [`index::list`]).
    pub(super) async fn index_list<C: ConnectionLike + Clone + Send>(
        &self,
        conn: &C,
        index: &IndexKey,
    ) -> Result<Vec<SessionId>, StoreError> {
        index::list(conn, index).await
    }

    /// Ends the live sessions of an index but `keep` (see [`index::end`]).
    pub(super) async fn index_end<C: ConnectionLike + Clone + Send>(
        &self,
        conn: &C,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        index::end(conn, index, keep).await
    }
}
