//! The middleware's options, resolved once by the builder and shared by every worker,
//! with what follows from them alone: the store keys, what a load asks of the store, and
//! the change set of a write.

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use actix_web::HttpRequest;

use crate::cookie::Lifetime;
use crate::cookie_store::CookieStore;
use crate::data::SessionData;
use crate::device::DeviceRecording;
use crate::envelope::{Envelope, Wrapped};
use crate::error::SessionError;
use crate::events::Hooks;
use crate::id::SessionId;
use crate::index_secret::IndexSecret;
use crate::store::{
    ChangeSet, IndexKey, IndexMoves, Layout, LoadOptions, Record, SessionKey, SessionStore,
    WriteMode, DEVICE_FIELD,
};
use crate::transport::Transport;

/// When a session's time-to-live in the store is pushed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TtlPolicy {
    /// On every request that loads the session, inside the load's own round trip: an idle
    /// timeout. A persistent cookie is re-sent so the browser's expiry moves too.
    #[default]
    OnEveryAccess,
    /// Only when the session is written: reading never extends it.
    OnChange,
    /// On a load that finds less than this much left of the time-to-live (koa-session's
    /// `renew`), inside the load's own round trip, and on every write. Most reads then
    /// leave both the store's expiry and the cookie alone; a persistent cookie is re-sent
    /// only when the expiry actually moved.
    WhenLessThan(Duration),
}

/// The secret that keys index key names, and what to warn about it, once, when the app
/// did not choose it. The warning waits for the first index key, so an app without an
/// `#[session(index)]` field never sees it.
pub(crate) struct IndexNames {
    secret: IndexSecret,
    warning: Option<&'static str>,
    warned: Once,
}

impl IndexNames {
    /// The secret the app set with `index_secret`.
    pub(crate) fn configured(secret: IndexSecret) -> Self {
        Self::new(secret, None)
    }

    /// The default: derived from the first cookie signing key, or a public one when
    /// cookies are unsigned.
    pub(crate) fn default_for(signing_key: Option<&[u8]>) -> Self {
        match signing_key {
            Some(key) => Self::new(
                IndexSecret::derived_from(key),
                Some(
                    "per-user index keys are named with a secret derived from the first \
                     session signing key, so they change when that key is rotated: \
                     sessions() and end_other_sessions() then miss every session until it \
                     is written again; set SessionMiddlewareBuilder::index_secret to a \
                     stable secret of at least 32 random bytes",
                ),
            ),
            None => Self::new(
                IndexSecret::public(),
                Some(
                    "per-user index keys are named with no secret, as cookies are unsigned: \
                     anyone who can read Redis can test guesses of the indexed values \
                     (user ids, e-mails) against them; set \
                     SessionMiddlewareBuilder::index_secret to a stable secret of at least \
                     32 random bytes",
                ),
            ),
        }
    }

    fn new(secret: IndexSecret, warning: Option<&'static str>) -> Self {
        Self {
            secret,
            warning,
            warned: Once::new(),
        }
    }

    fn warn_once(&self) {
        if let Some(warning) = self.warning {
            self.warned.call_once(|| tracing::warn!("{warning}"));
        }
    }
}

/// Everything the middleware needs, shared by every worker.
pub(crate) struct Config {
    pub(crate) store: Arc<dyn SessionStore>,
    /// Where the id is read from and handed out.
    pub(crate) transport: Transport,
    /// What a Node package keeps in the document beside the app's keys.
    pub(crate) envelope: Envelope,
    pub(crate) layout: Layout,
    pub(crate) ttl: Duration,
    pub(crate) ttl_policy: TtlPolicy,
    pub(crate) key_prefix: String,
    pub(crate) index_names: IndexNames,
    pub(crate) commit_on_server_error: bool,
    pub(crate) absolute_timeout: Option<Duration>,
    pub(crate) save_uninitialized: bool,
    pub(crate) fail_open: bool,
    pub(crate) max_session_size: Option<usize>,
    /// The most sessions one per-user index keeps; past it the oldest end.
    pub(crate) max_sessions_per_index: usize,
    /// What a login records about the device it came from.
    pub(crate) device: DeviceRecording,
    /// The app's lifecycle event hooks.
    pub(crate) hooks: Hooks,
    /// The cookie store: sessions travel whole in the cookie, and `store` is a
    /// placeholder that refuses every call.
    pub(crate) cookie_store: Option<CookieStore>,
}

impl Config {
    /// The store key of session `id`.
    pub(crate) fn key(&self, id: &SessionId) -> SessionKey {
        SessionKey::new(&self.key_prefix, id)
    }

    /// The per-user index of sessions whose field `field` holds the encoded `value`;
    /// `None` for a `null` (a `None`), which is in no index.
    pub(crate) fn index_key(&self, field: &str, value: &[u8]) -> Option<IndexKey> {
        if value == b"null" {
            return None;
        }
        self.index_names.warn_once();
        Some(IndexKey::new(
            &self.index_names.secret,
            &self.key_prefix,
            field,
            value,
        ))
    }

    /// Index moves that join `join` and leave `leave`, with the configured index expiry
    /// and cap.
    pub(crate) fn index_moves(&self, join: Vec<IndexKey>, leave: Vec<IndexKey>) -> IndexMoves {
        IndexMoves {
            join,
            leave,
            take_over: None,
            ttl: self.absolute_timeout,
            cap: self.max_sessions_per_index,
        }
    }

    /// An index a session recorded it is in (see `commit.rs`); `None` for a name that is
    /// not an index's.
    pub(crate) fn recorded_index(&self, name: &str) -> Option<IndexKey> {
        IndexKey::from_recorded(&self.key_prefix, name)
    }

    /// What a load asks of the store: the time-to-live refresh of the policy, and the
    /// layout.
    pub(crate) fn load_options(&self) -> LoadOptions {
        let (refresh_ttl, refresh_below) = match self.ttl_policy {
            TtlPolicy::OnEveryAccess => (Some(self.ttl), None),
            TtlPolicy::OnChange => (None, None),
            TtlPolicy::WhenLessThan(below) => (Some(self.ttl), Some(below)),
        };
        LoadOptions {
            refresh_ttl,
            refresh_below,
            layout: self.layout,
        }
    }

    /// The size check of a write of `changes` to a session that holds `stored` (`None`: a
    /// new one), under `max_session_size`: only growth past the
    /// limit is refused. Every commit (a request's, the cookie store's, the admin
    /// handle's) checks through it.
    pub(crate) fn check_size(
        &self,
        stored: Option<&HashMap<String, Vec<u8>>>,
        changes: &[(String, Vec<u8>)],
    ) -> Result<(), SessionError> {
        let Some(limit) = self.max_session_size else {
            return Ok(());
        };
        let entry_size = |(name, value): (&String, &Vec<u8>)| name.len() + value.len();
        let changed = |name: &String| changes.iter().any(|(changed, _)| changed == name);
        let mut size: usize = changes
            .iter()
            .map(|(name, value)| entry_size((name, value)))
            .sum();
        let mut before = 0;
        if let Some(fields) = stored {
            before = fields.iter().map(entry_size).sum();
            size += fields
                .iter()
                .filter(|(name, _)| !changed(name))
                .map(entry_size)
                .sum::<usize>();
        }
        if size > limit && size > before {
            return Err(SessionError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// Refuses, under the cookie store, a struct whose `#[session(index)]` field needs a
    /// per-user index on the server.
    pub(crate) fn check_struct<T: SessionData>(&self) -> Result<(), SessionError> {
        if self.cookie_store.is_some() && T::INDEX_FIELD.is_some() {
            tracing::error!(
                r#type = std::any::type_name::<T>(),
                "a session struct with an #[session(index)] field under the cookie store"
            );
            return Err(SessionError::Stateless(
                "a struct with an #[session(index)] field (the per-user index lives on the server)",
            ));
        }
        if let Some(field) = T::FIELD_NAMES
            .iter()
            .find(|field| self.envelope.keeps_key(field))
        {
            tracing::error!(
                r#type = std::any::type_name::<T>(),
                field,
                "a session field named like a key of the Node package's envelope"
            );
            return Err(SessionError::EnvelopeKey(field));
        }
        Ok(())
    }

    /// Whether a load that finds `ttl_left` of a session's time-to-live pushes it back,
    /// by the policy (what [`load_options`](Self::load_options) asks of a store); the
    /// cookie store then seals the cookie again with a later expiry.
    pub(crate) fn refreshes_at_load(&self, ttl_left: Duration) -> bool {
        match self.ttl_policy {
            TtlPolicy::OnEveryAccess => true,
            TtlPolicy::OnChange => false,
            TtlPolicy::WhenLessThan(below) => ttl_left < below,
        }
    }

    /// The cookie lifetime of a session: what its document says (a Node app's), else the
    /// configured one.
    pub(crate) fn lifetime_for(&self, record: Option<&Record>) -> Lifetime {
        record
            .and_then(|record| self.envelope.stored_lifetime(record))
            .unwrap_or_else(|| self.transport.lifetime())
    }

    /// The change set for one write: the typed fields' `set`, what the envelope adds, the
    /// time-to-live it asks for, and the layout. `stored` is the session as loaded (for an
    /// update or a renewal), `None` for a new one; `secure`, for a new one, what
    /// [`secure_to_state`](Self::secure_to_state) says of its request. The index moves are
    /// the caller's.
    pub(crate) fn change_set(
        &self,
        mode: WriteMode,
        mut set: Vec<(String, Vec<u8>)>,
        stored: Option<&Record>,
        secure: Option<bool>,
    ) -> ChangeSet {
        let Wrapped { remove, ttl } = self.envelope.wrap(&mut set, stored, self.ttl, secure);
        // Under `OnEveryAccess` a load that found the session always set the configured
        // time-to-live, and an update that keeps it owes no more. Not under `WhenLessThan`,
        // where `refreshed` also stands for "may have refreshed" after a retried load
        // (`store/redis/operations.rs`), and the write's own refresh is the one that counts.
        let ttl_current = matches!(mode, WriteMode::Update { .. })
            && self.ttl_policy == TtlPolicy::OnEveryAccess
            && stored.is_some_and(|record| record.refreshed)
            && ttl == self.ttl;
        ChangeSet {
            mode,
            set,
            remove,
            ttl,
            ttl_current,
            layout: self.layout,
            base: stored.and_then(|record| record.snapshot.clone()),
            index: IndexMoves::default(),
            // Every id the middleware creates under is freshly generated (`commit.rs`).
            fresh_id: matches!(mode, WriteMode::Create { .. }),
        }
    }

    /// Whether `req` gets `Secure` cookies, where a new session's document states it
    /// (express's `cookie` object under a cookie that follows the scheme); `None` where
    /// nothing would read it, so the scheme is worked out only then.
    pub(crate) fn secure_to_state(&self, req: &HttpRequest) -> Option<bool> {
        self.envelope
            .states_secure()
            .then(|| self.transport.secure_for(req))
    }

    /// Whether a `SessionWriter` must load the session as `Session` does: the absolute
    /// timeout and the size limit are checked against the stored session, and a Node
    /// document is merged in the client.
    pub(crate) fn writers_load(&self) -> bool {
        // The cookie store's "load" is opening the cookie, which a write must carry whole.
        self.cookie_store.is_some()
            || self.layout != Layout::Fields
            || self.absolute_timeout.is_some()
            || self.max_session_size.is_some()
    }

    /// The reserved field a create that enters an index (a login) records the device of
    /// `req` in; `None` when there is nothing to record, or in the JSON layout, whose
    /// document a Node app reads as its own.
    pub(crate) fn device_field(&self, req: &HttpRequest) -> Option<(String, Vec<u8>)> {
        if self.layout != Layout::Fields {
            return None;
        }
        let record = self.device.record(req)?;
        Some((DEVICE_FIELD.to_owned(), record))
    }

    /// When a session with `ttl_left` of its time-to-live was last used: every request
    /// that refreshes it, and every write, sets the configured time-to-live, so it was
    /// `ttl - ttl_left` ago. `None` in the JSON layout, whose time-to-live follows the
    /// Node app's cookie, and when the store does not say.
    pub(crate) fn last_active(&self, ttl_left: Option<Duration>) -> Option<SystemTime> {
        if self.layout != Layout::Fields {
            return None;
        }
        let since = self.ttl.saturating_sub(ttl_left?);
        SystemTime::now().checked_sub(since)
    }

    /// Whether a session created at `created_at` is past the absolute timeout.
    pub(crate) fn outlived(&self, created_at: Option<SystemTime>) -> bool {
        let (Some(limit), Some(created_at)) = (self.absolute_timeout, created_at) else {
            return false;
        };
        SystemTime::now()
            .duration_since(created_at)
            .is_ok_and(|age| age >= limit)
    }
}
