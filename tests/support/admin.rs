//! The admin handle's contract, as one check run once per store: sessions logged in
//! through the middleware are listed, read, changed and ended from outside any request,
//! and the requests see it.

use std::time::{Duration, SystemTime};

use actix_http::Request;
use actix_typed_session::store::SessionStore;
use actix_typed_session::{
    Keys, Session, SessionAdmin, SessionData, SessionError, SessionId, SessionMiddleware,
};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App, Error};

use crate::http::{body, Jar};

const KEY: &str = "admin conformance key, long enough to sign";

/// The session of the checks: a user, and a flag an admin sets.
#[derive(SessionData)]
pub struct Account {
    #[session(index)]
    pub user: Option<String>,
    pub must_reauthenticate: bool,
    pub theme: String,
}

async fn login(mut session: Session<Account>, user: web::Path<String>) -> &'static str {
    session.set_user(Some(user.into_inner()));
    session.set_theme("dark".to_owned());
    session.renew();
    "welcome"
}

/// `user reauth`, or empty without a session.
async fn whoami(session: Session<Account>) -> String {
    match &*session.user() {
        Some(user) => format!("{user} {}", *session.must_reauthenticate()),
        None => String::new(),
    }
}

async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: std::fmt::Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    jar.absorb(&res);
    body(res).await
}

/// The fingerprint of the session a jar holds.
fn fingerprint(jar: &Jar) -> String {
    let cookie = jar.get("session").expect("a session cookie");
    SessionId::parse(cookie.value())
        .expect("the cookie holds an id")
        .fingerprint()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// A user name no other run against the same store uses.
fn fresh_user(name: &str) -> String {
    let id = SessionId::generate().expect("randomness");
    format!("{name}-{}", &id.as_str()[..8])
}

/// Runs the admin handle's checks against `store`, in the field layout.
pub async fn run(store: impl SessionStore) {
    let middleware = SessionMiddleware::new(store, Keys::new([KEY]));
    let admin: SessionAdmin = middleware.admin();
    let app = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/login/{user}", web::post().to(login))
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let (ada, bob) = (fresh_user("ada"), fresh_user("bob"));
    let (mut laptop, mut phone, mut other) = (Jar::default(), Jar::default(), Jar::default());
    let started = SystemTime::now();
    for (jar, agent) in [(&mut laptop, "Laptop/1.0"), (&mut phone, "Phone/2.0")] {
        let req = jar
            .request("POST", &format!("/login/{ada}"))
            .insert_header(("user-agent", agent));
        let res = test::call_service(&app, req.to_request()).await;
        jar.absorb(&res);
        assert_eq!(body(res).await, "welcome");
    }
    send(&app, &mut other, "POST", &format!("/login/{bob}")).await;

    // Listed by the value of the index field, as the requests indexed them; the future
    // can go to another thread (a background job).
    let listed = assert_send(admin.sessions_of::<Account>(ada.as_str()))
        .await
        .expect("list");
    assert_eq!(
        sorted(listed.iter().map(|s| s.fingerprint().to_owned()).collect()),
        sorted(vec![fingerprint(&laptop), fingerprint(&phone)]),
    );
    assert!(listed.iter().all(|session| !session.is_current()));
    // Each with what a "your sessions" page shows: the browser it logged in from (no
    // address: the app did not opt in), when it was created and when it was last used.
    let by_agent = |agent: &str| {
        listed
            .iter()
            .find(|session| session.user_agent() == Some(agent))
            .unwrap_or_else(|| panic!("a session from {agent}: {listed:?}"))
    };
    assert_eq!(by_agent("Laptop/1.0").fingerprint(), fingerprint(&laptop));
    assert_eq!(by_agent("Phone/2.0").fingerprint(), fingerprint(&phone));
    let now = SystemTime::now();
    for session in &listed {
        assert_eq!(session.client_ip(), None);
        let created = session.created_at().expect("a creation time");
        let last_active = session.last_active().expect("a last use");
        let window = (started - Duration::from_secs(1))..=(now + Duration::from_secs(1));
        assert!(window.contains(&created), "{session:?}");
        assert!(window.contains(&last_active), "{session:?}");
    }
    assert_eq!(
        admin
            .sessions_of::<Account>(fresh_user("nobody"))
            .await
            .expect("list"),
        Vec::new()
    );

    // Read and changed by the id the listing holds.
    let account = admin
        .read::<Account>(&listed[0])
        .await
        .expect("read")
        .expect("a live session");
    assert_eq!(account.user.as_deref(), Some(ada.as_str()));
    assert_eq!(account.theme, "dark");
    for session in &listed {
        let changed = admin
            .update::<Account, _>(session, |account| account.must_reauthenticate = true)
            .await
            .expect("update");
        assert_eq!(changed, Some(()));
    }
    assert_eq!(
        send(&app, &mut laptop, "GET", "/whoami").await,
        format!("{ada} true")
    );
    assert_eq!(
        send(&app, &mut phone, "GET", "/whoami").await,
        format!("{ada} true")
    );
    assert_eq!(
        send(&app, &mut other, "GET", "/whoami").await,
        format!("{bob} false")
    );
    let moved = admin
        .update::<Account, _>(&listed[0], |account| account.user = Some(bob.clone()))
        .await;
    assert!(
        matches!(moved, Err(SessionError::Unsupported(_))),
        "{moved:?}"
    );

    // One ended by the fingerprint a page showed; a late write does not bring it back.
    let phone_session = admin
        .find_session::<Account>(ada.as_str(), &fingerprint(&phone))
        .await
        .expect("find")
        .expect("the phone's session is listed");
    assert!(admin.end_session(&phone_session).await.expect("end"));
    assert!(!admin.end_session(&phone_session).await.expect("end again"));
    let late = admin
        .update::<Account, _>(&phone_session, |account| account.theme = "late".into())
        .await
        .expect("update");
    assert_eq!(late, None, "an update of an ended session");
    assert_eq!(
        admin
            .read::<Account>(&phone_session)
            .await
            .expect("read")
            .map(|a| a.theme),
        None
    );
    assert_eq!(send(&app, &mut phone, "GET", "/whoami").await, "");
    assert_eq!(
        send(&app, &mut laptop, "GET", "/whoami").await,
        format!("{ada} true")
    );
    let left = admin
        .sessions_of::<Account>(ada.as_str())
        .await
        .expect("list");
    assert_eq!(
        left.iter()
            .map(|s| s.fingerprint().to_owned())
            .collect::<Vec<_>>(),
        vec![fingerprint(&laptop)]
    );

    // All of a user's sessions, and no one else's.
    assert_eq!(
        admin
            .end_sessions_of::<Account>(ada.as_str())
            .await
            .expect("end"),
        1
    );
    assert_eq!(send(&app, &mut laptop, "GET", "/whoami").await, "");
    assert_eq!(
        admin
            .sessions_of::<Account>(ada.as_str())
            .await
            .expect("list"),
        Vec::new()
    );
    assert_eq!(
        send(&app, &mut other, "GET", "/whoami").await,
        format!("{bob} false")
    );
}
