//! The expiry listener on any Redis store: two app instances share one deployment, each
//! with its own store connection, listener and hook. Every session whose time-to-live runs
//! out is reported once, by one of the instances, and a session that was logged out is
//! never reported as expired.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_typed_session::store::{ExpiryListener, ExpiryNotifications, RedisStore, SessionStore};
use actix_typed_session::{
    Keys, SessionEvent, SessionEventKind, SessionEvents, SessionMiddleware, StoreError,
};
use actix_web::{test, App};

use crate::counter_app;
use crate::failover::send;
use crate::http::Jar;

/// A store with an expiry listener.
pub trait Listens: SessionStore + Clone + 'static {
    /// Starts the listener, turning notifications on.
    fn listen(
        &self,
        events: SessionEvents,
    ) -> impl Future<Output = Result<ExpiryListener, StoreError>>;
}

impl Listens for RedisStore {
    fn listen(
        &self,
        events: SessionEvents,
    ) -> impl Future<Output = Result<ExpiryListener, StoreError>> {
        self.expiry_events(events, ExpiryNotifications::Configure)
    }
}

impl Listens for actix_typed_session::store::RedisClusterStore {
    fn listen(
        &self,
        events: SessionEvents,
    ) -> impl Future<Output = Result<ExpiryListener, StoreError>> {
        self.expiry_events(events, ExpiryNotifications::Configure)
    }
}

impl Listens for actix_typed_session::store::RedisSentinelStore {
    fn listen(
        &self,
        events: SessionEvents,
    ) -> impl Future<Output = Result<ExpiryListener, StoreError>> {
        self.expiry_events(events, ExpiryNotifications::Configure)
    }
}

/// Events as (kind, fingerprint), in the order heard.
type Heard = Arc<Mutex<Vec<(SessionEventKind, String)>>>;

/// `visitors` sessions made through two app instances (each on a store from `connect`)
/// expire; each is reported exactly once across both. A session logged out meanwhile is
/// not reported. `made` runs once every session is stored, before any expires.
pub async fn run<S, F, Fut>(connect: F, visitors: usize, made: impl FnOnce())
where
    S: Listens,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let heard: Heard = Arc::default();
    let mut apps = Vec::new();
    let mut listeners = Vec::new();
    for _ in 0..2 {
        let store = connect().await;
        let hook = {
            let heard = Arc::clone(&heard);
            move |event: &SessionEvent| {
                heard
                    .lock()
                    .expect("lock")
                    .push((event.kind(), event.fingerprint().to_owned()))
            }
        };
        let sessions = SessionMiddleware::builder(
            store.clone(),
            Keys::new(["expiry test key, long enough to sign safely"]),
        )
        .ttl(Duration::from_secs(2))
        .on_event(hook)
        .build();
        listeners.push(store.listen(sessions.events()).await.expect("listen"));
        apps.push(
            test::init_service(App::new().wrap(sessions).configure(counter_app::routes)).await,
        );
    }
    for visitor in 0..visitors {
        let (status, _) = send(&apps[visitor % 2], &mut Jar::default(), "GET", "/").await;
        assert!(status.is_success(), "visit {visitor}: {status}");
    }
    let mut leaving = Jar::default();
    send(&apps[0], &mut leaving, "POST", "/login").await;
    send(&apps[1], &mut leaving, "POST", "/logout").await;
    made();

    let of_kind = |kind: SessionEventKind| -> Vec<String> {
        let mut found: Vec<String> = heard
            .lock()
            .expect("lock")
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, fingerprint)| fingerprint.clone())
            .collect();
        found.sort();
        found
    };
    let mut created = of_kind(SessionEventKind::Created);
    let logged_out = of_kind(SessionEventKind::LoggedOut);
    assert_eq!(logged_out.len(), 1, "one logout");
    // The logged-out session was deleted: it never expires.
    created.retain(|fingerprint| !logged_out.contains(fingerprint));
    assert_eq!(created.len(), visitors, "every visit made a session");

    let deadline = Instant::now() + Duration::from_secs(20);
    while of_kind(SessionEventKind::Expired).len() < created.len() && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second delivery, were there one.
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        of_kind(SessionEventKind::Expired),
        created,
        "each session that expired, reported once, and no other"
    );
    drop(listeners);
}
