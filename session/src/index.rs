//! The per-user index as handlers see it: the sessions that share this session's value of
//! its `#[session(index)]` field (a user's sessions), listed and ended together.

use crate::data::IndexedSession;
use crate::error::SessionError;
use crate::extract::Session;
use crate::id::SessionId;
use crate::store::IndexKey;
use crate::telemetry::{self, End, Operation};

/// One live session of a user, as [`Session::sessions`] lists it. It shows a fingerprint of
/// the session id, never the id, which is a bearer credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    fingerprint: String,
    current: bool,
}

impl SessionInfo {
    /// A short one-way hash of the session id: enough to tell sessions apart, useless for
    /// taking one over. The same value appears in the library's logs.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether this is the session of the request that listed it.
    pub fn is_current(&self) -> bool {
        self.current
    }
}

impl<T: IndexedSession> Session<T> {
    /// The live sessions whose index field holds this session's current value, such as
    /// every session of the logged-in user: this one first (once it is stored), then the
    /// others by fingerprint. Empty when the field is `None`.
    ///
    /// Lists at most [`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index)
    /// sessions, the ones that logged in last. Costs one store round trip for the index
    /// and one check per listed session (sent together); entries of sessions that expired
    /// or ended are dropped on the way.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let Some(index) = self.index_key() else {
            return Ok(Vec::new());
        };
        let current = self.current_id();
        let limit = self.state.config.max_sessions_per_index;
        let ids = self
            .state
            .config
            .store
            .index_list(&index, limit)
            .await
            .inspect_err(|error| telemetry::store_error(Operation::Index, error))?;
        let mut listed: Vec<SessionInfo> = ids
            .iter()
            .map(|id| SessionInfo {
                fingerprint: id.fingerprint(),
                current: Some(id) == current,
            })
            .collect();
        listed.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        Ok(listed)
    }

    /// Ends every other session whose index field holds this session's value ("sign out
    /// everywhere else"); this one goes on. Returns how many sessions were ended.
    pub async fn end_other_sessions(&self) -> Result<usize, SessionError> {
        let Some(index) = self.index_key() else {
            return Ok(0);
        };
        let keep = self.current_id();
        let ended = self
            .state
            .config
            .store
            .index_end(&index, keep)
            .await
            .inspect_err(|error| telemetry::store_error(Operation::Index, error))?;
        telemetry::ended(End::Index, ended);
        Ok(ended)
    }

    /// Ends every session whose index field holds this session's value, this one included
    /// (it is purged, as by [`Session::purge`]). Returns how many sessions were ended.
    pub async fn end_all_sessions(&self) -> Result<usize, SessionError> {
        let others = self.end_other_sessions().await?;
        let this = usize::from(self.current_id().is_some());
        self.purge();
        Ok(others + this)
    }

    /// The index of the field's current value; `None` for a `None` (encoded `null`).
    fn index_key(&self) -> Option<IndexKey> {
        let field = T::FIELD_NAMES.get(T::INDEX_FIELD?)?;
        let value = self.typed.index_value()?;
        self.state.config.index_key(field, &value)
    }

    /// The id of this session if it is stored and not purged.
    fn current_id(&self) -> Option<&SessionId> {
        if self.state.is_purged() {
            return None;
        }
        self.state.loaded()?.existing().map(|(id, _)| id)
    }
}
