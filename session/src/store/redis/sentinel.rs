//! The Sentinel store: the same layouts and scripts as
//! [`RedisStore`](super::RedisStore), on whichever server the sentinels name as the
//! master, following a failover.
//!
//! The redis crate asks the sentinels for the master once per connection and does not
//! follow a failover by itself. So this store keeps one multiplexed connection to the
//! master it was told of, and drops it on any error: the next call asks the sentinels
//! again. A call that failed on a dropped connection (the master restarted, or was turned
//! into a replica) asks them at once and is made once more, when repeating it cannot change
//! its outcome (see `retry.rs`). A request that fails while the master is down or
//! being replaced gets a 503; the first one after the sentinels have promoted a replica
//! finds the new master. A failover the sentinels carry out while the old master is still
//! up shows up the same way: they close its clients' connections when they turn it into a
//! replica, and a write that reaches it anyway is refused (`READONLY`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, IntoConnectionInfo};
use tokio::sync::Mutex;

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

/// Sessions on a Redis master found through Sentinel, by the master's name. Clones share
/// the connection.
///
/// A load, an index listing or a create that fails because the master closed the
/// connection (it restarted, or became a replica) asks the sentinels again and is made
/// once more. An update or a delete is not made again (see `RedisStore`), nor is a call
/// that timed out.
#[derive(Clone)]
pub struct RedisSentinelStore {
    shared: Arc<Shared>,
}

struct Shared {
    /// Locked while asking the sentinels, so a failover causes one lookup, not one per
    /// waiting request.
    sentinel: Mutex<SentinelClient>,
    master: std::sync::Mutex<Option<MultiplexedConnection>>,
    config: AsyncConnectionConfig,
    lookup_timeout: Duration,
    operations: Operations,
}

impl RedisSentinelStore {
    /// Connects to the master called `master_name`, asking the sentinels at `sentinels`
    /// (`redis://host:port` URLs of sentinel processes, not of Redis servers), with the
    /// default timeouts.
    ///
    /// ```no_run
    /// use actix_typed_session::store::RedisSentinelStore;
    /// use actix_typed_session::{Keys, SessionMiddleware};
    ///
    /// # async fn app() -> Result<(), actix_typed_session::StoreError> {
    /// let store = RedisSentinelStore::connect(["redis://10.0.0.1:26379"], "mymaster").await?;
    /// let sessions = SessionMiddleware::new(store, Keys::new(["a long random secret from your configuration"]));
    /// # Ok(()) }
    /// ```
    pub async fn connect<I, S>(sentinels: I, master_name: &str) -> Result<Self, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::builder(sentinels, master_name).connect().await
    }

    /// A builder for credentials and timeouts.
    pub fn builder<I, S>(sentinels: I, master_name: &str) -> RedisSentinelStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisSentinelStoreBuilder {
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            master_name: master_name.to_owned(),
            db: None,
            settings: ConnectionSettings::default(),
            sentinel_password: None,
        }
    }

    /// How many sessions the current master holds under `prefix` (your `key_prefix`,
    /// `session:` by default), index keys aside: 0 on the old store of a
    /// [`MigratingStore`](crate::store::MigratingStore) says that every session has moved
    /// (or ended). It walks the keyspace with `SCAN`, about a thousand keys a round trip,
    /// so no call blocks Redis; for an operator's check, not for a request. A failover
    /// during the count fails it: count again.
    pub async fn count_sessions(&self, prefix: &str) -> Result<u64, StoreError> {
        let mut conn = self.master().await?;
        let counted = super::scan::count_sessions(&mut conn, prefix).await;
        self.settle(counted)
    }

    /// The connection to the current master, asking the sentinels for it when there is
    /// none. Bounded as a whole, waiting for another request's lookup included, so no
    /// request waits longer than the lookup timeout while the sentinels are slow.
    async fn master(&self) -> Result<MultiplexedConnection, StoreError> {
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        tokio::time::timeout(self.shared.lookup_timeout, self.look_up_master())
            .await
            .map_err(|_| StoreError::Unavailable("no master from the sentinels in time".into()))?
    }

    async fn look_up_master(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut sentinel = self.shared.sentinel.lock().await;
        // Another request may have found the master while this one waited for the lock.
        if let Some(conn) = self.cached() {
            return Ok(conn);
        }
        let client = sentinel.async_get_client().await?;
        let conn = client
            .get_multiplexed_async_connection_with_config(&self.shared.config)
            .await?;
        *self.slot() = Some(conn.clone());
        Ok(conn)
    }

    /// A client of the master the sentinels name now, asked afresh (the expiry listener
    /// subscribes on a connection of its own, and checks every few seconds that the master
    /// is still the same server).
    pub(super) async fn master_client(&self) -> Result<Client, StoreError> {
        let lookup = async { self.shared.sentinel.lock().await.async_get_client().await };
        Ok(tokio::time::timeout(self.shared.lookup_timeout, lookup)
            .await
            .map_err(|_| {
                StoreError::Unavailable("no master from the sentinels in time".into())
            })??)
    }

    /// Runs `cmd` on the master (the expiry listener's claims), dropping the connection
    /// when it fails, as every call of the store does.
    pub(super) async fn on_master<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.master().await?;
        let result = cmd.query_async(&mut conn).await.map_err(StoreError::from);
        self.settle(result)
    }

    fn cached(&self) -> Option<MultiplexedConnection> {
        self.slot().clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        // The guarded value is a plain handle: a panic elsewhere cannot leave it half set.
        self.shared
            .master
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops the connection after a failed call: the server may be down, or a replica now
    /// (`READONLY`), and the next call should ask the sentinels.
    fn settle<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_err() {
            *self.slot() = None;
        }
        result
    }
}

impl fmt::Debug for RedisSentinelStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSentinelStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for RedisSentinelStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        let operations = &self.shared.operations;
        retry_once_if_dropped(
            Repeat::Safe,
            || self.master(),
            |mut conn, attempt| async move {
                self.settle(operations.load(&mut conn, key, options, attempt).await)
            },
        )
        .await
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        let operations = &self.shared.operations;
        retry_once_if_dropped(
            Repeat::of_commit(changes),
            || self.master(),
            |mut conn, attempt| async move {
                self.settle(operations.commit(&mut conn, key, changes, attempt).await)
            },
        )
        .await
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let mut conn = self.master().await?;
        let result = self.shared.operations.delete(&mut conn, key, leave).await;
        self.settle(result)
    }

    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        let mut conn = self.master().await?;
        let result = self.shared.operations.retire(&mut conn, key, hold).await;
        self.settle(result)
    }

    /// Sent once: a repeat of an increment that landed would count twice.
    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        let mut conn = self.master().await?;
        let result = self
            .shared
            .operations
            .increment(&mut conn, key, change)
            .await;
        self.settle(result)
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        let operations = &self.shared.operations;
        retry_once_if_dropped(
            Repeat::Safe,
            || self.master(),
            |conn, _| async move { self.settle(operations.index_list(&conn, index, limit).await) },
        )
        .await
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let conn = self.master().await?;
        let result = self.shared.operations.index_end(&conn, index, keep).await;
        self.settle(result)
    }
}

/// Settings for a [`RedisSentinelStore`], from [`RedisSentinelStore::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisSentinelStoreBuilder {
    sentinels: Vec<String>,
    master_name: String,
    db: Option<i64>,
    settings: ConnectionSettings,
    sentinel_password: Option<String>,
}

/// Leaves the passwords out, and the sentinel URLs, which may carry one.
impl fmt::Debug for RedisSentinelStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("RedisSentinelStoreBuilder");
        out.field("sentinels", &self.sentinels.len())
            .field("master_name", &self.master_name)
            .field("db", &self.db);
        self.settings.show(&mut out).finish_non_exhaustive()
    }
}

impl RedisSentinelStoreBuilder {
    /// The database number on the master. Default: 0.
    pub fn db(mut self, db: i64) -> Self {
        self.db = Some(db);
        self
    }

    connection_setters! {
        username: "The ACL user name on the master and its replicas. Default: none.",
        password: "The password of the master and its replicas. Default: none.",
        connect_timeout: "How long connecting to the master may take; asking the sentinels and \
            connecting may take twice that. Default: 2 s.",
        response_timeout: "How long to wait for the answer to one command. Default: 1 s.",
    }

    /// The password of the sentinels, when they have one of their own. Default: none.
    pub fn sentinel_password(mut self, password: impl Into<String>) -> Self {
        self.sentinel_password = Some(password.into());
        self
    }

    /// Asks the sentinels for the master, connects, and loads the scripts there.
    pub async fn connect(self) -> Result<RedisSentinelStore, StoreError> {
        let invalid =
            |err: redis::RedisError| StoreError::Unavailable(format!("invalid sentinel: {err}"));
        let mut addresses = Vec::with_capacity(self.sentinels.len());
        for url in &self.sentinels {
            addresses.push(
                url.as_str()
                    .into_connection_info()
                    .map_err(invalid)?
                    .addr()
                    .clone(),
            );
        }
        let mut builder =
            SentinelClientBuilder::new(addresses, &self.master_name, SentinelServerType::Master)
                .map_err(invalid)?;
        if let Some(db) = self.db {
            builder = builder.set_client_to_redis_db(db);
        }
        if let Some(username) = &self.settings.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &self.settings.password {
            builder = builder.set_client_to_redis_password(password);
        }
        if let Some(password) = &self.sentinel_password {
            builder = builder.set_client_to_sentinel_password(password);
        }
        let store = RedisSentinelStore {
            shared: Arc::new(Shared {
                sentinel: Mutex::new(builder.build().map_err(invalid)?),
                master: std::sync::Mutex::new(None),
                config: AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.settings.connect_timeout))
                    .set_response_timeout(Some(self.settings.response_timeout)),
                lookup_timeout: self.settings.connect_timeout * 2,
                operations: Operations::new(Topology::OneNode),
            }),
        };
        let mut conn = store.master().await?;
        store.shared.operations.preload(&mut conn).await?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_shows_neither_the_passwords_nor_the_sentinel_urls() {
        let builder = RedisSentinelStore::builder(["redis://:secret@10.0.0.1:26379"], "main")
            .username("app")
            .password("hunter2")
            .sentinel_password("hunter3");
        assert_eq!(
            format!("{builder:?}"),
            "RedisSentinelStoreBuilder { sentinels: 1, master_name: \"main\", db: None, \
             username: Some(\"app\"), connect_timeout: 2s, response_timeout: 1s, .. }"
        );
    }
}
