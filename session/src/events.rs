//! Lifecycle events: the hooks an app registers with
//! [`on_event`](crate::SessionMiddlewareBuilder::on_event), what each [`SessionEvent`]
//! carries, and when it is delivered. The commit (`commit.rs`), the index endings
//! (`index.rs`), the admin handle (`admin.rs`) and the Redis expiry listener
//! (`store/redis/expiry.rs`) call the small functions here; none of them calls a hook
//! itself.
//!
//! Without a hook nothing here runs on a request: no event is built, nothing is allocated
//! ([`Outbox::push`] takes a closure, called only when a hook is registered).

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::data::IndexedSession;
use crate::id::{fingerprint, SessionId};

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionEventKind {
    /// A session was stored for the first time: a first write, a login without a
    /// renewal, or a write after `purge()` in the same request.
    Created,
    /// `renew()`: the session moved to a new id, its data with it.
    /// [`SessionEvent::previous_fingerprint`] is the old id's.
    Renewed,
    /// `purge()` (a logout) ended a stored session.
    LoggedOut,
    /// [`Session::end_other_sessions`](crate::Session::end_other_sessions) or
    /// [`Session::end_all_sessions`](crate::Session::end_all_sessions) ended another
    /// session of the same index value ("sign out everywhere"). The requesting session
    /// itself, which `end_all_sessions` purges, is reported as
    /// [`LoggedOut`](Self::LoggedOut) by its commit.
    SignedOutEverywhere,
    /// The [`SessionAdmin`](crate::SessionAdmin) ended the session
    /// ([`end_session`](crate::SessionAdmin::end_session) or
    /// [`end_sessions_of`](crate::SessionAdmin::end_sessions_of)).
    EndedByAdmin,
    /// The store's time-to-live ran out: reported by the Redis expiry listener
    /// (`RedisStore::expiry_events`), best effort.
    Expired,
    /// A request found the session past the
    /// [`absolute_timeout`](crate::SessionMiddlewareBuilder::absolute_timeout) and deleted
    /// it (on any store); reported once, by the request whose delete found it.
    TimedOut,
    /// A login took the user's index past
    /// [`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index):
    /// the store ended this, the session of the user that joined longest ago, to make
    /// room. Reported by the request whose commit ended it.
    EndedByCap,
}

impl SessionEventKind {
    /// A short name for logs: `created`, `renewed`, `logged_out`,
    /// `signed_out_everywhere`, `ended_by_admin`, `expired`, `timed_out`, `ended_by_cap`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Renewed => "renewed",
            Self::LoggedOut => "logged_out",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::EndedByAdmin => "ended_by_admin",
            Self::Expired => "expired",
            Self::TimedOut => "timed_out",
            Self::EndedByCap => "ended_by_cap",
        }
    }
}

impl fmt::Display for SessionEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value a session holds in one `#[session(index)]` field (the user id of a per-user
/// index), as stored: the field's storage name and its JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct IndexValue {
    field: String,
    json: String,
}

impl IndexValue {
    /// The storage name of the index field (`user`, or `cart.user` under a prefix).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The value as stored, in JSON: `"ada"` (with its quotes) for the string `ada`.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// Shows the field name only: the value is a user's identifier.
impl fmt::Debug for IndexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexValue({})", self.field)
    }
}

/// One lifecycle event of one session, as a hook registered with
/// [`on_event`](crate::SessionMiddlewareBuilder::on_event) receives it.
///
/// It names the session by the fingerprint of its id ([`SessionId::fingerprint`], the one
/// the logs and [`SessionInfo::fingerprint`](crate::SessionInfo::fingerprint) show), never
/// by the id, and carries the session's index values where they are known:
///
/// | kind | fingerprint | previous | index values |
/// |---|---|---|---|
/// | `Created` | the new session | none | the ones it was stored with (none for a guest) |
/// | `Renewed` | the new id | the old id | the ones it has after the renewal |
/// | `LoggedOut` | the ended session | none | the ones it had (as stored, or as the request's structs had loaded them) |
/// | `SignedOutEverywhere` | each ended session, one event each | none | the index value it was ended by |
/// | `EndedByAdmin` | each ended session, one event each | none | the index value it was listed or ended by |
/// | `Expired` | the expired session | none | none: its fields are gone when Redis reports it |
/// | `TimedOut` | the session past the absolute timeout | none | the ones it had recorded (field layout; none in the JSON layout, which has no absolute timeout) |
/// | `EndedByCap` | each session a login past the cap ended, one event each | none | the value of the login that ended it |
#[derive(Clone, PartialEq, Eq)]
pub struct SessionEvent {
    kind: SessionEventKind,
    fingerprint: String,
    previous: Option<String>,
    index: Vec<IndexValue>,
}

impl SessionEvent {
    /// What happened.
    pub fn kind(&self) -> SessionEventKind {
        self.kind
    }

    /// The fingerprint of the session's id (after the renewal, for `Renewed`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// For `Renewed`, the fingerprint of the id the session had before; `None` otherwise.
    pub fn previous_fingerprint(&self) -> Option<&str> {
        self.previous.as_deref()
    }

    /// The session's values of its `#[session(index)]` fields, where known (see the table
    /// above); a `None` field (nobody logged in) is left out.
    pub fn index_values(&self) -> &[IndexValue] {
        &self.index
    }

    /// The value of `T`'s `#[session(index)]` field, decoded as that field's type:
    /// `event.index::<Account>()` gives `Some("ada".to_owned())` for a session of `ada`.
    /// `None` when the event carries no value of that field, or it does not decode.
    pub fn index<T: IndexedSession>(&self) -> Option<T::Index>
    where
        T::Index: DeserializeOwned,
    {
        let field = T::FIELD_NAMES.get(T::INDEX_FIELD?)?;
        let value = self.index.iter().find(|value| value.field == *field)?;
        serde_json::from_str(&value.json).ok()
    }

    pub(crate) fn new(kind: SessionEventKind, id: &SessionId, index: Vec<IndexValue>) -> Self {
        Self {
            kind,
            fingerprint: id.fingerprint(),
            previous: None,
            index,
        }
    }

    pub(crate) fn renewed(old: &SessionId, new: &SessionId, index: Vec<IndexValue>) -> Self {
        Self {
            previous: Some(old.fingerprint()),
            ..Self::new(SessionEventKind::Renewed, new, index)
        }
    }
}

/// Shows the kind and the fingerprints; index values by field name only.
impl fmt::Debug for SessionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEvent")
            .field("kind", &self.kind)
            .field("fingerprint", &self.fingerprint)
            .field("previous", &self.previous)
            .field("index", &self.index)
            .finish()
    }
}

/// The stored values of index fields, `(storage name, JSON)`, as an event carries them: a
/// `null` (a `None`) or a value that is not UTF-8 is left out.
pub(crate) fn index_values<'a>(
    values: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<IndexValue> {
    values
        .into_iter()
        .filter(|(_, json)| *json != b"null")
        .filter_map(|(field, json)| {
            Some(IndexValue {
                field: field.to_owned(),
                json: std::str::from_utf8(json).ok()?.to_owned(),
            })
        })
        .collect()
}

type Hook = dyn Fn(&SessionEvent) + Send + Sync;

/// The hooks the app registered; shared by the middleware, the admin handle and the
/// expiry listener.
#[derive(Clone, Default)]
pub(crate) struct Hooks(Vec<Arc<Hook>>);

impl Hooks {
    pub(crate) fn add(&mut self, hook: impl Fn(&SessionEvent) + Send + Sync + 'static) {
        self.0.push(Arc::new(hook));
    }

    /// Whether any hook is registered: without one no event is even built.
    pub(crate) fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Calls every hook with `event`. A hook that panics is caught, logged and skipped:
    /// it never takes the request (or the listener) down with it.
    pub(crate) fn deliver(&self, event: &SessionEvent) {
        for hook in &self.0 {
            if catch_unwind(AssertUnwindSafe(|| hook(event))).is_err() {
                tracing::error!(
                    session = %event.fingerprint,
                    event = %event.kind,
                    "a session event hook panicked; the event went on to the other hooks"
                );
            }
        }
    }

    /// Builds and delivers one event, only if a hook is registered.
    pub(crate) fn emit(&self, event: impl FnOnce() -> SessionEvent) {
        if self.any() {
            self.deliver(&event());
        }
    }

    /// Delivers one `kind` event per id in `ended`, each with `index`.
    pub(crate) fn emit_ended(
        &self,
        kind: SessionEventKind,
        ended: &[SessionId],
        index: impl Fn() -> Vec<IndexValue>,
    ) {
        if !self.any() {
            return;
        }
        for id in ended {
            self.deliver(&SessionEvent::new(kind, id, index()));
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} hooks", self.0.len())
    }
}

/// The events of one commit, held until it has succeeded: a commit that fails delivers
/// none.
pub(crate) struct Outbox<'a> {
    hooks: &'a Hooks,
    events: Vec<SessionEvent>,
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(hooks: &'a Hooks) -> Self {
        Self {
            hooks,
            events: Vec::new(),
        }
    }

    /// Whether events are wanted: a hook is registered.
    pub(crate) fn wanted(&self) -> bool {
        self.hooks.any()
    }

    /// Keeps the event `event` builds, which it builds only if a hook is registered.
    pub(crate) fn push(&mut self, event: impl FnOnce() -> SessionEvent) {
        if self.hooks.any() {
            self.events.push(event());
        }
    }

    /// The commit succeeded: hands every event kept to the hooks, in order.
    pub(crate) fn deliver(self) {
        for event in &self.events {
            self.hooks.deliver(event);
        }
    }
}

/// The app's hooks and the key prefix of its sessions, for a listener outside the
/// middleware that reports sessions the store expired: get it from
/// [`SessionMiddleware::events`](crate::SessionMiddleware::events) and hand it to
/// `RedisStore::expiry_events` (feature `redis`).
#[derive(Clone, Debug)]
// Read only by the Redis expiry listener.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub struct SessionEvents {
    hooks: Hooks,
    key_prefix: String,
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
impl SessionEvents {
    pub(crate) fn new(hooks: Hooks, key_prefix: String) -> Self {
        Self { hooks, key_prefix }
    }

    /// The session id in a store key of this app's sessions; `None` for any other key
    /// (another prefix, an index key, an expiry claim), whose ids never hold a `:`.
    pub(crate) fn session_in_key<'k>(&self, key: &'k str) -> Option<&'k str> {
        let id = key.strip_prefix(self.key_prefix.as_str())?;
        SessionId::parse_any(id).map(|_| id)
    }

    /// The key that one instance sets (`SET ... NX`) to claim the delivery of the expiry
    /// of session `id`: `{prefix}expired:{id}`, which is not a session key.
    pub(crate) fn claim_key(&self, id: &str) -> String {
        format!("{}expired:{id}", self.key_prefix)
    }

    /// Delivers the `Expired` event of session `id`.
    pub(crate) fn expired(&self, id: &str) {
        self.hooks.emit(|| SessionEvent {
            kind: SessionEventKind::Expired,
            fingerprint: fingerprint(id),
            previous: None,
            index: Vec::new(),
        });
    }

    /// Whether any hook is registered.
    pub(crate) fn any(&self) -> bool {
        self.hooks.any()
    }
}
