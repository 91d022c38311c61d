//! The per-user index as handlers see it: the sessions that share this session's value of
//! its `#[session(index)]` field (a user's sessions), listed and ended together.

use std::time::SystemTime;

use crate::config::Config;
use crate::data::IndexedSession;
use crate::device::Device;
use crate::error::SessionError;
use crate::events::{self, IndexValue, SessionEventKind};
use crate::extract::Session;
use crate::id::SessionId;
use crate::store::{IndexKey, Listed};
use crate::telemetry::{self, End, Operation};

/// One live session of a user, as [`Session::sessions`] and
/// [`SessionAdmin::sessions_of`](crate::SessionAdmin::sessions_of) list it: what a "your
/// sessions" page shows. It shows a fingerprint of the session id, never the id, which is a
/// bearer credential; the [`SessionAdmin`](crate::SessionAdmin) can still end, read or
/// change the session it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    id: SessionId,
    /// The index it was listed from, which ending it takes it out of.
    index: IndexKey,
    fingerprint: String,
    /// The index value it was listed by, for the event of its ending; kept only when an
    /// event hook is registered.
    index_values: Vec<IndexValue>,
    current: bool,
    created_at: Option<SystemTime>,
    last_active: Option<SystemTime>,
    device: Device,
}

impl SessionInfo {
    /// What the store listed, with what the configuration derives from it.
    pub(crate) fn listed(
        listed: Listed,
        index: &IndexKey,
        index_value: &(&'static str, Vec<u8>),
        current: bool,
        config: &Config,
    ) -> Self {
        Self {
            index_values: if config.hooks.any() {
                events::index_values([(index_value.0, index_value.1.as_slice())])
            } else {
                Vec::new()
            },
            fingerprint: listed.id.fingerprint(),
            id: listed.id,
            index: index.clone(),
            current,
            created_at: listed.created_at,
            last_active: config.last_active(listed.ttl),
            device: listed
                .device
                .as_deref()
                .and_then(Device::parse)
                .unwrap_or_default(),
        }
    }

    /// When the session was created (its first request, not its login: a renewal keeps
    /// it). `None` in the JSON layout, which keeps no creation time.
    pub fn created_at(&self) -> Option<SystemTime> {
        self.created_at
    }

    /// When the session was last used, as its time-to-live tells it: the last request
    /// that pushed its expiry back, without a write per request. Exact under the default
    /// [`TtlPolicy::OnEveryAccess`](crate::TtlPolicy::OnEveryAccess); under `OnChange` the
    /// last write, under `WhenLessThan` the last refresh (reads in between do not count).
    /// `None` in the JSON layout, whose time-to-live follows the Node app's cookie.
    pub fn last_active(&self) -> Option<SystemTime> {
        self.last_active
    }

    /// The `User-Agent` of the request that logged the session in (at most 256 bytes),
    /// unless the app turned recording it off
    /// ([`record_user_agent`](crate::SessionMiddlewareBuilder::record_user_agent)).
    pub fn user_agent(&self) -> Option<&str> {
        self.device.user_agent.as_deref()
    }

    /// The client address of the request that logged the session in, only when the app
    /// opted in ([`record_client_ip`](crate::SessionMiddlewareBuilder::record_client_ip)).
    pub fn client_ip(&self) -> Option<&str> {
        self.device.ip.as_deref()
    }

    /// A short one-way hash of the session id: enough to tell sessions apart, useless for
    /// taking one over. The same value appears in the library's logs.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether this is the session of the request that listed it (always `false` in a
    /// listing of the admin handle, which has no request).
    pub fn is_current(&self) -> bool {
        self.current
    }

    /// The id of the listed session, for the admin handle; never shown.
    pub(crate) fn id(&self) -> &SessionId {
        &self.id
    }

    /// The index it was listed from.
    pub(crate) fn index(&self) -> &IndexKey {
        &self.index
    }

    /// The index value it was listed by, as its ending's event carries it.
    pub(crate) fn index_values(&self) -> Vec<IndexValue> {
        self.index_values.clone()
    }
}

/// The index of the sessions whose `#[session(index)]` field of `T` holds the encoded
/// `value`: how both a request and the admin handle name it. `None` for a `null` (a
/// `None`), which is in no index.
pub(crate) fn index_of<T: IndexedSession>(config: &Config, value: &[u8]) -> Option<IndexKey> {
    config.index_key(index_field::<T>()?, value)
}

/// The storage name of `T`'s `#[session(index)]` field.
pub(crate) fn index_field<T: IndexedSession>() -> Option<&'static str> {
    T::FIELD_NAMES.get(T::INDEX_FIELD?).copied()
}

impl<T: IndexedSession> Session<T> {
    /// The live sessions whose index field holds this session's current value, such as
    /// every session of the logged-in user: this one first (once it is stored), then the
    /// others by fingerprint. Empty when the field is `None`. Each carries when it was
    /// created and last used, and the device it logged in from (see [`SessionInfo`]).
    ///
    /// Lists at most [`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index)
    /// sessions, the ones that logged in last. Costs one store round trip for the index
    /// and one check per listed session (sent together); entries of sessions that expired
    /// or ended are dropped on the way.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let Some((index, value)) = self.index_key() else {
            return Ok(Vec::new());
        };
        let current = self.current_id();
        let limit = self.state.config.max_sessions_per_index;
        let config = &self.state.config;
        let found = config
            .store
            .index_list(&index, limit)
            .await
            .inspect_err(|error| telemetry::store_error(Operation::Index, error))?;
        let mut listed: Vec<SessionInfo> = found
            .into_iter()
            .map(|listed| {
                let is_current = Some(&listed.id) == current;
                SessionInfo::listed(listed, &index, &value, is_current, config)
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
        let Some((index, (field, value))) = self.index_key() else {
            return Ok(0);
        };
        let keep = self.current_id();
        let config = &self.state.config;
        let ended = config
            .store
            .index_end(&index, keep)
            .await
            .inspect_err(|error| telemetry::store_error(Operation::Index, error))?;
        telemetry::ended(End::Index, ended.len());
        config
            .hooks
            .emit_ended(SessionEventKind::SignedOutEverywhere, &ended, || {
                events::index_values([(field, value.as_slice())])
            });
        Ok(ended.len())
    }

    /// Ends every session whose index field holds this session's value, this one included
    /// (it is purged, as by [`Session::purge`]). Returns how many sessions were ended.
    pub async fn end_all_sessions(&mut self) -> Result<usize, SessionError> {
        let others = self.end_other_sessions().await?;
        let this = usize::from(self.current_id().is_some());
        self.purge();
        Ok(others + this)
    }

    /// The index of the field's current value, with the field's storage name and that
    /// value encoded; `None` for a `None` (encoded `null`).
    fn index_key(&self) -> Option<(IndexKey, (&'static str, Vec<u8>))> {
        let value = self.typed.index_value()?;
        let index = index_of::<T>(&self.state.config, &value)?;
        Some((index, (index_field::<T>()?, value)))
    }

    /// The id of this session if it is stored and not purged.
    fn current_id(&self) -> Option<&SessionId> {
        if self.state.is_purged() {
            return None;
        }
        self.state.loaded()?.existing().map(|(id, _)| id)
    }
}
