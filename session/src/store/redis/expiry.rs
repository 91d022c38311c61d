//! Sessions that Redis expired, reported as [`SessionEventKind::Expired`] events: a task
//! subscribed to Redis' keyspace notifications for expired keys (`notify-keyspace-events`
//! with `E` and `x`), on its own connection. Every app instance may run one; for each
//! expiry they race to set a claim key (`SET {prefix}expired:{id} 1 NX PX ...`), and only
//! the one that set it delivers the event, so each expiry is reported once across them.
//!
//! Best effort, as Redis' notifications are fire and forget: see
//! [`RedisStore::expiry_events`] for what can be missed.
//!
//! [`SessionEventKind::Expired`]: crate::SessionEventKind::Expired

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSub};
use redis::Client;
use tokio::task::JoinHandle;

use super::single_node::RedisStore;
use crate::error::StoreError;
use crate::events::SessionEvents;

/// How long a claim key lives: far longer than notifications of one expiry take to reach
/// every instance, and short enough that claims do not pile up. An id never expires twice
/// (ids are random), so a claim never has to outlive this.
const CLAIM_TTL: Duration = Duration::from_secs(300);

/// How long the listener waits before subscribing again after losing its connection.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

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
    /// a listener subscribes again a second after losing its connection), when the claim
    /// cannot be written (the winner's `SET` failed), when the key was evicted under
    /// `maxmemory` rather than expired (Redis reports an eviction, not an expiry), or when
    /// the session ended otherwise (logout, "sign out everywhere", the absolute timeout,
    /// which delete it). It comes late by Redis' lazy expiry: Redis expires a key when it
    /// is touched or when its background cycle samples it, usually within a fraction of a
    /// second of its time-to-live, longer with many keys that have one. Sessions of a
    /// Redis Cluster or a Sentinel store are not reported.
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
        let client = self.client().clone();
        let mut claims = self.connection().await?;
        notify(&mut claims, notifications).await?;
        let db = client.get_connection_info().redis_settings().db();
        let channel = format!("__keyevent@{db}__:expired");
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Unsupported("the expiry listener runs on a Tokio runtime".to_owned())
        })?;
        let subscribed = subscribe(&client, &channel).await?;
        let listener = Listener {
            client,
            claims,
            channel,
            notifications,
            events,
        };
        Ok(ExpiryListener {
            task: runtime.spawn(listener.run(subscribed)),
        })
    }
}

/// What the listener task holds.
struct Listener {
    client: Client,
    /// For the claims (and `CONFIG` again after a reconnection); reconnects by itself.
    claims: ConnectionManager,
    channel: String,
    notifications: ExpiryNotifications,
    events: SessionEvents,
}

impl Listener {
    /// Delivers the expiries of `subscribed`, and subscribes again whenever the connection
    /// is lost, until the task is aborted.
    async fn run(mut self, subscribed: PubSub) {
        let mut subscribed = Some(subscribed);
        loop {
            if let Some(mut pubsub) = subscribed.take() {
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    if let Ok(key) = message.get_payload::<String>() {
                        self.expired(&key).await;
                    }
                }
                tracing::warn!(
                    "the session expiry listener lost its Redis connection; expiries until \
                     it subscribes again are not reported"
                );
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
            if let Err(error) = notify(&mut self.claims, self.notifications).await {
                tracing::warn!(%error, "the session expiry listener could not configure notifications");
            }
            match subscribe(&self.client, &self.channel).await {
                Ok(pubsub) => subscribed = Some(pubsub),
                Err(error) => {
                    tracing::warn!(%error, "the session expiry listener could not subscribe");
                }
            }
        }
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
        let claimed: Result<Option<String>, _> = redis::cmd("SET")
            .arg(self.events.claim_key(id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(CLAIM_TTL.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut self.claims)
            .await;
        match claimed {
            Ok(Some(_)) => self.events.expired(id),
            Ok(None) => {} // another instance delivers it
            Err(error) => {
                tracing::warn!(%error, "an expired session's claim failed; its event is not delivered");
            }
        }
    }
}

/// Subscribes to `channel` on a connection of its own.
async fn subscribe(client: &Client, channel: &str) -> Result<PubSub, StoreError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Turns expired-key notifications on (`Configure`), or checks that they are on.
async fn notify(
    conn: &mut ConnectionManager,
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
