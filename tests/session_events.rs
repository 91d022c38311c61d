//! Lifecycle events: each event the app causes (created, renewed, logged out, signed out
//! everywhere, ended by the admin handle) reaches the hooks exactly once, after its store
//! change, with the session's fingerprint and index value; a failed commit delivers none;
//! a panicking hook does not fail the request; and a session that Redis expires is
//! reported once across two app instances.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_typed_session::store::{ExpiryNotifications, MemoryStore, RedisStore, SessionStore};
use actix_typed_session::{
    Keys, Session, SessionData, SessionError, SessionEvent, SessionEventKind, SessionId,
    SessionMiddleware, SessionMiddlewareBuilder,
};
use actix_typed_session_tests::counting_store::CountingStore;
use actix_typed_session_tests::cut_proxy::CutProxy;
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error, HttpResponse};

const KEY: &str = "events test key, long enough to sign";

#[derive(SessionData)]
struct Account {
    #[session(index)]
    user: Option<String>,
    theme: Option<String>,
}

async fn visit(mut session: Session<Account>) -> &'static str {
    session.set_theme(Some("dark".to_owned()));
    "hello"
}

async fn login(mut session: Session<Account>, user: web::Path<String>) -> &'static str {
    session.set_user(Some(user.into_inner()));
    session.renew();
    "welcome"
}

/// A login that keeps the session's id: an update that joins the index.
async fn join(mut session: Session<Account>, user: web::Path<String>) -> &'static str {
    session.set_user(Some(user.into_inner()));
    "joined"
}

async fn renew(session: Session<Account>) -> &'static str {
    session.renew();
    "renewed"
}

async fn end_others(session: Session<Account>) -> Result<String, SessionError> {
    Ok(format!("ended {}", session.end_other_sessions().await?))
}

/// A logout that starts a new session at once, in the same commit.
async fn logout_and_visit(mut session: Session<Account>) -> &'static str {
    session.purge();
    session.set_theme(Some("light".to_owned()));
    "bye, hello"
}

async fn logout(mut session: Session<Account>) -> HttpResponse {
    session.purge();
    HttpResponse::Ok().body("bye")
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/visit", web::post().to(visit))
        .route("/login/{user}", web::post().to(login))
        .route("/join/{user}", web::post().to(join))
        .route("/renew", web::post().to(renew))
        .route("/end-others", web::post().to(end_others))
        .route("/logout", web::post().to(logout))
        .route("/logout-and-visit", web::post().to(logout_and_visit));
}

/// An event as the tests compare it: kind, fingerprint, previous fingerprint, index value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Heard {
    kind: &'static str,
    fingerprint: String,
    previous: Option<String>,
    user: Option<String>,
}

impl Heard {
    fn of(event: &SessionEvent) -> Self {
        Self {
            kind: event.kind().as_str(),
            fingerprint: event.fingerprint().to_owned(),
            previous: event.previous_fingerprint().map(str::to_owned),
            user: event.index::<Account>(),
        }
    }

    fn new(kind: SessionEventKind, fingerprint: &str, user: Option<&str>) -> Self {
        Self {
            kind: kind.as_str(),
            fingerprint: fingerprint.to_owned(),
            previous: None,
            user: user.map(str::to_owned),
        }
    }
}

/// What the hooks heard, shared with them.
#[derive(Clone, Default)]
struct Ear(Arc<Mutex<Vec<Heard>>>);

impl Ear {
    fn hook(&self) -> impl Fn(&SessionEvent) + Send + Sync + 'static {
        let heard = Arc::clone(&self.0);
        move |event| heard.lock().expect("lock").push(Heard::of(event))
    }

    /// What was heard since the last call.
    fn take(&self) -> Vec<Heard> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }

    /// As [`take`](Self::take), sorted: for events of one call, whose order is the store's.
    fn take_sorted(&self) -> Vec<Heard> {
        let mut heard = self.take();
        heard.sort();
        heard
    }
}

async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> StatusCode
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: std::fmt::Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    jar.absorb(&res);
    let status = res.status();
    body(res).await;
    status
}

/// The fingerprint of the session a jar holds.
fn fingerprint(jar: &Jar) -> String {
    let cookie = jar.get("session").expect("a session cookie");
    SessionId::parse(cookie.value())
        .expect("the cookie holds an id")
        .fingerprint()
}

fn builder(store: impl SessionStore) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(store, Keys::new([KEY]))
}

/// Every event the app causes, once each, with its fingerprint and index value.
async fn each_event_once(store: impl SessionStore) {
    let ear = Ear::default();
    let sessions = builder(store).on_event(ear.hook()).build();
    let admin = sessions.admin();
    let app = test::init_service(App::new().wrap(sessions).configure(routes)).await;
    use SessionEventKind::*;

    let mut guest = Jar::default();
    assert_eq!(
        send(&app, &mut guest, "POST", "/visit").await,
        StatusCode::OK
    );
    assert_eq!(
        ear.take(),
        [Heard::new(Created, &fingerprint(&guest), None)]
    );
    assert_eq!(
        send(&app, &mut guest, "POST", "/visit").await,
        StatusCode::OK
    );
    assert_eq!(ear.take(), [], "an update is no lifecycle event");

    // A guest's login: a renewal that joins the index.
    let guest_before = fingerprint(&guest);
    send(&app, &mut guest, "POST", "/login/ada").await;
    let renewed = Heard {
        previous: Some(guest_before.clone()),
        ..Heard::new(Renewed, &fingerprint(&guest), Some("ada"))
    };
    assert_ne!(guest_before, fingerprint(&guest));
    assert_eq!(ear.take(), [renewed]);

    // A new visitor's login: no stored session to renew, so a create with its index.
    let mut laptop = Jar::default();
    send(&app, &mut laptop, "POST", "/login/ada").await;
    assert_eq!(
        ear.take(),
        [Heard::new(Created, &fingerprint(&laptop), Some("ada"))]
    );

    let laptop_before = fingerprint(&laptop);
    send(&app, &mut laptop, "POST", "/renew").await;
    let renewed = Heard {
        previous: Some(laptop_before),
        ..Heard::new(Renewed, &fingerprint(&laptop), Some("ada"))
    };
    assert_eq!(ear.take(), [renewed]);

    // "Sign out everywhere else" from the laptop: one event per other session.
    let (mut phone, mut bystander) = (Jar::default(), Jar::default());
    send(&app, &mut phone, "POST", "/login/ada").await;
    send(&app, &mut bystander, "POST", "/login/alan").await;
    ear.take();
    send(&app, &mut laptop, "POST", "/end-others").await;
    let mut ended = vec![
        Heard::new(SignedOutEverywhere, &fingerprint(&guest), Some("ada")),
        Heard::new(SignedOutEverywhere, &fingerprint(&phone), Some("ada")),
    ];
    ended.sort();
    assert_eq!(ear.take_sorted(), ended);
    send(&app, &mut laptop, "POST", "/end-others").await;
    assert_eq!(ear.take(), [], "nothing left to end, nothing reported");

    // The admin handle: one session by its listing, then all of a user's.
    let mut tablet = Jar::default();
    send(&app, &mut tablet, "POST", "/login/ada").await;
    ear.take();
    let listed = admin
        .find_session::<Account>("ada", &fingerprint(&tablet))
        .await
        .expect("list")
        .expect("the tablet is listed");
    assert!(admin.end_session(&listed).await.expect("end"));
    assert_eq!(
        ear.take(),
        [Heard::new(EndedByAdmin, &fingerprint(&tablet), Some("ada"))]
    );
    assert!(!admin.end_session(&listed).await.expect("end"));
    assert_eq!(
        ear.take(),
        [],
        "a session ended already is not reported again"
    );
    assert_eq!(
        admin.end_sessions_of::<Account>("ada").await.expect("end"),
        1
    );
    assert_eq!(
        ear.take(),
        [Heard::new(EndedByAdmin, &fingerprint(&laptop), Some("ada"))]
    );

    // A logout, with the index value the session held.
    let bystander_was = fingerprint(&bystander);
    send(&app, &mut bystander, "POST", "/logout").await;
    assert_eq!(
        ear.take(),
        [Heard::new(LoggedOut, &bystander_was, Some("alan"))]
    );
    // A purge of a session that is no longer stored reports nothing.
    send(&app, &mut phone, "POST", "/logout").await;
    assert_eq!(ear.take(), []);
}

#[actix_web::test]
async fn each_event_is_delivered_once_with_its_fingerprint_and_index_value_in_memory() {
    each_event_once(MemoryStore::new()).await;
}

#[actix_web::test]
async fn each_event_is_delivered_once_with_its_fingerprint_and_index_value_on_redis() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    each_event_once(store).await;
}

/// A login past `max_sessions_per_index` reports the session it ended, with the user,
/// whichever way the login reaches the store: a create, a renewal or an update.
async fn a_login_past_the_cap_reports_the_session_it_ended(store: impl SessionStore) {
    let ear = Ear::default();
    let sessions = builder(store)
        .max_sessions_per_index(2)
        .on_event(ear.hook())
        .build();
    let app = test::init_service(App::new().wrap(sessions).configure(routes)).await;
    use SessionEventKind::*;

    // Index entries are ordered by when they joined, to the millisecond: logins here are
    // a few apart, so "longest ago" is one session.
    let pause = || tokio::time::sleep(Duration::from_millis(3));
    let mut jars = Vec::new();
    for _ in 0..2 {
        let mut jar = Jar::default();
        send(&app, &mut jar, "POST", "/login/ada").await;
        jars.push(jar);
        pause().await;
    }
    send(&app, &mut Jar::default(), "POST", "/login/alan").await;
    ear.take();

    // A new visitor's login: a create.
    let mut third = Jar::default();
    send(&app, &mut third, "POST", "/login/ada").await;
    pause().await;
    assert_eq!(
        ear.take(),
        [
            Heard::new(EndedByCap, &fingerprint(&jars[0]), Some("ada")),
            Heard::new(Created, &fingerprint(&third), Some("ada")),
        ]
    );
    // A guest's login: a renewal.
    let mut guest = Jar::default();
    send(&app, &mut guest, "POST", "/visit").await;
    let guest_before = fingerprint(&guest);
    ear.take();
    send(&app, &mut guest, "POST", "/login/ada").await;
    pause().await;
    let renewed = Heard {
        previous: Some(guest_before),
        ..Heard::new(Renewed, &fingerprint(&guest), Some("ada"))
    };
    assert_eq!(
        ear.take(),
        [
            Heard::new(EndedByCap, &fingerprint(&jars[1]), Some("ada")),
            renewed
        ]
    );
    // A login that keeps the id: an update.
    let mut other = Jar::default();
    send(&app, &mut other, "POST", "/visit").await;
    ear.take();
    send(&app, &mut other, "POST", "/join/ada").await;
    assert_eq!(
        ear.take(),
        [Heard::new(EndedByCap, &fingerprint(&third), Some("ada"))]
    );
    // The ended session is gone: its cookie starts afresh.
    send(&app, &mut jars[0], "POST", "/visit").await;
    assert_eq!(
        ear.take(),
        [Heard::new(Created, &fingerprint(&jars[0]), None)]
    );
}

#[actix_web::test]
async fn a_login_past_the_cap_reports_the_session_it_ended_in_memory() {
    a_login_past_the_cap_reports_the_session_it_ended(MemoryStore::new()).await;
}

#[actix_web::test]
async fn a_login_past_the_cap_reports_the_session_it_ended_on_redis() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    a_login_past_the_cap_reports_the_session_it_ended(store).await;
}

#[actix_web::test]
async fn a_failed_commit_or_ending_delivers_no_event() {
    let ear = Ear::default();
    let store = CountingStore::default();
    let app = test::init_service(
        App::new()
            .wrap(builder(store.clone()).on_event(ear.hook()).build())
            .configure(routes),
    )
    .await;
    let (mut laptop, mut phone, mut stranger) = (Jar::default(), Jar::default(), Jar::default());
    send(&app, &mut laptop, "POST", "/login/ada").await;
    send(&app, &mut phone, "POST", "/login/ada").await;
    assert_eq!(ear.take().len(), 2);

    store.fail(true);
    for (stranger_calls, path) in [
        (true, "/visit"),
        (true, "/login/ada"),
        (false, "/renew"),
        (false, "/end-others"),
        (false, "/logout"),
    ] {
        let jar = if stranger_calls {
            &mut stranger
        } else {
            &mut laptop
        };
        let status = send(&app, jar, "POST", path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    assert_eq!(ear.take(), [], "a failed store call reported an event");

    store.fail(false);

    // Commits that fail after a first step succeeded: a renewal's create after its delete,
    // a logout's new session after the purge. Their events are held until the commit
    // succeeds, so none is delivered.
    store.fail_commits(true);
    let status = send(&app, &mut phone, "POST", "/renew").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let status = send(&app, &mut laptop, "POST", "/logout-and-visit").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ear.take(),
        [],
        "a commit that failed half way reported an event"
    );
    store.fail_commits(false);

    send(&app, &mut laptop, "POST", "/login/ada").await;
    ear.take();
    let laptop_was = fingerprint(&laptop);
    send(&app, &mut laptop, "POST", "/logout").await;
    assert_eq!(
        ear.take(),
        [Heard::new(
            SessionEventKind::LoggedOut,
            &laptop_was,
            Some("ada")
        )]
    );
}

#[actix_web::test]
async fn a_hook_that_panics_does_not_fail_the_request_nor_starve_other_hooks() {
    let ear = Ear::default();
    let app = test::init_service(
        App::new()
            .wrap(
                builder(MemoryStore::new())
                    .on_event(|_: &SessionEvent| panic!("a hook's bug"))
                    .on_event(ear.hook())
                    .build(),
            )
            .configure(routes),
    )
    .await;
    let mut jar = Jar::default();
    assert_eq!(
        send(&app, &mut jar, "POST", "/login/ada").await,
        StatusCode::OK
    );
    assert_eq!(
        ear.take(),
        [Heard::new(
            SessionEventKind::Created,
            &fingerprint(&jar),
            Some("ada")
        )]
    );
}

/// A session past the absolute timeout is deleted by the request that finds it, which
/// reports it once as timed out, with the user it belonged to.
#[actix_web::test]
async fn a_session_past_its_absolute_timeout_is_reported_once_as_timed_out() {
    let ear = Ear::default();
    let app = test::init_service(
        App::new()
            .wrap(
                builder(MemoryStore::new())
                    .absolute_timeout(Duration::from_millis(300))
                    .on_event(ear.hook())
                    .build(),
            )
            .configure(routes),
    )
    .await;
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login/ada").await;
    let timed_out = fingerprint(&jar);
    ear.take();
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    send(&app, &mut jar, "POST", "/renew").await;
    assert_eq!(
        ear.take(),
        [Heard::new(
            SessionEventKind::TimedOut,
            &timed_out,
            Some("ada")
        )]
    );
}

/// Two app instances, each with its listener, on one Redis: a session whose time-to-live
/// runs out is reported once, by one of them, with its fingerprint; one that was logged
/// out is reported as logged out, never as expired.
#[actix_web::test]
async fn an_expired_session_is_reported_once_across_two_instances() {
    let server = RedisServer::start();
    let ears = [Ear::default(), Ear::default()];
    let mut apps = Vec::new();
    let mut listeners = Vec::new();
    for ear in &ears {
        let store = RedisStore::connect(&server.url()).await.expect("connect");
        let sessions = builder(store.clone())
            .ttl(Duration::from_millis(700))
            .on_event(ear.hook())
            .build();
        listeners.push(
            store
                .expiry_events(sessions.events(), ExpiryNotifications::Configure)
                .await
                .expect("listen"),
        );
        apps.push(test::init_service(App::new().wrap(sessions).configure(routes)).await);
    }
    let (mut short, mut logged_out) = (Jar::default(), Jar::default());
    send(&apps[0], &mut short, "POST", "/login/ada").await;
    send(&apps[1], &mut logged_out, "POST", "/login/ada").await;
    send(&apps[1], &mut logged_out, "POST", "/logout").await;
    let heard: Vec<Heard> = ears.iter().flat_map(Ear::take).collect();
    assert_eq!(heard.len(), 3, "two logins and a logout: {heard:?}");

    let expired = |heard: &[Heard]| heard.iter().filter(|h| h.kind == "expired").count();
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while expired(&heard) == 0 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        heard.extend(ears.iter().flat_map(Ear::take));
    }
    // Time for a second delivery, were there one.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    heard.extend(ears.iter().flat_map(Ear::take));
    assert_eq!(
        heard,
        [Heard::new(
            SessionEventKind::Expired,
            &fingerprint(&short),
            None
        )],
        "one expiry, delivered once, with no index value (its fields are gone)"
    );
    drop(listeners);
}

/// A subscription whose connection dies without a word (no close, no reset: a firewall
/// that forgot an idle flow) never ends its stream. The listener pings its subscription
/// with every check of the masters, and subscribes again when no answer comes: expiries
/// after that are heard.
#[actix_web::test]
async fn the_expiry_listener_subscribes_again_when_its_connection_dies_silently() {
    let server = RedisServer::start();
    let proxy = CutProxy::start(server.port()).await;
    let ear = Ear::default();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let sessions = builder(store)
        .ttl(Duration::from_millis(700))
        .on_event(ear.hook())
        .build();
    // The listener's subscription, the last connection it opens, goes through the proxy.
    let listening = RedisStore::connect(&proxy.url()).await.expect("connect");
    let listener = listening
        .expiry_events(sessions.events(), ExpiryNotifications::Configure)
        .await
        .expect("listen");
    let app = test::init_service(App::new().wrap(sessions).configure(routes)).await;
    proxy.freeze_latest_connection();

    // A masters check (5 s), its ping's timeout (2 s) and a new subscription (1 s) later,
    // a session that expires is heard.
    actix_web::rt::time::sleep(Duration::from_secs(9)).await;
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/visit").await;
    let expired = Heard::new(SessionEventKind::Expired, &fingerprint(&jar), None);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut heard = Vec::new();
    while !heard.contains(&expired) && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        heard.extend(ear.take());
    }
    assert!(heard.contains(&expired), "{heard:?}");
    drop(listener);
}
