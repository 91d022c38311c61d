//! The per-user index through the middleware, on a real Redis: one user's sessions on
//! several devices, listed by fingerprint and ended together, and an index that keeps up
//! with sessions that end, expire or change user; and index key names keyed with the
//! index secret, which a new secret orphans.

use std::time::Duration;

use actix_http::Request;
use actix_typed_session::store::{MemoryStore, RedisStore, SessionStore};
use actix_typed_session::{
    Keys, Session, SessionData, SessionError, SessionId, SessionMiddleware,
    SessionMiddlewareBuilder,
};
use actix_typed_session_tests::http::{body, Jar};
use actix_typed_session_tests::RedisServer;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, Error, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const PREFIX: &str = "session:";
const KEY: &str = "index test key, long enough to sign";

#[derive(SessionData)]
struct Account {
    #[session(index)]
    user: Option<String>,
    theme: String,
}

/// Another struct over the same session, without the index field.
#[derive(SessionData)]
#[session(prefix = "prefs.")]
struct Prefs {
    font: Option<String>,
}

/// Another struct that shares the index field's storage name, without `index`.
#[derive(SessionData)]
struct Profile {
    user: Option<String>,
}

async fn become_through_profile(
    mut session: Session<Profile>,
    user: web::Path<String>,
) -> &'static str {
    session.set_user(Some(user.into_inner()));
    "switched"
}

/// Both structs set the field: the later write is the one stored, and the one indexed.
async fn become_through_both(
    mut account: Session<Account>,
    mut profile: Session<Profile>,
    users: web::Path<(String, String)>,
) -> &'static str {
    let (first, last) = users.into_inner();
    account.set_user(Some(first));
    profile.set_user(Some(last));
    "switched"
}

async fn renew_prefs(mut session: Session<Prefs>) -> &'static str {
    session.set_font(Some("serif".to_owned()));
    session.renew();
    "renewed"
}

async fn purge_prefs(mut session: Session<Prefs>) -> &'static str {
    session.purge();
    "purged"
}

async fn login(mut session: Session<Account>, user: web::Path<String>) -> &'static str {
    session.set_user(Some(user.into_inner()));
    session.renew();
    "welcome"
}

async fn become_user(mut session: Session<Account>, user: web::Path<String>) -> &'static str {
    session.set_user(Some(user.into_inner()));
    "switched"
}

async fn whoami(session: Session<Account>) -> String {
    session.user().clone().unwrap_or_default()
}

async fn list(session: Session<Account>) -> Result<String, SessionError> {
    let listed = session.sessions().await?;
    Ok(listed
        .iter()
        .map(|info| {
            let mark = if info.is_current() { " (this one)" } else { "" };
            format!("{}{mark}\n", info.fingerprint())
        })
        .collect())
}

async fn end_others(session: Session<Account>) -> Result<String, SessionError> {
    Ok(format!("ended {}", session.end_other_sessions().await?))
}

async fn end_all(mut session: Session<Account>) -> Result<String, SessionError> {
    Ok(format!("ended {}", session.end_all_sessions().await?))
}

async fn logout(mut session: Session<Account>) -> HttpResponse {
    session.purge();
    HttpResponse::Ok().body("bye")
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/login/{user}", web::post().to(login))
        .route("/become/{user}", web::post().to(become_user))
        .route(
            "/profile/become/{user}",
            web::post().to(become_through_profile),
        )
        .route(
            "/both/become/{first}/{last}",
            web::post().to(become_through_both),
        )
        .route("/whoami", web::get().to(whoami))
        .route("/sessions", web::get().to(list))
        .route("/end-others", web::post().to(end_others))
        .route("/end-all", web::post().to(end_all))
        .route("/logout", web::post().to(logout))
        .route("/prefs/renew", web::post().to(renew_prefs))
        .route("/prefs/purge", web::post().to(purge_prefs));
}

async fn app(
    server: &RedisServer,
    absolute_timeout: Option<Duration>,
) -> impl Service<
    Request,
    Response = ServiceResponse<impl MessageBody<Error: std::fmt::Debug>>,
    Error = Error,
> {
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let mut builder = builder(store);
    if let Some(timeout) = absolute_timeout {
        builder = builder.absolute_timeout(timeout);
    }
    test::init_service(App::new().wrap(builder.build()).configure(routes)).await
}

fn builder(store: impl SessionStore) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(store, Keys::new([KEY]))
}

async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: std::fmt::Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    jar.absorb(&res);
    (res.status(), body(res).await)
}

/// The fingerprint of the session a jar holds.
fn fingerprint(jar: &Jar) -> String {
    let cookie = jar.get("session").expect("a session cookie");
    SessionId::parse(cookie.value())
        .expect("the cookie holds an id")
        .fingerprint()
}

/// The members of every index set in Redis, by key.
async fn index_sets(server: &RedisServer) -> Vec<(String, Vec<String>)> {
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}index:*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    keys.sort();
    let mut sets = Vec::new();
    for key in keys {
        let mut members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .expect("ZRANGE");
        members.sort();
        sets.push((key, members));
    }
    sets
}

async fn pttl(server: &RedisServer, key: &str) -> i64 {
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .expect("PTTL")
}

#[actix_web::test]
async fn a_user_lists_their_sessions_by_fingerprint_and_signs_out_the_others() {
    let server = RedisServer::start();
    let app = app(&server, None).await;
    let (mut laptop, mut phone, mut tablet, mut bystander) = (
        Jar::default(),
        Jar::default(),
        Jar::default(),
        Jar::default(),
    );
    for jar in [&mut laptop, &mut phone, &mut tablet] {
        assert_eq!(send(&app, jar, "POST", "/login/grace").await.1, "welcome");
    }
    send(&app, &mut bystander, "POST", "/login/alan").await;

    let (status, listed) = send(&app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = vec![
        format!("{} (this one)", fingerprint(&laptop)),
        fingerprint(&phone),
        fingerprint(&tablet),
    ];
    expected[1..].sort();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    for jar in [&laptop, &phone, &tablet] {
        let id = jar.get("session").unwrap().value().to_owned();
        assert!(!listed.contains(&id), "a listing never shows an id");
    }

    assert_eq!(
        send(&app, &mut laptop, "POST", "/end-others").await,
        (StatusCode::OK, "ended 2".into())
    );
    assert_eq!(send(&app, &mut laptop, "GET", "/whoami").await.1, "grace");
    assert_eq!(
        send(&app, &mut phone, "GET", "/whoami").await.1,
        "",
        "signed out"
    );
    assert_eq!(
        send(&app, &mut tablet, "GET", "/whoami").await.1,
        "",
        "signed out"
    );
    assert_eq!(send(&app, &mut bystander, "GET", "/whoami").await.1, "alan");
    let (_, listed) = send(&app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "{listed}");

    assert_eq!(
        send(&app, &mut laptop, "POST", "/end-all").await,
        (StatusCode::OK, "ended 1".into())
    );
    assert!(laptop.get("session").is_none(), "the cookie was removed");
    let sets = index_sets(&server).await;
    assert_eq!(sets.len(), 1, "only alan's index is left: {sets:?}");
    assert_eq!(sets[0].1.len(), 1, "{sets:?}");
}

#[actix_web::test]
async fn the_index_follows_logouts_expiry_and_a_change_of_user() {
    let server = RedisServer::start();
    let app = app(&server, None).await;
    let (mut one, mut two, mut three) = (Jar::default(), Jar::default(), Jar::default());
    for jar in [&mut one, &mut two, &mut three] {
        send(&app, jar, "POST", "/login/ada").await;
    }
    let id = |jar: &Jar| jar.get("session").unwrap().value().to_owned();

    // A logout takes the session out of the index in the same transaction.
    send(&app, &mut two, "POST", "/logout").await;
    let sets = index_sets(&server).await;
    let mut expected = vec![id(&one), id(&three)];
    expected.sort();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].1, expected);

    // A session that changes user moves from one index to the other.
    send(&app, &mut three, "POST", "/become/bob").await;
    let sets = index_sets(&server).await;
    assert_eq!(sets.len(), 2, "{sets:?}");
    let members: Vec<&Vec<String>> = sets.iter().map(|(_, members)| members).collect();
    assert!(members.contains(&&vec![id(&one)]), "{sets:?}");
    assert!(members.contains(&&vec![id(&three)]), "{sets:?}");

    // A session that expired without telling anyone is dropped when the index is listed.
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{PREFIX}{}", id(&three)))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut bob = Jar::default();
    send(&app, &mut bob, "POST", "/login/bob").await;
    let (_, listed) = send(&app, &mut bob, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "only the live session: {listed}");
    let bob_id = id(&bob);
    let bob_set = || async {
        index_sets(&server)
            .await
            .into_iter()
            .find(|(_, members)| members.contains(&bob_id))
            .expect("bob's index")
    };
    // Within the grace period the entry stays: it might be a write still on its way.
    let (bob_index, members) = bob_set().await;
    assert!(members.contains(&id(&three)), "{members:?}");
    // Once it joined longer ago than that, a listing drops it.
    let _: i64 = redis::cmd("ZADD")
        .arg(&bob_index)
        .arg("XX")
        .arg(0)
        .arg(id(&three))
        .query_async(&mut conn)
        .await
        .unwrap();
    let (_, listed) = send(&app, &mut bob, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "only the live session: {listed}");
    assert_eq!(
        bob_set().await.1,
        vec![bob_id.clone()],
        "the stale id was removed"
    );
}

#[actix_web::test]
async fn an_index_lives_as_long_as_the_absolute_timeout_and_no_longer_needs_to() {
    let server = RedisServer::start();
    let hour = Duration::from_secs(3600);

    let app_with_timeout = app(&server, Some(hour)).await;
    let mut jar = Jar::default();
    send(&app_with_timeout, &mut jar, "POST", "/login/ada").await;
    let (key, _) = index_sets(&server).await.remove(0);
    let left = pttl(&server, &key).await;
    assert!(
        left > 3_500_000 && left <= 3_600_000,
        "the index expires with the absolute timeout: {left} ms"
    );

    // Without an absolute timeout a session can live for ever, and so must its index.
    let app_without = app(&server, None).await;
    let mut other = Jar::default();
    send(&app_without, &mut other, "POST", "/login/ada").await;
    assert_eq!(pttl(&server, &key).await, -1, "no expiry");
}

#[actix_web::test]
async fn a_session_without_a_user_is_in_no_index() {
    let server = RedisServer::start();
    let app = app(&server, None).await;
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/become/ada").await;
    send(&app, &mut jar, "POST", "/logout").await;
    assert!(
        index_sets(&server).await.is_empty(),
        "the logout emptied it"
    );
    let (status, listed) = send(&app, &mut Jar::default(), "GET", "/sessions").await;
    assert_eq!((status, listed.as_str()), (StatusCode::OK, ""));
    assert_eq!(
        send(&app, &mut Jar::default(), "POST", "/end-others")
            .await
            .1,
        "ended 0"
    );
}

#[actix_web::test]
async fn a_renewal_or_purge_through_a_struct_without_the_index_field_moves_the_whole_index() {
    let server = RedisServer::start();
    let app = app(&server, None).await;
    let mut jar = Jar::default();
    let id = |jar: &Jar| jar.get("session").unwrap().value().to_owned();
    send(&app, &mut jar, "POST", "/login/ada").await;
    let before = id(&jar);

    // The handler extracted only `Prefs`, which knows nothing of the user: the session
    // recorded its index, so the new id takes the old one's place there all the same.
    let (status, _) = send(&app, &mut jar, "POST", "/prefs/renew").await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(id(&jar), before, "renewed");
    let sets = index_sets(&server).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].1, vec![id(&jar)], "the index lists the new id only");
    let (_, me) = send(&app, &mut jar, "GET", "/whoami").await;
    assert_eq!(me, "ada");

    // So does a purge: the session leaves its index at once.
    send(&app, &mut jar, "POST", "/prefs/purge").await;
    assert!(
        index_sets(&server).await.is_empty(),
        "the purged id stays indexed"
    );
}

/// A struct without `index` that shares the index field's storage name changes the
/// user all the same: the session moves to the new user's index, so the new user's
/// "sign out everywhere" reaches it and the old user's does not.
#[actix_web::test]
async fn a_struct_sharing_the_index_field_name_moves_the_session_between_indexes() {
    let server = RedisServer::start();
    let app = app(&server, None).await;
    let mut jar = Jar::default();
    send(&app, &mut jar, "POST", "/login/ada").await;
    let id = jar.get("session").unwrap().value().to_owned();

    let (status, _) = send(&app, &mut jar, "POST", "/profile/become/bob").await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = send(&app, &mut jar, "GET", "/whoami").await;
    assert_eq!(me, "bob");
    let sets = index_sets(&server).await;
    assert_eq!(sets.len(), 1, "one index, bob's: {sets:?}");
    assert_eq!(sets[0].1, vec![id], "the session is in bob's index only");
    let (_, listed) = send(&app, &mut jar, "GET", "/sessions").await;
    assert!(listed.ends_with(" (this one)\n"), "bob's listing: {listed}");
    assert_eq!(listed.lines().count(), 1, "bob's listing: {listed}");

    // Both structs write it in one request: the later value is stored and indexed.
    send(&app, &mut jar, "POST", "/both/become/carol/dave").await;
    let (_, me) = send(&app, &mut jar, "GET", "/whoami").await;
    assert_eq!(me, "dave");
    let (_, listed) = send(&app, &mut jar, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "dave's listing: {listed}");
    let sets = index_sets(&server).await;
    assert_eq!(sets.len(), 1, "one index, dave's: {sets:?}");
}

/// One user logs in `LOGINS` times while another keeps using the app: the index stays at
/// its cap, the oldest sessions end, a listing reads no more than the cap, and the other
/// user is answered throughout.
async fn many_logins_keep_the_index_at_its_cap(
    store: impl SessionStore,
    redis: Option<&RedisServer>,
) {
    const LOGINS: usize = 10_000;
    const CAP: usize = 16;
    let app = test::init_service(
        App::new()
            .wrap(builder(store).max_sessions_per_index(CAP).build())
            .configure(routes),
    )
    .await;
    let mut bob = Jar::default();
    send(&app, &mut bob, "POST", "/login/bob").await;
    let mut first = Jar::default();
    let mut last = Jar::default();
    let mut answered = 0;
    let done = std::cell::Cell::new(false);
    let logins = async {
        for n in 0..LOGINS {
            let mut jar = Jar::default();
            let (status, _) = send(&app, &mut jar, "POST", "/login/ada").await;
            assert_eq!(status, StatusCode::OK, "login {n}");
            if n == 0 {
                first = jar;
            } else {
                last = jar;
            }
            // Let the other user's requests in between.
            tokio::task::yield_now().await;
        }
        done.set(true);
    };
    let other_user = async {
        while !done.get() {
            let mut jar = bob.clone();
            let (status, me) = send(&app, &mut jar, "GET", "/whoami").await;
            assert_eq!((status, me.as_str()), (StatusCode::OK, "bob"));
            answered += 1;
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(logins, other_user);
    assert!(
        answered >= LOGINS / 2,
        "the other user was answered {answered} times"
    );

    let (_, listed) = send(&app, &mut last, "GET", "/sessions").await;
    assert_eq!(
        listed.lines().count(),
        CAP,
        "the listing holds the cap: {listed}"
    );
    let (_, me) = send(&app, &mut first, "GET", "/whoami").await;
    assert_eq!(me, "", "the first login ended long ago");
    let (_, me) = send(&app, &mut last, "GET", "/whoami").await;
    assert_eq!(me, "ada");
    let (_, me) = send(&app, &mut bob, "GET", "/whoami").await;
    assert_eq!(me, "bob", "another user's session is untouched");

    let Some(server) = redis else { return };
    let sets = index_sets(server).await;
    let ada = sets
        .iter()
        .find(|(_, members)| members.len() > 1)
        .expect("ada's index");
    assert_eq!(ada.1.len(), CAP, "the index holds the cap");
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let sessions = keys.iter().filter(|key| !key.contains("index:")).count();
    assert_eq!(
        sessions,
        CAP + 1,
        "ada's {CAP} newest sessions and bob's are stored"
    );
    // The listing checks and describes each listed id once (`HMGET` of its details, in
    // `index_describe.lua`), and reads no more of the index than the cap.
    let exists = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            let stats: String = redis::cmd("INFO")
                .arg("commandstats")
                .query_async(&mut conn)
                .await
                .unwrap();
            stats
                .lines()
                .find_map(|line| line.strip_prefix("cmdstat_hmget:calls="))
                .and_then(|rest| rest.split(',').next())
                .and_then(|calls| calls.parse::<usize>().ok())
                .unwrap_or(0)
        }
    };
    let before = exists(&mut conn).await;
    send(&app, &mut last, "GET", "/sessions").await;
    assert_eq!(
        exists(&mut conn).await - before,
        CAP,
        "one check per listed session"
    );
}

#[actix_web::test]
async fn ten_thousand_logins_of_one_user_keep_a_redis_index_at_its_cap() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    many_logins_keep_the_index_at_its_cap(store, Some(&server)).await;
}

#[actix_web::test]
async fn ten_thousand_logins_of_one_user_keep_a_memory_index_at_its_cap() {
    many_logins_keep_the_index_at_its_cap(MemoryStore::new(), None).await;
}

/// An app whose index keys are named with `secret`.
async fn keyed_app(
    server: &RedisServer,
    secret: &str,
) -> impl Service<
    Request,
    Response = ServiceResponse<impl MessageBody<Error: std::fmt::Debug>>,
    Error = Error,
> {
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let sessions = SessionMiddleware::builder(store, Keys::new([KEY]))
        .index_secret(secret)
        .build();
    test::init_service(App::new().wrap(sessions).configure(routes)).await
}

/// The index key of `user`, as the library documents it: HMAC-SHA-256 under the index
/// secret of the field name, a 0 byte and the encoded value.
fn keyed_index(secret: &str, user: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(b"user\0");
    mac.update(format!("{user:?}").as_bytes());
    let hash = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{PREFIX}index:user:{hash}")
}

#[actix_web::test]
async fn index_keys_are_keyed_with_the_index_secret_and_a_new_secret_orphans_them() {
    const OLD: &str = "the index secret before, 32 bytes or more";
    const NEW: &str = "the index secret after, also 32 bytes or more";
    let server = RedisServer::start();
    let before = keyed_app(&server, OLD).await;
    let mut laptop = Jar::default();
    send(&before, &mut laptop, "POST", "/login/grace").await;
    let keys: Vec<String> = index_sets(&server)
        .await
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let unkeyed = URL_SAFE_NO_PAD.encode(Sha256::digest(b"\"grace\""));
    assert_eq!(keys, [keyed_index(OLD, "grace")]);
    assert_ne!(
        keys[0],
        format!("{PREFIX}index:user:{unkeyed}"),
        "not the plain SHA-256"
    );

    // Another secret: the session stays logged in, but its index is no longer found ...
    let after = keyed_app(&server, NEW).await;
    assert_eq!(send(&after, &mut laptop, "GET", "/whoami").await.1, "grace");
    assert_eq!(
        send(&after, &mut laptop, "GET", "/sessions").await,
        (StatusCode::OK, String::new())
    );
    // ... until a login renews a session into the new one.
    let mut phone = Jar::default();
    send(&after, &mut phone, "POST", "/login/grace").await;
    let (_, listed) = send(&after, &mut laptop, "GET", "/sessions").await;
    assert_eq!(listed, format!("{}\n", fingerprint(&phone)));
    let mut expected = vec![keyed_index(OLD, "grace"), keyed_index(NEW, "grace")];
    expected.sort();
    let keys: Vec<String> = index_sets(&server)
        .await
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        keys, expected,
        "the old set is left to expire or be deleted"
    );
}

#[actix_web::test]
async fn an_admin_change_leaves_the_time_to_live_as_it_was() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let middleware = builder(store).build();
    let admin = middleware.admin();
    let app = test::init_service(App::new().wrap(middleware).configure(routes)).await;
    let mut laptop = Jar::default();
    send(&app, &mut laptop, "POST", "/login/grace").await;
    let id = laptop.get("session").expect("a session").value().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = pttl(&server, &format!("{PREFIX}{id}")).await;

    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    assert_eq!(listed.len(), 1);
    let changed = admin
        .update::<Account, _>(&listed[0], |account| account.theme = "light".to_owned())
        .await
        .expect("update");
    assert_eq!(changed, Some(()));

    let after = pttl(&server, &format!("{PREFIX}{id}")).await;
    assert!(
        (0..=before).contains(&after),
        "an admin's change is no activity of the user: {before} ms before, {after} ms after"
    );
    let account = admin.read::<Account>(&listed[0]).await.expect("read");
    assert_eq!(
        account.map(|account| account.theme),
        Some("light".to_owned())
    );
}

#[actix_web::test]
async fn the_admin_handle_lists_and_ends_json_sessions_but_refuses_to_read_them() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let middleware = builder(store)
        .compat(actix_typed_session::Compat::ExpressSession)
        .build();
    let admin = middleware.admin();
    let app = test::init_service(App::new().wrap(middleware).configure(routes)).await;
    let (mut laptop, mut phone) = (Jar::default(), Jar::default());
    send(&app, &mut laptop, "POST", "/login/grace").await;
    send(&app, &mut phone, "POST", "/login/grace").await;
    assert_eq!(send(&app, &mut laptop, "GET", "/whoami").await.1, "grace");

    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    assert_eq!(listed.len(), 2);
    let read = admin.read::<Account>(&listed[0]).await;
    assert!(
        matches!(read, Err(SessionError::Unsupported(_))),
        "{:?}",
        read.err()
    );
    let update = admin
        .update::<Account, _>(&listed[0], |account| account.theme = "light".to_owned())
        .await;
    assert!(
        matches!(update, Err(SessionError::Unsupported(_))),
        "{update:?}"
    );

    assert_eq!(
        admin
            .end_sessions_of::<Account>("grace")
            .await
            .expect("end"),
        2
    );
    assert_eq!(send(&app, &mut laptop, "GET", "/whoami").await.1, "");
    assert_eq!(send(&app, &mut phone, "GET", "/whoami").await.1, "");
}

#[actix_web::test]
async fn a_listing_shows_when_each_session_was_last_used_and_the_address_only_when_asked() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let middleware = builder(store).record_client_ip(true).build();
    let admin = middleware.admin();
    let app = test::init_service(App::new().wrap(middleware).configure(routes)).await;
    let (mut laptop, mut phone) = (Jar::default(), Jar::default());
    let logged_in = std::time::SystemTime::now();
    for (jar, agent, peer) in [
        (&mut laptop, "Laptop/1.0", "192.0.2.10:5000"),
        (&mut phone, "Phone/2.0", "192.0.2.20:5000"),
    ] {
        let req = jar
            .request("POST", "/login/grace")
            .insert_header(("user-agent", agent))
            .peer_addr(peer.parse().unwrap());
        let res = test::call_service(&app, req.to_request()).await;
        jar.absorb(&res);
        assert_eq!(body(res).await, "welcome");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let used = std::time::SystemTime::now();
    // Reading the session pushes its expiry back (the default policy): that is its use.
    assert_eq!(send(&app, &mut laptop, "GET", "/whoami").await.1, "grace");

    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    let by_agent = |agent: &str| {
        listed
            .iter()
            .find(|info| info.user_agent() == Some(agent))
            .unwrap_or_else(|| panic!("{agent}: {listed:?}"))
    };
    let (on_laptop, on_phone) = (by_agent("Laptop/1.0"), by_agent("Phone/2.0"));
    assert_eq!(on_laptop.client_ip(), Some("192.0.2.10"));
    assert_eq!(on_phone.client_ip(), Some("192.0.2.20"));
    let second = Duration::from_secs(1);
    for info in [on_laptop, on_phone] {
        let created = info.created_at().expect("created");
        assert!(created >= logged_in - second && created < used, "{info:?}");
    }
    let laptop_used = on_laptop.last_active().expect("last active");
    let phone_used = on_phone.last_active().expect("last active");
    assert!(
        laptop_used >= used - Duration::from_millis(100),
        "{on_laptop:?}"
    );
    assert!(
        phone_used < logged_in + Duration::from_millis(500),
        "the phone was not used since its login: {on_phone:?}"
    );
}

/// Behind a reverse proxy every connection's peer is the proxy: with the forwarding
/// headers trusted, a login records the client address the proxy forwards, whichever
/// header carries it.
#[actix_web::test]
async fn behind_a_proxy_a_login_records_the_forwarded_address() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let middleware = builder(store)
        .record_client_ip(true)
        .trust_forwarded_headers(true)
        .try_build()
        .expect("the recorded address reads the forwarding headers");
    let admin = middleware.admin();
    let app = test::init_service(App::new().wrap(middleware).configure(routes)).await;
    let proxy = "10.0.0.1:8080";
    for (agent, forwarded) in [
        (
            "Laptop/1.0",
            Some(("x-forwarded-for", "203.0.113.7, 10.0.0.2")),
        ),
        (
            "Phone/2.0",
            Some(("forwarded", "for=198.51.100.4;proto=https")),
        ),
        ("Tablet/3.0", None),
    ] {
        let mut req = Jar::default()
            .request("POST", "/login/grace")
            .insert_header(("user-agent", agent))
            .peer_addr(proxy.parse().unwrap());
        if let Some(header) = forwarded {
            req = req.insert_header(header);
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(body(res).await, "welcome");
    }

    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    let address_of = |agent: &str| {
        listed
            .iter()
            .find(|info| info.user_agent() == Some(agent))
            .unwrap_or_else(|| panic!("{agent}: {listed:?}"))
            .client_ip()
    };
    assert_eq!(address_of("Laptop/1.0"), Some("203.0.113.7"));
    assert_eq!(address_of("Phone/2.0"), Some("198.51.100.4"));
    assert_eq!(
        address_of("Tablet/3.0"),
        Some("10.0.0.1"),
        "without a forwarding header, the peer"
    );
}

/// "Sign out everywhere" takes a batch of ids out of the index, then deletes their
/// sessions. When the deletes fail (here a Redis user that may not `DEL`; in life a
/// dropped connection or a timeout), the ids go back into the index before the error
/// comes back: a retry ends the sessions, where they stayed live and unlisted.
#[actix_web::test]
async fn an_ending_whose_deletes_fail_leaves_its_sessions_listed_for_a_retry() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "nodel", "on", ">pw", "~*", "&*", "+@all", "-del"])
        .query_async(&mut conn)
        .await
        .expect("ACL SETUSER");
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let sessions = builder(store).build();
    let admin = sessions.admin();
    let app = test::init_service(App::new().wrap(sessions).configure(routes)).await;
    let (mut laptop, mut phone) = (Jar::default(), Jar::default());
    send(&app, &mut laptop, "POST", "/login/grace").await;
    send(&app, &mut phone, "POST", "/login/grace").await;

    let url = format!("redis://nodel:pw@127.0.0.1:{}", server.port());
    let no_del = RedisStore::connect(&url).await.expect("connect as nodel");
    let failing = builder(no_del).build().admin();
    let failed = failing.end_sessions_of::<Account>("grace").await;
    assert!(failed.is_err(), "{failed:?}");
    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    assert_eq!(listed.len(), 2, "both are listed again");

    let ended = admin.end_sessions_of::<Account>("grace").await;
    assert_eq!(ended.expect("end"), 2);
    for jar in [&mut laptop, &mut phone] {
        assert_eq!(send(&app, jar, "GET", "/whoami").await.1, "", "logged out");
    }
}

/// A listing names a user's session at one moment. When another user logs in on that
/// session without a renewal (its index field changes), the listing is stale: the admin
/// handle neither reads nor changes it through that listing.
#[actix_web::test]
async fn the_admin_handle_leaves_a_listed_session_alone_once_its_user_changed() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let sessions = builder(store).build();
    let admin = sessions.admin();
    let app = test::init_service(App::new().wrap(sessions).configure(routes)).await;
    let mut shared = Jar::default();
    send(&app, &mut shared, "POST", "/login/grace").await;
    let listed = admin.sessions_of::<Account>("grace").await.expect("list");
    assert_eq!(listed.len(), 1);
    let read = admin.read::<Account>(&listed[0]).await.expect("read");
    assert_eq!(
        read.and_then(|account| account.user).as_deref(),
        Some("grace")
    );

    send(&app, &mut shared, "POST", "/become/alan").await;
    let read = admin.read::<Account>(&listed[0]).await.expect("read");
    assert!(read.is_none(), "alan's session read as grace's");
    let changed = admin
        .update::<Account, _>(&listed[0], |account| account.theme = "flagged".to_owned())
        .await
        .expect("update");
    assert_eq!(
        changed, None,
        "alan's session changed through grace's listing"
    );
    let alan = admin.sessions_of::<Account>("alan").await.expect("list");
    let theme = admin
        .read::<Account>(&alan[0])
        .await
        .expect("read")
        .map(|a| a.theme);
    assert_eq!(theme.as_deref(), Some(""), "nothing was written");
}
