//! Sessions that Redis expired, reported as [`SessionEventKind::Expired`] events: a task
//! subscribed to Redis' keyspace notifications for expired keys (`notify-keyspace-events`
//! with `E` and `x`), on connections of its own to every master (`expiry_source.rs` says
//! which servers those are for each store). Every app instance may run one; for each
//! expiry they race to set a claim key (`SET {prefix}expired:{id} 1 NX PX ...`), and only
//! the one that set it delivers the event, so each expiry is reported once across them.
//!
//! Best effort, as Redis' notifications are fire and forget: see
//! [`RedisStore::expiry_events`] for what can be missed.
//!
//! [`SessionEventKind::Expired`]: crate::SessionEventKind::Expired

use std::time::Duration;

use futures_util::stream::{self, BoxStream, SelectAll};
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink};
use redis::{Client, Msg};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::expiry_source::ExpirySource;
use super::single_node::RedisStore;
use crate::error::StoreError;
use crate::events::SessionEvents;

/// How long a claim key lives: far longer than notifications of one expiry take to reach
/// every instance, and short enough that claims do not pile up. An id never expires twice
/// (ids are random), so a claim never has to outlive this.
const CLAIM_TTL: Duration = Duration::from_secs(300);

/// How long the listener waits before subscribing again after losing a connection.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// How often the listener asks which servers are the masters (the sentinels, or the
/// cluster's slot map), to follow a failover: a demoted master's subscribers hear nothing
/// more, and a promoted one's expiries are heard only once subscribed there.
const CHECK_MASTERS_EVERY: Duration = Duration::from_secs(5);

/// How long a subscription may take to answer the `PING` sent with each masters check. A
/// connection that died without a word (a firewall that dropped an idle flow, a host
/// gone without a reset) never ends its stream: the ping is how the listener learns.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether [`RedisStore::expiry_events`] turns Redis' expiry notifications on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiryNotifications {
    /// The operator set `notify-keyspace-events` (to include `E` and `x`, or `A`); the
    /// listener only checks, and logs a warning when it finds them off (or cannot ask:
    /// a managed Redis may refuse `CONFIG`).
    AsConfigured,
    /// The listener adds `E` and `x` to `notify-keyspace-events` with `CONFIG SET`,
    /// keeping the flags already set. Needs a user allowed to run `CONFIG`; Redis forgets
    /// it on restart unless it is also in `redis.conf` (the listener sets it again when it
    /// subscribes again).
    Configure,
}

/// The running expiry listener of [`RedisStore::expiry_events`]. Dropping it (or calling
/// [`stop`](Self::stop)) stops the listener.
#[derive(Debug)]
#[must_use = "dropping the listener stops it"]
pub struct ExpiryListener {
    task: JoinHandle<()>,
}

impl ExpiryListener {
    /// Stops the listener.
    pub fn stop(self) {}
}

impl Drop for ExpiryListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisStore {
    /// Reports each session that Redis expires (its time-to-live ran out) to the hooks of
    /// `events` ([`SessionMiddleware::events`](crate::SessionMiddleware::events)) as a
    /// [`SessionEventKind::Expired`](crate::SessionEventKind::Expired) event, from a task
    /// spawned on the current Tokio runtime with a connection of its own. The event
    /// carries the fingerprint of the id, taken from the expired key's name
    /// (`{prefix}{id}`), and no index value: the session's fields are gone when Redis
    /// reports it.
    ///
    /// Run one on every app instance: each expiry is delivered by exactly one of them
    /// (the one whose `SET {prefix}expired:{id} 1 NX PX 300000` claim wins), so none is
    /// reported twice. Best effort, as Redis' notifications are: an expiry is missed when
    /// no listener is subscribed at that moment (every instance down, or reconnecting;
    /// a listener subscribes again a second after losing its connection, and pings its
    /// subscriptions every five seconds to find one that died silently), when the claim
    /// cannot be written (the winner's `SET` failed), when the key was evicted under
    /// `maxmemory` rather than expired (Redis reports an eviction, not an expiry), or when
    /// the session ended otherwise (logout, "sign out everywhere", the absolute timeout,
    /// which delete it). It comes late by Redis' lazy expiry: Redis expires a key when it
    /// is touched or when its background cycle samples it, usually within a fraction of a
    /// second of its time-to-live, longer with many keys that have one.
    ///
    /// `RedisClusterStore::expiry_events` and `RedisSentinelStore::expiry_events` do the
    /// same on every master of a cluster, and on the master the sentinels name. Every five
    /// seconds the listener asks which servers the masters are, and subscribes again when
    /// they changed: expiries on a newly promoted master before then are missed.
    ///
    /// Fails when Redis cannot be reached to subscribe, or, with
    /// [`ExpiryNotifications::Configure`], refuses `CONFIG SET`.
    ///
    /// ```no_run
    /// # use actix_typed_session::store::{ExpiryNotifications, RedisStore};
    /// # use actix_typed_session::{Keys, SessionEvent, SessionMiddleware};
    /// # async fn run() -> Result<(), actix_typed_session::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// let keys = Keys::new(["a long random secret of at least 32 bytes"]);
    /// let sessions = SessionMiddleware::builder(store.clone(), keys)
    ///     .on_event(|event: &SessionEvent| tracing::info!(session = event.fingerprint(), event = %event.kind()))
    ///     .build();
    /// let _listener = store
    ///     .expiry_events(sessions.events(), ExpiryNotifications::Configure)
    ///     .await?;
    /// // ... run the server; dropping `_listener` stops it.
    /// # Ok(()) }
    /// ```
    pub async fn expiry_events(
        &self,
        events: SessionEvents,
        notifications: ExpiryNotifications,
    ) -> Result<ExpiryListener, StoreError> {
        let source = ExpirySource::OneNode(self.clone());
        listen(source, events, notifications).await
    }
}

/// Subscribes on every master of `source` and spawns the task that delivers what they
/// report. Fails when a master cannot be reached, or refuses `CONFIG SET` when asked to
/// turn notifications on.
pub(super) async fn listen(
    source: ExpirySource,
    events: SessionEvents,
    notifications: ExpiryNotifications,
) -> Result<ExpiryListener, StoreError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        StoreError::Unsupported("the expiry listener runs on a Tokio runtime".to_owned())
    })?;
    let listener = Listener {
        source,
        notifications,
        events,
    };
    let subscribed = listener.subscribe().await?;
    Ok(ExpiryListener {
        task: runtime.spawn(listener.run(subscribed)),
    })
}

/// What the listener task holds.
struct Listener {
    source: ExpirySource,
    notifications: ExpiryNotifications,
    events: SessionEvents,
}

/// The listener's subscriptions: one per master, merged into one stream, which yields
/// `None` when any of them loses its connection.
struct Subscribed {
    /// The masters' addresses, to notice when they change.
    masters: Vec<String>,
    messages: SelectAll<BoxStream<'static, Option<Msg>>>,
    /// The sending halves of the subscriptions, to ping them.
    sinks: Vec<PubSubSink>,
}

impl Listener {
    /// Delivers the expiries of `subscribed`, and subscribes again whenever a connection
    /// is lost or the masters change, until the task is aborted.
    async fn run(mut self, subscribed: Subscribed) {
        let mut subscribed = Some(subscribed);
        loop {
            if let Some(subscribed) = subscribed.take() {
                self.deliver(subscribed).await;
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
            }
            match self.subscribe().await {
                Ok(fresh) => subscribed = Some(fresh),
                Err(error) => {
                    tracing::warn!(%error, "the session expiry listener could not subscribe");
                    tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                }
            }
        }
    }

    /// Delivers the expiries `subscribed` reports until one of its connections is lost or
    /// the masters are no longer the ones it subscribed on.
    async fn deliver(&mut self, mut subscribed: Subscribed) {
        let mut check_masters_at = Instant::now() + CHECK_MASTERS_EVERY;
        loop {
            match tokio::time::timeout_at(check_masters_at, subscribed.messages.next()).await {
                Ok(Some(Some(message))) => {
                    if let Ok(key) = message.get_payload::<String>() {
                        self.expired(&key).await;
                    }
                }
                Ok(_) => {
                    tracing::warn!(
                        "the session expiry listener lost a Redis connection; expiries until \
                         it subscribes again are not reported"
                    );
                    return;
                }
                Err(_) => {
                    check_masters_at = Instant::now() + CHECK_MASTERS_EVERY;
                    match self.source.masters().await {
                        Ok(masters) if addresses(&masters) != subscribed.masters => {
                            tracing::info!("the Redis masters changed; the session expiry listener subscribes again");
                            return;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "the session expiry listener could not ask for the Redis masters");
                        }
                    }
                    if !all_answer(&mut subscribed.sinks).await {
                        tracing::warn!(
                            "a subscription of the session expiry listener stopped answering; \
                             it subscribes again"
                        );
                        return;
                    }
                }
            }
        }
    }

    /// Subscribes on every master, turning notifications on (or checking them) first.
    async fn subscribe(&self) -> Result<Subscribed, StoreError> {
        let masters = self.source.masters().await?;
        let mut messages = SelectAll::new();
        let mut sinks = Vec::new();
        for master in &masters {
            let mut conn = master.get_multiplexed_async_connection().await?;
            notify(&mut conn, self.notifications).await?;
            let db = master.get_connection_info().redis_settings().db();
            let (mut sink, stream) = master.get_async_pubsub().await?.split();
            sink.subscribe(format!("__keyevent@{db}__:expired")).await?;
            // A `None` after the last message marks a lost connection.
            let stream = stream.map(Some).chain(stream::once(async { None }));
            messages.push(stream.boxed());
            sinks.push(sink);
        }
        Ok(Subscribed {
            masters: addresses(&masters),
            messages,
            sinks,
        })
    }

    /// The key `key` expired: if it was a session's and this instance wins the claim, its
    /// event goes to the hooks.
    async fn expired(&mut self, key: &str) {
        let Some(id) = self.events.session_in_key(key) else {
            return;
        };
        if !self.events.any() {
            return;
        }
        match self
            .source
            .claim(&self.events.claim_key(id), CLAIM_TTL)
            .await
        {
            Ok(true) => self.events.expired(id),
            Ok(false) => {} // another instance delivers it
            Err(error) => {
                tracing::warn!(%error, "an expired session's claim failed; its event is not delivered");
            }
        }
    }
}

/// Whether every subscription answers a `PING` within [`PING_TIMEOUT`].
async fn all_answer(sinks: &mut [PubSubSink]) -> bool {
    for sink in sinks {
        let pong = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
        if !matches!(pong, Ok(Ok(_))) {
            return false;
        }
    }
    true
}

/// The masters' addresses, sorted, to compare one lookup with the next.
fn addresses(masters: &[Client]) -> Vec<String> {
    let mut addresses: Vec<String> = masters
        .iter()
        .map(|master| master.get_connection_info().addr().to_string())
        .collect();
    addresses.sort_unstable();
    addresses
}

/// Turns expired-key notifications on (`Configure`), or checks that they are on.
async fn notify(
    conn: &mut MultiplexedConnection,
    notifications: ExpiryNotifications,
) -> Result<(), StoreError> {
    let current: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .query_async(conn)
        .await;
    let flags = match current {
        Ok(reply) => reply.into_iter().nth(1).unwrap_or_default(),
        Err(error) if notifications == ExpiryNotifications::AsConfigured => {
            tracing::warn!(%error, "could not read notify-keyspace-events; session expiries are reported only if it has E and x");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    let has_expired = flags.contains('x') || flags.contains('A');
    if flags.contains('E') && has_expired {
        return Ok(());
    }
    if notifications == ExpiryNotifications::AsConfigured {
        tracing::warn!(
            flags,
            "notify-keyspace-events lacks E or x: Redis reports no expiries, and no session \
             expiry event will be delivered"
        );
        return Ok(());
    }
    let mut wanted = flags;
    if !wanted.contains('E') {
        wanted.push('E');
    }
    if !has_expired {
        wanted.push('x');
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg(wanted)
        .query_async(conn)
        .await?;
    Ok(())
}

#[cfg(feature = "cluster")]
impl super::cluster::RedisClusterStore {
    /// Reports each session that Redis expires on any master of the cluster, as
    /// [`RedisStore::expiry_events`] does on one server: a subscription on every master,
    /// and claims through the cluster, so each expiry is delivered once across the app
    /// instances running a listener. Masters added or promoted are found within five
    /// seconds; their expiries before then are missed.
    pub async fn expiry_events(
        &self,
        events: SessionEvents,
        notifications: ExpiryNotifications,
    ) -> Result<ExpiryListener, StoreError> {
        listen(ExpirySource::Cluster(self.clone()), events, notifications).await
    }
}

#[cfg(feature = "sentinel")]
impl super::sentinel::RedisSentinelStore {
    /// Reports each session that Redis expires on the master the sentinels name, as
    /// [`RedisStore::expiry_events`] does on one server. After a failover the listener
    /// subscribes on the new master within five seconds; expiries there before then are
    /// missed.
    pub async fn expiry_events(
        &self,
        events: SessionEvents,
        notifications: ExpiryNotifications,
    ) -> Result<ExpiryListener, StoreError> {
        listen(ExpirySource::Sentinel(self.clone()), events, notifications).await
    }
}
