//! Where sessions live. A store speaks in fields, not blobs, so a commit can carry only the
//! fields that changed.
//!
//! Every store passes the same conformance suite (the `tests` package runs it once per
//! backend), so the middleware can rely on the contract below without knowing the backend.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::id::{fingerprint, SessionId};
use crate::index_secret::IndexSecret;

pub(crate) mod document;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod memory;
mod migrating;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod stateless;
mod stringify;
pub(crate) mod time;

#[cfg(feature = "redis")]
pub use self::redis::{ExpiryListener, ExpiryNotifications, RedisStore, RedisStoreBuilder};
#[cfg(feature = "cluster")]
pub use self::redis::{RedisClusterStore, RedisClusterStoreBuilder};
#[cfg(feature = "sentinel")]
pub use self::redis::{RedisSentinelStore, RedisSentinelStoreBuilder};
pub use memory::MemoryStore;
pub use migrating::{MigratingStore, MigratingStoreBuilder};

/// The store key of one session: the configured prefix followed by a validated id.
///
/// Built only from a [`SessionId`], so nothing a client sent reaches a key unvalidated.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    key: String,
    prefix_len: usize,
}

impl SessionKey {
    /// The key for `id` under `prefix`.
    pub fn new(prefix: &str, id: &SessionId) -> Self {
        let mut key = String::with_capacity(prefix.len() + id.as_str().len());
        key.push_str(prefix);
        key.push_str(id.as_str());
        Self {
            key,
            prefix_len: prefix.len(),
        }
    }

    /// The full key, as the backend sees it.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The session id part of the key: what an index set holds for this session.
    pub fn id(&self) -> &str {
        &self.key[self.prefix_len..]
    }

    /// The prefix part of the key.
    pub(crate) fn prefix(&self) -> &str {
        &self.key[..self.prefix_len]
    }

    /// The key of the same session under another prefix (another store's keys).
    pub(crate) fn with_prefix(&self, prefix: &str) -> Self {
        Self {
            key: format!("{prefix}{}", self.id()),
            prefix_len: prefix.len(),
        }
    }
}

/// Shows the prefix and a fingerprint: the rest of the key is the id, a bearer credential.
impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, id) = self.key.split_at(self.prefix_len);
        write!(f, "SessionKey({prefix}#{})", fingerprint(id))
    }
}

/// The store key of one per-user index: the set of the ids of the sessions whose indexed
/// field (`#[session(index)]`) holds one value, such as one user's sessions.
///
/// The key is `{prefix}index:{field}:{hash}`, where the hash is HMAC-SHA-256 of the field
/// name and the encoded value under the [`IndexSecret`]: key names stay short, do not spell
/// out user ids, and cannot be reversed with a dictionary of them by anyone without the
/// secret; the `:` keeps them apart from session keys, whose ids never contain one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IndexKey {
    key: String,
    session_prefix: String,
}

impl IndexKey {
    /// The index of the sessions whose field `field` holds the encoded `value`, for
    /// sessions stored under `prefix`, named with the hash keyed by `secret`.
    pub fn new(secret: &IndexSecret, prefix: &str, field: &str, value: &[u8]) -> Self {
        let hash = secret.hash(field, value);
        Self {
            key: format!("{prefix}index:{field}:{hash}"),
            session_prefix: prefix.to_owned(),
        }
    }

    /// The full key, as the backend sees it.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The key of the session `id`, a member of this index.
    pub fn session_key(&self, id: &SessionId) -> SessionKey {
        SessionKey::new(&self.session_prefix, id)
    }

    /// The key without the prefix, as a session records the indexes it is in.
    pub(crate) fn recorded_name(&self) -> &str {
        &self.key[self.session_prefix.len()..]
    }

    /// The same index for sessions stored under `prefix` (another store's keys): the
    /// name's hash does not depend on the prefix.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Self {
        Self {
            key: format!("{prefix}{}", self.recorded_name()),
            session_prefix: prefix.to_owned(),
        }
    }

    /// The index a session recorded by [`recorded_name`](Self::recorded_name), for
    /// sessions stored under `prefix`; `None` for a name that is not an index's.
    pub(crate) fn from_recorded(prefix: &str, name: &str) -> Option<Self> {
        name.starts_with("index:").then(|| Self {
            key: format!("{prefix}{name}"),
            session_prefix: prefix.to_owned(),
        })
    }
}

/// The reserved session field that records the per-user indexes a session is in: a JSON
/// object from the name of the indexed field to the index's
/// [`recorded_name`](IndexKey::recorded_name), so a renewal or a purge moves all of them
/// whichever structs the request extracted, and a session moved to another store joins the
/// same ones there. Kept in the field layout only (the commit's `Placement` says why).
pub(crate) const INDEXES_FIELD: &str = "__index";

/// The indexes a session's fields record in [`INDEXES_FIELD`], for sessions stored under
/// `prefix`; none when the record is missing or does not parse.
pub(crate) fn recorded_indexes(prefix: &str, fields: &HashMap<String, Vec<u8>>) -> Vec<IndexKey> {
    fields
        .get(INDEXES_FIELD)
        .and_then(|value| serde_json::from_slice::<BTreeMap<String, String>>(value).ok())
        .into_iter()
        .flatten()
        .filter_map(|(_, name)| IndexKey::from_recorded(prefix, &name))
        .collect()
}

/// Shows the whole key: its hash is keyed, so it gives the value away only to someone who
/// holds the index secret.
impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexKey({})", self.key)
    }
}

/// A stored session as loaded: encoded fields plus metadata.
///
/// Its `Debug` output shows the field names and the length of each value, never the
/// values, which are session data.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Field storage name to encoded value (JSON), including fields the caller's structs
    /// do not know, which stores keep untouched.
    pub fields: HashMap<String, Vec<u8>>,
    /// When the session was first created; `None` when the record does not say (a hash
    /// written by another program): an absolute timeout then counts from the first commit
    /// this library makes to it.
    pub created_at: Option<SystemTime>,
    /// Time left before the store forgets the session, after any refresh done by the load.
    pub ttl: Option<Duration>,
    /// Whether the load pushed the time-to-live back (see [`LoadOptions`]).
    pub refreshed: bool,
    /// The stored form as loaded, for layouts that store a session whole
    /// ([`Layout::Json`]); `None` for the field layout. Hand it back as [`ChangeSet::base`].
    pub snapshot: Option<Snapshot>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sorted, so that two outputs of one record read the same.
        let fields: BTreeMap<&str, Length> = self
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), Length(value.len())))
            .collect();
        f.debug_struct("Record")
            .field("fields", &fields)
            .field("created_at", &self.created_at)
            .field("ttl", &self.ttl)
            .field("refreshed", &self.refreshed)
            .field("snapshot", &self.snapshot)
            .finish()
    }
}

/// The length of a value, shown in its place by the `Debug` impls of types that hold
/// session data, so a stray `{:?}` in a log cannot write the data out.
pub(crate) struct Length(pub(crate) usize);

impl fmt::Debug for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// A session's stored form, exactly as a load found it: what a later commit merges its
/// changes into and compares against, so that it neither reorders nor reformats what
/// another program wrote, nor overwrites a change made in between.
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot(Arc<[u8]>);

impl Snapshot {
    /// Wraps the bytes a store read.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Shows the length only: the bytes are session data.
impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snapshot({} bytes)", self.0.len())
    }
}

/// How a store lays one session out. The middleware picks it (see
/// [`compat`](crate::SessionMiddlewareBuilder::compat)) and passes it with every load and
/// commit, so every store supports every layout without a setting of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Layout {
    /// One hash per session, one hash field per session field (encoded values as given),
    /// plus the reserved field `__created`, which marks a session as live: Redis reads a
    /// hash without it as no session. Time-to-live to the millisecond.
    #[default]
    Fields,
    /// The whole session as one JSON object in one string key, the form Node session stores
    /// use: each session field is a top-level key whose value is the field's JSON. Keys are
    /// kept in their stored order, values this library did not change are written back
    /// byte for byte, new keys go last, and a float with an integral value is written as
    /// an integer, as JavaScript writes it. Values must be JSON. No creation time is kept
    /// ([`Record::created_at`] is `None`). Time-to-live in whole seconds, rounded up.
    Json(JsonWrite),
}

/// The command that writes a JSON session, so the wire matches the Node store it shares
/// keys with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonWrite {
    /// `SETEX key seconds json` (koa-redis).
    Setex,
    /// `SET key json EX seconds` (connect-redis, koa2-session2-redis).
    SetEx,
}

impl Layout {
    /// The time-to-live a store gives a session written with `ttl`: JSON sessions live in
    /// whole seconds, at least one.
    pub fn stored_ttl(self, ttl: Duration) -> Duration {
        match self {
            Layout::Fields => ttl,
            Layout::Json(_) => Duration::from_secs(time::whole_seconds(ttl)),
        }
    }
}

/// What a load may do besides reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Reset the time-to-live to this value in the same round trip, when the session exists.
    pub refresh_ttl: Option<Duration>,
    /// With `refresh_ttl`: refresh only when less than this is left of the time-to-live
    /// (koa-session's `renew`). `None`: refresh whenever `refresh_ttl` is set.
    pub refresh_below: Option<Duration>,
    /// How the session is laid out in the store.
    pub layout: Layout,
}

/// Whether a commit may create a session or may only change one that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create a new session; refused if the key is taken (an id collision).
    Create {
        /// The creation time to store with the session.
        created_at: SystemTime,
    },
    /// Change an existing session; refused if it no longer exists, so a late write can
    /// never bring back a session that was ended.
    Update {
        /// The creation time to store if the session has none (a hash written by another
        /// program); `None` when the loaded session had one.
        created_at: Option<SystemTime>,
    },
}

impl WriteMode {
    /// An update of the session `record` was loaded from: a creation time goes along only
    /// when the record has none, so from then on an absolute timeout can count from it.
    pub(crate) fn update_of(record: &Record) -> Self {
        WriteMode::Update {
            created_at: record.created_at.is_none().then(SystemTime::now),
        }
    }
}

/// One atomic change to one session.
///
/// Its `Debug` output shows the names of the fields set and the length of each value,
/// never the values, which are session data.
#[derive(Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// Create or update.
    pub mode: WriteMode,
    /// Fields to set, by storage name, with their encoded values.
    pub set: Vec<(String, Vec<u8>)>,
    /// Fields to remove, by storage name.
    pub remove: Vec<String>,
    /// The time-to-live the session has after the commit.
    pub ttl: Duration,
    /// Whether the stored session already has `ttl`, because the load this update follows
    /// just set it: a store may then leave the time-to-live alone. (Should a failover lose
    /// that refresh, the session keeps the time-to-live it had before the request.)
    pub ttl_current: bool,
    /// How the session is laid out in the store.
    pub layout: Layout,
    /// The record the changes were made against, as loaded ([`Record::snapshot`]), if any.
    /// For an update it is a hint: a store that writes sessions whole merges the changes
    /// into it and writes only if the session is still stored exactly so; otherwise (or
    /// without it) it merges into what is stored now, so a field another writer changed in
    /// between is never lost. For a create it is the session to start from (a renewal),
    /// which keeps its key order.
    pub base: Option<Snapshot>,
    /// The per-user indexes this session enters or leaves with the commit.
    pub index: IndexMoves,
    /// For a create: the id was just generated from at least 122 random bits (the
    /// middleware's always are), so a store may write without first checking that the key
    /// is free: a collision is as likely as someone guessing a live id. Stores that check
    /// anyway still report [`CommitOutcome::Collision`].
    pub fresh_id: bool,
}

impl fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<(&str, Length)> = self
            .set
            .iter()
            .map(|(name, value)| (name.as_str(), Length(value.len())))
            .collect();
        f.debug_struct("ChangeSet")
            .field("mode", &self.mode)
            .field("set", &set)
            .field("remove", &self.remove)
            .field("ttl", &self.ttl)
            .field("ttl_current", &self.ttl_current)
            .field("layout", &self.layout)
            .field("base", &self.base)
            .field("index", &self.index)
            .field("fresh_id", &self.fresh_id)
            .finish()
    }
}

/// How many sessions one per-user index keeps unless the middleware is told otherwise
/// ([`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index)).
pub const DEFAULT_MAX_SESSIONS_PER_INDEX: usize = 64;

/// How long an index entry whose session is not (or no longer) stored is kept before a
/// listing may drop it as stale: long enough for a write that joined before it landed
/// (a cluster joins the index first), or a renewal between its two steps, to finish.
pub const INDEX_GRACE: Duration = Duration::from_secs(60);

/// The reserved session field in which a session records the device it logged in from
/// (see [`Listed::device`]): written by a create that enters a per-user index (a login),
/// in the field layout only, and never by a request that only reads or updates.
pub const DEVICE_FIELD: &str = "__device";

/// One live session of a per-user index, as [`SessionStore::index_list`] finds it: its id
/// and what the store keeps about it, read in the same step as the check that it is live,
/// so a listing with details costs no more round trips than one without.
///
/// Its `Debug` output shows the length of the device record, never its text.
#[derive(Clone, PartialEq, Eq)]
pub struct Listed {
    /// The session's id.
    pub id: SessionId,
    /// When it was created; `None` when the store does not say (the JSON layout).
    pub created_at: Option<SystemTime>,
    /// Time left before the store forgets it; `None` when it has no expiry or the store
    /// does not say.
    pub ttl: Option<Duration>,
    /// The value of its [`DEVICE_FIELD`], as stored; `None` without one (the JSON layout
    /// keeps none).
    pub device: Option<Vec<u8>>,
}

impl Listed {
    /// A listed session of which the store knows nothing but its id.
    pub fn new(id: SessionId) -> Self {
        Self {
            id,
            created_at: None,
            ttl: None,
            device: None,
        }
    }
}

impl fmt::Debug for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listed")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("ttl", &self.ttl)
            .field(
                "device",
                &self.device.as_ref().map(|device| Length(device.len())),
            )
            .finish()
    }
}

/// How one commit moves its session between per-user indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMoves {
    /// Indexes the session's id enters. A store adds it before or atomically with the
    /// write, never after it, so a written session is never missing from its index.
    pub join: Vec<IndexKey>,
    /// A renewal: the indexes in which this session takes the place of the one it renews.
    pub take_over: Option<TakeOver>,
    /// Indexes the session's id leaves, with or after the write.
    pub leave: Vec<IndexKey>,
    /// How long an index the session joins must live at least; `None`: no expiry. Stores
    /// only ever lengthen an index's time-to-live, and drop entries of sessions that no
    /// longer exist whenever they list an index.
    pub ttl: Option<Duration>,
    /// The most sessions an index the session joins keeps. Past it, the sessions that
    /// joined longest ago end (stale entries are dropped first), so the newest login
    /// always succeeds.
    pub cap: usize,
}

impl Default for IndexMoves {
    fn default() -> Self {
        Self {
            join: Vec::new(),
            take_over: None,
            leave: Vec::new(),
            ttl: None,
            cap: DEFAULT_MAX_SESSIONS_PER_INDEX,
        }
    }
}

/// The indexes a renewed session takes over from the session it replaces.
///
/// A store replaces `from` with the new id in each of them atomically, and refuses the
/// whole commit ([`CommitOutcome::Missing`], nothing written) when `from` is no longer in
/// one of them: it was ended meanwhile ("sign out everywhere"), and its renewal must not
/// escape that. [`SessionStore::retire`] keeps `from` in them until then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeOver {
    /// The id of the session being renewed.
    pub from: SessionId,
    /// The indexes it is in, which the new id takes over.
    pub indexes: Vec<IndexKey>,
}

impl IndexMoves {
    /// Whether the commit joins or takes over any index, and so may have to make room in
    /// it.
    pub fn enters_any(&self) -> bool {
        !self.join.is_empty()
            || self
                .take_over
                .as_ref()
                .is_some_and(|t| !t.indexes.is_empty())
    }
}

/// One integer field changed on the server, atomically: see [`SessionStore::increment`].
///
/// The field holds its value as JSON, so an integer field's stored text is the decimal
/// number itself, which a store adds to in place. Its `Debug` output shows no value.
///
/// An increment counts from what a load shows: the stored value when the field's type
/// decodes it (`min..=max`), else `absent`, as a load shows the default for a value that
/// does not decode, be it no integer or one outside the type's range. A store counts in an
/// `i64`: a stored value that decodes but lies past it (a `u64` above `i64::MAX`) is out
/// of range, never counted from the default. [`Increment::apply`] is that rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    /// The storage name of the field.
    pub field: String,
    /// What to add (negative to take away).
    pub by: i64,
    /// The value the field counts as holding when the session has none for it, or one its
    /// type does not decode (the field's default).
    pub absent: i128,
    /// The least value the field's type holds.
    pub min: i128,
    /// The largest value the field's type holds.
    pub max: i128,
    /// The session's time-to-live after the increment: an increment is a write, and
    /// refreshes it as every write does.
    pub ttl: Duration,
    /// How the session is laid out in the store.
    pub layout: Layout,
    /// Other fields to set with it, as given (what a Node package keeps beside the fields,
    /// such as koa-session's `_expire`); usually none.
    pub set: Vec<(String, Vec<u8>)>,
    /// The stored form as loaded, for layouts that store a session whole: a hint, as
    /// [`ChangeSet::base`] is.
    pub base: Option<Snapshot>,
}

impl Increment {
    /// Adds `by` to `field` of an `i64` (counted as 0 when absent), refreshing the
    /// time-to-live to `ttl`, in `layout`.
    pub fn new(field: impl Into<String>, by: i64, ttl: Duration, layout: Layout) -> Self {
        Self {
            field: field.into(),
            by,
            absent: 0,
            min: i64::MIN.into(),
            max: i64::MAX.into(),
            ttl,
            layout,
            set: Vec::new(),
            base: None,
        }
    }

    /// The field's value after the increment, from its stored text (`None`: absent), by the
    /// rule above: for stores that add in the client, under their own lock or a
    /// compare-and-swap.
    pub fn apply(&self, stored: Option<&[u8]>) -> Result<i64, StoreError> {
        let start = stored
            .and_then(|text| self.decode(text))
            .unwrap_or(self.absent);
        i64::try_from(start)
            .ok()
            .and_then(|start| start.checked_add(self.by))
            .filter(|value| self.holds(*value))
            .ok_or_else(|| self.out_of_range())
    }

    /// The integer a load decodes `text` into, when the field's type holds it: JSON, read
    /// as serde reads any integer type, which takes what JSON reads as an `i64` or a `u64`
    /// (not `5.0` or `-0`, which are floats to it) and refuses a value out of its range.
    /// `lua/increment.lua` reads stored values by the same rule.
    fn decode(&self, text: &[u8]) -> Option<i128> {
        let value = serde_json::from_slice::<i64>(text)
            .map(i128::from)
            .or_else(|_| serde_json::from_slice::<u64>(text).map(i128::from))
            .ok()?;
        self.holds(value).then_some(value)
    }

    /// Whether the field's type holds `value`.
    pub(crate) fn holds(&self, value: impl Into<i128>) -> bool {
        (self.min..=self.max).contains(&value.into())
    }

    /// The error for an increment that would take the field out of its range.
    pub fn out_of_range(&self) -> StoreError {
        out_of_range(&self.field, self.by, self.min, self.max)
    }
}

/// The error for an increment by `by` that would take `field` out of `min..=max`, the range
/// of its type, or past `i64`, in which every store counts.
pub(crate) fn out_of_range(field: &str, by: i64, min: i128, max: i128) -> StoreError {
    let min = min.max(i64::MIN.into());
    let max = max.min(i64::MAX.into());
    StoreError::OutOfRange(format!(
        "adding {by} to field `{field}` would take it out of {min}..={max}"
    ))
}

/// How a commit ended, when the store itself did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The change was applied.
    Written,
    /// An update found no session: it was ended or expired. Nothing was written.
    Missing,
    /// A create found the key taken. Nothing was written.
    Collision,
}

/// What a commit did: its [`CommitOutcome`], and the sessions it ended to keep an index
/// the session joined within [`IndexMoves::cap`]. Those are reported to the app's event
/// hooks, so a store that ends sessions for the cap names every one of them here.
///
/// A store with nothing to report converts its outcome: `Ok(CommitOutcome::Written.into())`.
/// It compares equal to its outcome: `committed == CommitOutcome::Written`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Whether the change was applied.
    pub outcome: CommitOutcome,
    /// The sessions ended for the cap, each with the index it was ended from; empty
    /// unless the commit was written and took an index past its cap.
    pub ended_by_cap: Vec<EndedByCap>,
}

impl From<CommitOutcome> for Committed {
    fn from(outcome: CommitOutcome) -> Self {
        Committed {
            outcome,
            ended_by_cap: Vec::new(),
        }
    }
}

impl PartialEq<CommitOutcome> for Committed {
    fn eq(&self, outcome: &CommitOutcome) -> bool {
        self.outcome == *outcome
    }
}

/// A session a commit ended because an index it was in went past its cap: the one that
/// joined longest ago makes room for the newest login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedByCap {
    /// The index that was past its cap.
    pub index: IndexKey,
    /// The session that ended.
    pub id: SessionId,
}

/// A session backend.
///
/// Implementations must make each commit and delete atomic with respect to the others on
/// the same key (a load may read and refresh in steps, as long as it never writes a
/// session's fields): a commit in [`WriteMode::Update`] never recreates a deleted session, a
/// [`WriteMode::Create`] never overwrites an existing one, and an update changes only the
/// fields it names, whatever other writers did since the load. Every store supports every
/// [`Layout`]; reading a session in a layout other than the one it was written in is an
/// error.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Loads a session, refreshing its time-to-live in the same round trip when asked.
    /// `Ok(None)` means there is no such session (never created, ended or expired).
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError>;

    /// Applies a change set atomically. A store that ends sessions to keep an index within
    /// its cap ([`IndexMoves::cap`]) names them in [`Committed::ended_by_cap`].
    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError>;

    /// Deletes a session and takes its id out of the per-user indexes `leave`. Returns
    /// whether the session existed.
    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError>;

    /// Deletes a session that a renewal is about to replace: like [`delete`], but its id
    /// stays in the indexes `hold`, marked as just used (so no listing drops it as stale
    /// within [`INDEX_GRACE`]), for the renewal's create to take its place there (see
    /// [`TakeOver`]). Returns the session as it was when deleted, read in the same atomic
    /// step (its fields, creation time and time left; a JSON document with its text in
    /// [`Record::snapshot`]), or `None` when there was none. The renewal starts the new
    /// session from it, so a write another request made since the renewal's load moves
    /// with the session instead of being lost.
    ///
    /// [`delete`]: SessionStore::delete
    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError>;

    /// Up to `limit` live sessions of a per-user index, the ones that joined last first,
    /// each with its creation time, its time left and its [`DEVICE_FIELD`] (see
    /// [`Listed`]), read with the check that it is live. Entries of sessions that expired
    /// or ended are removed from the index on the way (once older than [`INDEX_GRACE`]).
    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError>;

    /// Ends every session in a per-user index but `keep`, and takes them out of it, in
    /// bounded batches. Returns the ids of the sessions that existed and were ended (each
    /// once; the middleware reports each in a lifecycle event). A session that a renewal
    /// is moving to a new id meanwhile is ended too (see [`TakeOver`]).
    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError>;

    /// Adds to one integer field of a live session, atomically, and refreshes its
    /// time-to-live, in one step; returns the field's new value. `Ok(None)`: there is no
    /// live session (never created, ended or expired), and nothing was written: an
    /// increment never brings back a session. It counts from what a load shows (see
    /// [`Increment`]): a stored value the field's type does not decode counts as `absent`
    /// (its default); a result outside `min..=max` or `i64`, or a stored value past `i64`,
    /// is [`StoreError::OutOfRange`], and changes nothing.
    ///
    /// Concurrent increments of one field all count: none reads a value another is about
    /// to change. The default refuses with [`StoreError::Unsupported`], so a store written
    /// before increments existed still compiles; the middleware then answers the request
    /// with that error.
    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        let _ = key;
        Err(StoreError::Unsupported(format!(
            "this store cannot increment field `{}`",
            change.field
        )))
    }
}
