//! The single-node store and its builder: one server, reached through one connection per
//! thread (`connections.rs`), a call that found its connection dropped made once more
//! (`retry.rs`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, ConnectionAddr, FromRedisValue, IntoConnectionInfo};

use super::connections::Connections;
use super::operations::Operations;
use super::retry::{retry_once_if_dropped, Repeat};
use super::settings::{connection_setters, ConnectionSettings};
use super::topology::Topology;
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::{
    ChangeSet, Committed, Increment, IndexKey, Listed, LoadOptions, Record, SessionKey,
    SessionStore,
};

/// Sessions in Redis, reached through multiplexed connections that reconnect by
/// themselves: one per thread that uses the store, so a worker's commands never wait for
/// another thread. Clones share those connections.
///
/// A connection learns that Redis went away only when a command fails on it. A load, an
/// index listing or a create that fails so is made once more, once the connection has
/// reconnected: the first request after a restart is served. An update or a delete, whose
/// repeat could undo another writer's change or answer differently, is not made again,
/// nor is a call that timed out. A call that timed out has its connection checked in the
/// background instead, and a connection that died without a word (a firewall that forgot
/// it) is replaced once a fresh one answers.
///
/// Layout: the session key names a hash with one field per session field, holding the
/// encoded value as given, plus the reserved field `__created`. Fields this library does
/// not know are returned by loads and left untouched by commits.
#[derive(Clone)]
pub struct RedisStore {
    conns: Connections,
    operations: Arc<Operations>,
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

    /// How many sessions the server holds under the key prefix `prefix` (the middleware's
    /// [`key_prefix`](crate::SessionMiddlewareBuilder::key_prefix), `session:` by default),
    /// index keys left out: with a [`MigratingStore`](crate::store::MigratingStore), `0`
    /// on its old store says that every session has moved (or ended). It walks the whole
    /// keyspace with `SCAN`, about a thousand keys a round trip, so no call blocks Redis;
    /// for an operator's check, not for a request.
    pub async fn count_sessions(&self, prefix: &str) -> Result<u64, StoreError> {
        let counted = super::scan::count_sessions(&mut self.conns.get().await?, prefix).await;
        self.conns.settle(counted)
    }

    /// The client the store's connections are made with.
    pub(super) fn client(&self) -> &Client {
        self.conns.client()
    }

    /// Runs `cmd` on the connection of the runtime the caller runs on (the expiry
    /// listener's claims), checked after a timeout as every call of the store is.
    pub(super) async fn on_server<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.conns.get().await?;
        let result = cmd.query_async(&mut conn).await.map_err(StoreError::from);
        self.conns.settle(result)
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
        let operations = &self.operations;
        let loaded =
            retry_once_if_dropped(
                Repeat::Safe,
                || self.conns.get(),
                |mut conn, attempt| async move {
                    operations.load(&mut conn, key, options, attempt).await
                },
            )
            .await;
        self.conns.settle(loaded)
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        let operations = &self.operations;
        let committed =
            retry_once_if_dropped(
                Repeat::of_commit(changes),
                || self.conns.get(),
                |mut conn, attempt| async move {
                    operations.commit(&mut conn, key, changes, attempt).await
                },
            )
            .await;
        self.conns.settle(committed)
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let deleted = self
            .operations
            .delete(&mut self.conns.get().await?, key, leave)
            .await;
        self.conns.settle(deleted)
    }

    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        let retired = self
            .operations
            .retire(&mut self.conns.get().await?, key, hold)
            .await;
        self.conns.settle(retired)
    }

    /// Sent once: a repeat of an increment that landed would count twice.
    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        let incremented = self
            .operations
            .increment(&mut self.conns.get().await?, key, change)
            .await;
        self.conns.settle(incremented)
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        let operations = &self.operations;
        let listed = retry_once_if_dropped(
            Repeat::Safe,
            || self.conns.get(),
            |conn, _| async move { operations.index_list(&conn, index, limit).await },
        )
        .await;
        self.conns.settle(listed)
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let ended = self
            .operations
            .index_end(&self.conns.get().await?, index, keep)
            .await;
        self.conns.settle(ended)
    }
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
    settings: ConnectionSettings,
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
            settings: ConnectionSettings::default(),
            reconnect_retries: 1,
        }
    }
}

/// Leaves the password out.
impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("RedisStoreBuilder");
        out.field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("family", &self.family);
        self.settings
            .show(&mut out)
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

    connection_setters! {
        username: "The ACL user name (Redis 6 and later). Default: none, or the one in the URL.",
        password: "The password (`requirepass`, or the ACL user's). Default: none, or the one in \
            the URL.",
        connect_timeout: "How long one attempt to connect may take. Default: 2 s.",
        response_timeout: "How long to wait for the answer to one command. Default: 1 s.",
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
        if let Some(username) = &self.settings.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &self.settings.password {
            settings = settings.set_password(password);
        }
        let client = Client::open(info.set_redis_settings(settings))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(Some(self.settings.response_timeout))
            .set_number_of_retries(self.reconnect_retries)
            .set_max_delay(self.settings.connect_timeout);
        let home = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        let store = RedisStore {
            conns: Connections::new(home, client, config),
            operations: Arc::new(Operations::new(Topology::OneNode)),
        };
        store.operations.preload(&mut store.conns.home()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_shows_its_settings_but_not_the_password() {
        let builder = RedisStore::builder()
            .username("app")
            .password("hunter2")
            .port(7000);
        assert_eq!(
            format!("{builder:?}"),
            "RedisStoreBuilder { host: \"127.0.0.1\", port: 7000, db: None, family: Any, \
             username: Some(\"app\"), connect_timeout: 2s, response_timeout: 1s, \
             reconnect_retries: 1, .. }"
        );
    }
}
