//! The Redis store: one hash per session, one hash field per session field (or, in the
//! JSON layout, one string per session: see `redis_json.rs`), and every load and commit in
//! a single round trip: loads as a pipeline (`redis_hash_load.rs`), commits through a Lua
//! script.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionAddr, IntoConnectionInfo, Script, Value};

use super::redis_local::Connections;
use super::redis_retry::{retry_once_if_dropped, Attempt, Repeat};
use super::redis_script::ScriptCall;
use super::time::{epoch_millis, millis, parse_epoch_millis};
use super::{
    ChangeSet, CommitOutcome, IndexKey, Layout, LoadOptions, Record, SessionKey, SessionStore,
    WriteMode,
};
use crate::error::StoreError;
use crate::id::SessionId;

/// The reserved hash field holding the creation time in milliseconds since the epoch. It
/// also keeps the hash alive when a session has no fields of its own.
const CREATED_FIELD: &str = "__created";

const LOAD_SCRIPT: &str = include_str!("lua/load.lua");
const COMMIT_SCRIPT: &str = concat!(
    include_str!("lua/index.lua"),
    include_str!("lua/commit.lua")
);
const INDEX_JOIN_SCRIPT: &str = concat!(
    include_str!("lua/index.lua"),
    include_str!("lua/index_join.lua")
);

/// Sessions in Redis, reached through multiplexed connections that reconnect by
/// themselves: one per thread that uses the store, so a worker's commands never wait for
/// another thread. Clones share those connections.
///
/// A connection learns that Redis went away only when a command fails on it. A load, an
/// index listing or a create that fails so is made once more, once the connection has
/// reconnected: the first request after a restart is served. An update or a delete, whose
/// repeat could undo another writer's change or answer differently, is not made again,
/// nor is a call that timed out.
///
/// Layout: the session key names a hash with one field per session field, holding the
/// encoded value as given, plus the reserved field `__created`. Fields this library does
/// not know are returned by loads and left untouched by commits.
#[derive(Clone)]
pub struct RedisStore {
    conns: Connections,
    scripts: Arc<Scripts>,
}

/// The Lua scripts of both layouts and the commands around them, shared by the
/// single-node, Sentinel and cluster stores.
pub(super) struct Scripts {
    pub(super) load: Script,
    commit: Script,
    pub(super) json_load: Script,
    pub(super) json_commit: Script,
    pub(super) index_join: Script,
    pub(super) topology: Topology,
}

/// Where the keys of one call may live, which decides whether a session and its per-user
/// indexes can be changed in one script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Topology {
    /// Every key on one server: a commit moves the session's indexes in its own script.
    OneNode,
    /// Keys spread over cluster slots: a script may touch only the session's own key, so
    /// index changes are separate commands, joins before the write and leaves after it.
    Cluster,
}

impl RedisStore {
    /// Connects to the server at `url`: `redis://[user:password@]host[:port][/db]`,
    /// `rediss://...` (TLS, with the `tls` feature) or `redis+unix:///path/to/socket`,
    /// with the default timeouts. See [`RedisStore::builder`] for the rest.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder().url(url).connect().await
    }

    /// A builder for a store with a host and port instead of a URL, a database, credentials,
    /// an address family or other timeouts.
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// Loads the scripts (both layouts' and the index join) into the server's script cache,
    /// so the first request sends only `EVALSHA`. After a server restart `EVALSHA` reports
    /// `NOSCRIPT`, and the call loads the script and is sent again, once (`ScriptCall`).
    async fn load_scripts(&self) -> Result<(), StoreError> {
        self.scripts.preload(&mut self.conns.home()).await
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        let scripts = &self.scripts;
        retry_once_if_dropped(
            Repeat::Safe,
            || self.conns.get(),
            |mut conn, attempt| async move { scripts.load(&mut conn, key, options, attempt).await },
        )
        .await
    }

    async fn commit(
        &self,
        key: &SessionKey,
        changes: &ChangeSet,
    ) -> Result<CommitOutcome, StoreError> {
        let scripts = &self.scripts;
        retry_once_if_dropped(
            Repeat::of_commit(changes),
            || self.conns.get(),
            |mut conn, attempt| async move { scripts.commit(&mut conn, key, changes, attempt).await },
        )
        .await
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        self.scripts
            .delete(&mut self.conns.get().await?, key, leave)
            .await
    }

    async fn index_list(&self, index: &IndexKey) -> Result<Vec<SessionId>, StoreError> {
        let scripts = &self.scripts;
        retry_once_if_dropped(
            Repeat::Safe,
            || self.conns.get(),
            |conn, _| async move { scripts.index_list(&conn, index).await },
        )
        .await
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        self.scripts
            .index_end(&self.conns.get().await?, index, keep)
            .await
    }
}

impl Scripts {
    pub(super) fn new(topology: Topology) -> Self {
        Self {
            load: Script::new(LOAD_SCRIPT),
            commit: Script::new(COMMIT_SCRIPT),
            json_load: Script::new(super::redis_json::LOAD_SCRIPT),
            json_commit: Script::new(super::redis_json::COMMIT_SCRIPT),
            index_join: Script::new(INDEX_JOIN_SCRIPT),
            topology,
        }
    }

    /// Sends `SCRIPT LOAD` for the scripts ahead of the first request. On a cluster
    /// the client sends it to every master.
    pub(super) async fn preload<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> Result<(), StoreError> {
        let scripts = [
            &self.load,
            &self.commit,
            &self.json_load,
            &self.json_commit,
            &self.index_join,
        ];
        for script in scripts {
            script.load_async(conn).await?;
        }
        Ok(())
    }

    /// Applies a change set in one round trip, with its index moves: inside the write's own
    /// script for the hash layout on one node; elsewhere (a cluster, where the index is in
    /// another slot, or the JSON layout, whose script knows no index) joins are sent before
    /// the write and leaves after it. `attempt` says whether an earlier try may have landed
    /// (see `redis_retry.rs`).
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
            self.join_indexes(conn, key, moves).await?;
        }
        let mut outcome = match changes.layout {
            Layout::Json(write) => self.commit_json(conn, key, changes, write).await?,
            _ => self.commit_fields(conn, key, changes, inline).await?,
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
            self.leave_indexes(conn, key, leave).await?;
        }
        Ok(outcome)
    }

    /// Applies a change set to a session hash (see `lua/commit.lua`), with its index moves
    /// when `inline`.
    async fn commit_fields<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        key: &SessionKey,
        changes: &ChangeSet,
        inline: bool,
    ) -> Result<CommitOutcome, StoreError> {
        let moves = &changes.index;
        let mut keys = vec![key.as_str()];
        if inline {
            keys.extend(moves.join.iter().chain(&moves.leave).map(IndexKey::as_str));
        }
        let mut call = ScriptCall::new(&self.commit, &keys);
        match changes.mode {
            WriteMode::Create { created_at } => {
                call.arg("create").arg(millis(changes.ttl));
                call.arg(epoch_millis(created_at));
            }
            WriteMode::Update { created_at } => {
                // An empty argument leaves the time-to-live, or the creation time, as it is.
                let ttl = (!changes.ttl_current).then(|| millis(changes.ttl).to_string());
                let created_at = created_at.map(|at| epoch_millis(at).to_string());
                call.arg("update")
                    .arg(ttl.unwrap_or_default())
                    .arg(created_at.unwrap_or_default());
            }
        }
        // Only the indexes the script moves need the id; without any it is left empty.
        let id = if keys.len() > 1 { key.id() } else { "" };
        call.arg(changes.set.len());
        call.arg(if inline { moves.join.len() } else { 0 })
            .arg(
                moves
                    .ttl
                    .map(|ttl| millis(ttl).to_string())
                    .unwrap_or_default(),
            )
            .arg(id);
        for (name, value) in &changes.set {
            call.arg(name).arg(value);
        }
        call.arg(&changes.remove);
        let status: i64 = call.invoke(conn).await?;
        match status {
            0 => Ok(CommitOutcome::Written),
            1 => Ok(CommitOutcome::Missing),
            2 => Ok(CommitOutcome::Collision),
            other => Err(StoreError::Protocol(format!(
                "commit script returned {other}"
            ))),
        }
    }
}

/// Turns the load script's reply into a record: see [`found_session`], with the stored
/// session as the hash's `[name, value, ...]`.
pub(super) fn decode_record(reply: Value, key: &SessionKey) -> Result<Option<Record>, StoreError> {
    found_session(reply, key)?.map(record_of).transpose()
}

/// A found session hash as a record: `found.stored` is the hash's `[name, value, ...]`.
pub(super) fn record_of(found: Found) -> Result<Record, StoreError> {
    let Value::Array(flat) = found.stored else {
        return Err(unexpected_load_reply());
    };
    let mut fields = HashMap::with_capacity(flat.len() / 2);
    let mut created_at = None;
    let mut flat = flat.into_iter();
    while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
        let (Value::BulkString(name), Value::BulkString(value)) = (name, value) else {
            return Err(unexpected_load_reply());
        };
        // A field whose name is not UTF-8 was written by someone else and cannot be
        // one of ours: skip it here, and commits leave it untouched in Redis.
        let Ok(name) = String::from_utf8(name) else {
            continue;
        };
        if name == CREATED_FIELD {
            created_at = parse_epoch_millis(&value);
        } else {
            fields.insert(name, value);
        }
    }
    Ok(Record {
        fields,
        // A hash written by another program may lack the creation time: unknown, which is
        // not a reason to refuse a session that is otherwise fine.
        created_at,
        ttl: found.ttl,
        refreshed: found.refreshed,
        snapshot: None,
    })
}

/// What a load finds when the key holds a session of its layout.
#[derive(Debug)]
pub(super) struct Found {
    /// The session as stored: the hash's `[name, value, ...]`, or the JSON text.
    pub(super) stored: Value,
    /// The time left; `None` when the key has no expiry.
    pub(super) ttl: Option<Duration>,
    /// Whether the load pushed the time-to-live back.
    pub(super) refreshed: bool,
}

/// Splits a load script's reply: nil (no key), the type of a key that holds another
/// program's data, or `[stored, pttl, refreshed]`.
///
/// A key of another type (a list, a string where a hash belongs) is no session: the
/// request goes on with a fresh one, saved under a new id, and the key is left as it is.
pub(super) fn found_session(reply: Value, key: &SessionKey) -> Result<Option<Found>, StoreError> {
    let parts = match reply {
        Value::Nil => return Ok(None),
        Value::Array(parts) => parts,
        Value::BulkString(kind) => {
            warn_foreign_key(key, &String::from_utf8_lossy(&kind));
            return Ok(None);
        }
        _ => return Err(unexpected_load_reply()),
    };
    let Ok([stored, Value::Int(pttl), Value::Int(refreshed)]) = <[Value; 3]>::try_from(parts)
    else {
        return Err(unexpected_load_reply());
    };
    Ok(Some(Found {
        stored,
        ttl: ttl_of(pttl),
        refreshed: refreshed == 1,
    }))
}

/// The time left, from a `PTTL` answer: -1, the key has no expiry; -2, the key is gone
/// (it was deleted or expired just now), nothing left.
pub(super) fn ttl_of(pttl: i64) -> Option<Duration> {
    match pttl {
        -1 => None,
        ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
    }
}

/// A key of another type under a session's name: `kind`, as `TYPE` names it.
pub(super) fn warn_foreign_key(key: &SessionKey, kind: &str) {
    tracing::warn!(
        session = ?key,
        %kind,
        "the session key holds data of another type; treated as no session"
    );
}

/// Says nothing of the reply itself: it may hold session data.
pub(super) fn unexpected_load_reply() -> StoreError {
    StoreError::Protocol("unexpected reply to a session load".into())
}

/// Which addresses a host name may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Any,
    V4,
    V6,
}

/// Settings for a [`RedisStore`], from [`RedisStore::builder`].
///
/// The fields of the seed's koa `redisConfig` map one to one: `host`, `port`, `db`,
/// `password`, and `family: 4` / `family: 6` to [`ipv4`](Self::ipv4) / [`ipv6`](Self::ipv6).
#[derive(Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    url: Option<String>,
    host: String,
    port: u16,
    db: Option<i64>,
    family: Family,
    username: Option<String>,
    password: Option<String>,
    connect_timeout: Duration,
    response_timeout: Duration,
    reconnect_retries: usize,
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        Self {
            url: None,
            host: "127.0.0.1".into(),
            port: 6379,
            db: None,
            family: Family::Any,
            username: None,
            password: None,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(1),
            reconnect_retries: 1,
        }
    }
}

/// Leaves the password out.
impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("family", &self.family)
            .field("username", &self.username)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Connects to this URL (see [`RedisStore::connect`]) instead of host and port. The
    /// database and credentials set on the builder override those in the URL. Default:
    /// none, host and port.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The server's host name or IP address. Default: `127.0.0.1`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The server's port. Default: 6379.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The database number to `SELECT`. Default: 0, or the one in the URL.
    pub fn db(mut self, db: i64) -> Self {
        self.db = Some(db);
        self
    }

    /// Connects over IPv4 only (koa's `family: 4`). The host is resolved once, on connect.
    /// Default: whichever family the host resolves to.
    pub fn ipv4(mut self) -> Self {
        self.family = Family::V4;
        self
    }

    /// Connects over IPv6 only (koa's `family: 6`). The host is resolved once, on connect.
    /// Default: whichever family the host resolves to.
    pub fn ipv6(mut self) -> Self {
        self.family = Family::V6;
        self
    }

    /// The ACL user name (Redis 6 and later). Default: none, or the one in the URL.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The password (`requirepass`, or the ACL user's). Default: none, or the one in the
    /// URL.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// How long one attempt to connect may take. Default: 2 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the answer to one command. Default: 1 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a failed connection attempt is retried before the request waiting
    /// for it fails. Default: 1. A call waits at most about
    /// `connect_timeout * (retries + 1)` for a connection, plus `response_timeout`; twice
    /// that when its first try finds the connection dropped and it is made again.
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// Connects, and loads the scripts the store uses into the server's script cache.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let info = match &self.url {
            Some(url) => url.as_str().into_connection_info(),
            None => ConnectionAddr::Tcp(self.host.clone(), self.port).into_connection_info(),
        }
        .map_err(|err| StoreError::Unavailable(format!("invalid Redis address: {err}")))?;
        let info = match (info.addr(), self.family) {
            (ConnectionAddr::Tcp(host, port), family) if family != Family::Any => {
                let ip = resolve(host, *port, family).await?;
                info.clone().set_addr(ConnectionAddr::Tcp(ip, *port))
            }
            _ => info,
        };
        let mut settings = info.redis_settings().clone();
        if let Some(db) = self.db {
            settings = settings.set_db(db);
        }
        if let Some(username) = &self.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        let client = Client::open(info.set_redis_settings(settings))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(self.reconnect_retries)
            .set_max_delay(self.connect_timeout);
        let home = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        let store = RedisStore {
            conns: Connections::new(home, client, config),
            scripts: Arc::new(Scripts::new(Topology::OneNode)),
        };
        store.load_scripts().await?;
        Ok(store)
    }
}

/// The first address of `family` that `host` resolves to, as an IP literal.
async fn resolve(host: &str, port: u16, family: Family) -> Result<String, StoreError> {
    let mut addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|err| StoreError::Unavailable(format!("cannot resolve {host}: {err}")))?;
    addresses
        .find(|addr| match family {
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
            Family::Any => true,
        })
        .map(|addr| addr.ip().to_string())
        .ok_or_else(|| {
            let family = if family == Family::V6 { "IPv6" } else { "IPv4" };
            StoreError::Unavailable(format!("{host} has no {family} address"))
        })
}
