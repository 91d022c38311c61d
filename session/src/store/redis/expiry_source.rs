//! Where the expiry listener (`expiry.rs`) hears expiries and writes its claims, for each
//! kind of deployment.
//!
//! Redis sends an expired-key notification only to subscribers of the server the key
//! expired on, so the listener subscribes on every master: the one server, the master the
//! sentinels name, or each master of a cluster. The listener asks again every few seconds
//! which servers those are, so it follows a failover, and a cluster's new masters.

use std::time::Duration;

use redis::{Client, Cmd};

use super::single_node::RedisStore;
use crate::error::StoreError;

#[cfg(feature = "cluster")]
use super::cluster::RedisClusterStore;
#[cfg(feature = "sentinel")]
use super::sentinel::RedisSentinelStore;

/// The servers an expiry listener subscribes on, and the connection its claims go through.
pub(super) enum ExpirySource {
    /// One server: subscribed on, and claimed on.
    OneNode(RedisStore),
    /// Every master of a cluster; claims go to the master owning the claim key's slot.
    #[cfg(feature = "cluster")]
    Cluster(RedisClusterStore),
    /// The master the sentinels name now.
    #[cfg(feature = "sentinel")]
    Sentinel(RedisSentinelStore),
}

impl ExpirySource {
    /// The servers to subscribe on now, each as a client of its own.
    pub(super) async fn masters(&self) -> Result<Vec<Client>, StoreError> {
        match self {
            ExpirySource::OneNode(store) => Ok(vec![store.client().clone()]),
            #[cfg(feature = "cluster")]
            ExpirySource::Cluster(store) => store.master_clients().await,
            #[cfg(feature = "sentinel")]
            ExpirySource::Sentinel(store) => Ok(vec![store.master_client().await?]),
        }
    }

    /// Sets the claim key `key` unless it is set: `true` when this call set it, so this
    /// instance delivers the expiry.
    pub(super) async fn claim(&mut self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let claimed: Option<String> = self.query(&set).await?;
        Ok(claimed.is_some())
    }

    async fn query(&mut self, cmd: &Cmd) -> Result<Option<String>, StoreError> {
        match self {
            ExpirySource::OneNode(store) => store.on_server(cmd).await,
            #[cfg(feature = "cluster")]
            ExpirySource::Cluster(store) => store.on_cluster(cmd).await,
            #[cfg(feature = "sentinel")]
            ExpirySource::Sentinel(store) => store.on_master(cmd).await,
        }
    }
}

#[cfg(feature = "cluster")]
impl RedisClusterStore {
    /// A client of each master, from the slot map a node gives now (`CLUSTER SLOTS`), with
    /// the credentials and TLS settings the store was given.
    async fn master_clients(&self) -> Result<Vec<Client>, StoreError> {
        use redis::{ConnectionAddr, Value};

        let slots: Value = self.on_cluster(redis::cmd("CLUSTER").arg("SLOTS")).await?;
        let template = self.node_info();
        let malformed = || StoreError::Unavailable("an unexpected CLUSTER SLOTS reply".into());
        let mut masters: Vec<(String, u16)> = Vec::new();
        let Value::Array(ranges) = slots else {
            return Err(malformed());
        };
        for range in ranges {
            // [first slot, last slot, [ip, port, id, ...] of the master, replicas...]
            let Value::Array(range) = range else {
                return Err(malformed());
            };
            let Some(Value::Array(master)) = range.get(2) else {
                return Err(malformed());
            };
            let (Some(Value::BulkString(ip)), Some(Value::Int(port))) =
                (master.first(), master.get(1))
            else {
                return Err(malformed());
            };
            let host = String::from_utf8_lossy(ip).into_owned();
            let port = u16::try_from(*port).map_err(|_| malformed())?;
            if !masters.contains(&(host.clone(), port)) {
                masters.push((host, port));
            }
        }
        masters
            .into_iter()
            .map(|(host, port)| {
                let addr = match template.addr() {
                    ConnectionAddr::TcpTls {
                        insecure,
                        tls_params,
                        ..
                    } => ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure: *insecure,
                        tls_params: tls_params.clone(),
                    },
                    _ => ConnectionAddr::Tcp(host, port),
                };
                Ok(Client::open(template.clone().set_addr(addr))?)
            })
            .collect()
    }
}
