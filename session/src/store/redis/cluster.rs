//! The Redis Cluster store: the same layouts and Lua scripts as
//! [`RedisStore`](super::RedisStore), sent through the redis crate's cluster client, which
//! routes each command to the master owning its key and follows `MOVED` and `ASK`.
//!
//! Each session is one key, so every script touches a single hash slot, as Redis Cluster
//! requires. A per-user index is a key of its own in another slot, so a commit that moves
//! a session between indexes sends the index commands separately (see `operations.rs` and
//! `index.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
use redis::{Cmd, ConnectionInfo, FromRedisValue, IntoConnectionInfo};
use tokio::runtime::Handle;

use super::checked_connection::{answered, got_no_answer, CheckedConnection};
use super::operations::Operations;
use super::retry::Attempt;
use super::settings::{connection_setters, ConnectionSettings};
use super::topology::Topology;
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::{
    ChangeSet, Committed, Increment, IndexKey, Listed, LoadOptions, Record, SessionKey,
    SessionStore,
};

/// Sessions in a Redis Cluster, through one multiplexed connection per node that the
/// client keeps up to date with the cluster's slot map. Clones share the connections.
///
/// Loads cost one round trip and commits one, as on a single node: the scripts are sent
/// with `EVALSHA` to the node owning the session's slot. A node that lost its script cache
/// (a replica promoted after a failover, a restart) answers `NOSCRIPT`; the script is then
/// loaded on every master and the call retried, once.
///
/// A call that got no answer has the connections checked in the background: a connection
/// to a node that died without a word (a firewall that forgot it) is replaced, with the
/// others, once a fresh set answers every master.
#[derive(Clone)]
pub struct RedisClusterStore {
    conn: Arc<CheckedConnection<ClusterConnection>>,
    /// Makes a fresh set of connections when the check finds the current one dead.
    client: Arc<ClusterClient>,
    /// The runtime the store was connected on, where the connections' I/O runs.
    home: Handle,
    operations: Arc<Operations>,
    /// How to reach one node by itself (the first node URL's scheme, TLS settings and
    /// credentials), for connections the cluster client does not make: the expiry
    /// listener subscribes on each master.
    node: Arc<ConnectionInfo>,
}

impl RedisClusterStore {
    /// Connects through the given nodes (`redis://host:port` URLs; one reachable node is
    /// enough, the client learns the others from it), with the default timeouts.
    ///
    /// ```no_run
    /// use actix_typed_session::store::RedisClusterStore;
    /// use actix_typed_session::{Keys, SessionMiddleware};
    ///
    /// # async fn app() -> Result<(), actix_typed_session::StoreError> {
    /// let store = RedisClusterStore::connect(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]).await?;
    /// let sessions = SessionMiddleware::new(store, Keys::new(["a long random secret from your configuration"]));
    /// # Ok(()) }
    /// ```
    pub async fn connect<I, S>(nodes: I) -> Result<Self, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::builder(nodes).connect().await
    }

    /// A builder for credentials and timeouts.
    pub fn builder<I, S>(nodes: I) -> RedisClusterStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisClusterStoreBuilder {
            nodes: nodes.into_iter().map(Into::into).collect(),
            settings: ConnectionSettings::default(),
            request_timeout: Duration::from_secs(3),
            retries: 6,
        }
    }

    /// How many sessions the cluster holds under `prefix` (your `key_prefix`, `session:`
    /// by default), index keys aside: 0 on the old store of a
    /// [`MigratingStore`](crate::store::MigratingStore) says that every session has moved
    /// (or ended). It walks every master's keyspace with `SCAN`, about a thousand keys a
    /// round trip, so no call blocks Redis; for an operator's check, not for a request.
    pub async fn count_sessions(&self, prefix: &str) -> Result<u64, StoreError> {
        let counted = super::scan::count_cluster_sessions(&mut self.conn.get(), prefix).await;
        self.settle(counted)
    }

    /// Passes a call's `result` on, checking the connections first when the call got no
    /// answer (see [`CheckedConnection`]). The check runs where the store was connected,
    /// as the connections' I/O does, not on the worker whose call timed out: the
    /// connections are shared by every worker, and must outlive any one of them.
    fn settle<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if !got_no_answer(&result) {
            return result;
        }
        let client = self.client.clone();
        self.conn.check(
            &self.home,
            |mut conn: ClusterConnection| async move {
                let every_master = RoutingInfo::MultiNode((
                    MultipleNodeRoutingInfo::AllMasters,
                    Some(ResponsePolicy::AllSucceeded),
                ));
                answered(
                    conn.route_command(redis::cmd("PING"), every_master)
                        .await
                        .map(drop),
                )
            },
            || async move { client.get_async_connection().await.ok() },
        );
        result
    }
}

impl fmt::Debug for RedisClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClusterStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for RedisClusterStore {
    async fn load(
        &self,
        key: &SessionKey,
        options: LoadOptions,
    ) -> Result<Option<Record>, StoreError> {
        let loaded = self
            .operations
            .load(&mut self.conn.get(), key, options, Attempt::First)
            .await;
        self.settle(loaded)
    }

    async fn commit(&self, key: &SessionKey, changes: &ChangeSet) -> Result<Committed, StoreError> {
        // The cluster client repeats a command itself after a dropped connection, out of
        // sight here, so a create under a fresh id may be a repeat of a first try that
        // landed: its collision is that first copy, with its index joins and take-overs,
        // since nobody else can hold a fresh id (`ChangeSet::fresh_id`). Taken for a
        // collision, the index entries it took over would be given up, and a renewal would
        // log the user out.
        let attempt = if changes.fresh_id {
            Attempt::Again
        } else {
            Attempt::First
        };
        let committed = self
            .operations
            .commit(&mut self.conn.get(), key, changes, attempt)
            .await;
        self.settle(committed)
    }

    async fn delete(&self, key: &SessionKey, leave: &[IndexKey]) -> Result<bool, StoreError> {
        let deleted = self
            .operations
            .delete(&mut self.conn.get(), key, leave)
            .await;
        self.settle(deleted)
    }

    async fn retire(
        &self,
        key: &SessionKey,
        hold: &[IndexKey],
    ) -> Result<Option<Record>, StoreError> {
        let retired = self
            .operations
            .retire(&mut self.conn.get(), key, hold)
            .await;
        self.settle(retired)
    }

    /// Sent once by this store. The cluster client itself repeats a command whose
    /// connection dropped before the answer came (the crate's retries, which also follow
    /// `MOVED` and `ASK`), so an increment that landed just before a connection was cut
    /// can count twice: see the README's Cluster section.
    async fn increment(
        &self,
        key: &SessionKey,
        change: &Increment,
    ) -> Result<Option<i64>, StoreError> {
        let incremented = self
            .operations
            .increment(&mut self.conn.get(), key, change)
            .await;
        self.settle(incremented)
    }

    async fn index_list(&self, index: &IndexKey, limit: usize) -> Result<Vec<Listed>, StoreError> {
        let listed = self
            .operations
            .index_list(&self.conn.get(), index, limit)
            .await;
        self.settle(listed)
    }

    async fn index_end(
        &self,
        index: &IndexKey,
        keep: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let ended = self
            .operations
            .index_end(&self.conn.get(), index, keep)
            .await;
        self.settle(ended)
    }
}

impl RedisClusterStore {
    /// Runs `cmd` on the cluster (the expiry listener's claims and slot map), checked
    /// after a timeout as every call of the store is.
    pub(super) async fn on_cluster<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let result = cmd.query_async(&mut self.conn.get()).await;
        self.settle(result.map_err(StoreError::from))
    }

    /// How to reach one node by itself: the first node URL's settings, credentials
    /// included, with another address put in.
    pub(super) fn node_info(&self) -> &ConnectionInfo {
        &self.node
    }
}

/// Settings for a [`RedisClusterStore`], from [`RedisClusterStore::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisClusterStoreBuilder {
    nodes: Vec<String>,
    settings: ConnectionSettings,
    request_timeout: Duration,
    retries: u32,
}

/// Leaves the password out, and the node URLs, which may carry one.
impl fmt::Debug for RedisClusterStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("RedisClusterStoreBuilder");
        out.field("nodes", &self.nodes.len());
        self.settings
            .show(&mut out)
            .field("request_timeout", &self.request_timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl RedisClusterStoreBuilder {
    connection_setters! {
        username: "The ACL user name, for every node. Default: none.",
        password: "The password, for every node. Default: none.",
        connect_timeout: "How long one attempt to connect to a node may take. Default: 2 s.",
        response_timeout: "How long to wait for one node's answer to one command. Default: 1 s.",
    }

    /// How long one store call may take in all, redirections (`MOVED`, `ASK`), retries and
    /// reconnections included. A call still failing then fails, and the request gets a
    /// 503. Default: 3 s, enough to ride out a failover with a short `cluster-node-timeout`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many times a call is retried after a connection error or while the cluster is
    /// down or resharding, within the [request timeout](Self::request_timeout). Default: 6.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Connects, learns the slot map, and loads the scripts on every master.
    pub async fn connect(self) -> Result<RedisClusterStore, StoreError> {
        let mut builder = ClusterClientBuilder::new(self.nodes.iter().map(String::as_str))
            .connection_timeout(self.settings.connect_timeout)
            .response_timeout(self.settings.response_timeout)
            .overall_response_timeout(Some(self.request_timeout))
            .retries(self.retries)
            // Milliseconds: retries come quickly, a failover is over in a few seconds.
            .min_retry_wait(50)
            .max_retry_wait(500);
        if let Some(username) = &self.settings.username {
            builder = builder.username(username);
        }
        if let Some(password) = &self.settings.password {
            builder = builder.password(password);
        }
        let invalid = |err: redis::RedisError| {
            StoreError::Unavailable(format!("invalid cluster address: {err}"))
        };
        let client: ClusterClient = builder.build().map_err(invalid)?;
        let first = self.nodes.first().map(String::as_str).unwrap_or_default();
        let mut node = first.into_connection_info().map_err(invalid)?;
        let mut redis_settings = node.redis_settings().clone();
        if let Some(username) = &self.settings.username {
            redis_settings = redis_settings.set_username(username);
        }
        if let Some(password) = &self.settings.password {
            redis_settings = redis_settings.set_password(password);
        }
        node = node.set_redis_settings(redis_settings);
        let mut conn = client.get_async_connection().await?;
        let operations = Operations::new(Topology::Cluster);
        // Every master caches the scripts, so the first request sends only `EVALSHA`.
        operations.preload(&mut conn).await?;
        Ok(RedisClusterStore {
            conn: CheckedConnection::new(conn),
            client: Arc::new(client),
            home: Handle::current(),
            operations: Arc::new(operations),
            node: Arc::new(node),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store is `Debug`, as every public type (an app's state that holds one derives it).
    #[test]
    fn the_store_is_debug() {
        fn shows<T: fmt::Debug>() {}
        shows::<RedisClusterStore>();
    }

    #[test]
    fn the_builder_shows_neither_the_password_nor_the_node_urls() {
        let builder = RedisClusterStore::builder(["redis://:secret@10.0.0.1:7000"])
            .username("app")
            .password("hunter2");
        assert_eq!(
            format!("{builder:?}"),
            "RedisClusterStoreBuilder { nodes: 1, username: Some(\"app\"), \
             connect_timeout: 2s, response_timeout: 1s, request_timeout: 3s, retries: 6, .. }"
        );
    }
}
