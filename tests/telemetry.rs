//! What the middleware records through the `metrics` facade, caught by a recorder of the
//! test's own: each test runs its app on one thread with a thread-local recorder, so tests
//! running side by side never see each other's metrics. Its spans are in
//! `telemetry_spans.rs`.

use std::collections::BTreeMap;
use std::future::Future;

use actix_typed_session::store::{SessionKey, SessionStore};
use actix_typed_session::{Keys, Session, SessionId, SessionMiddleware, SessionMiddlewareBuilder};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::counting_store::CountingStore;
use actix_typed_session_tests::http::Jar;
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::{web, App, HttpRequest};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

const KEY: &str = "a test key that is long enough to sign";

/// Runs `test` on this thread with a fresh recorder that only it records into.
fn with_recorder<F, Fut>(test: F)
where
    F: FnOnce(Snapshotter) -> Fut,
    Fut: Future<Output = ()>,
{
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        actix_rt::System::new().block_on(test(snapshotter));
    });
}

/// What was recorded since the last look, as `name{label=value}` → count: a counter's
/// increase, or how many values a histogram received.
fn recorded(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let count = match value {
                DebugValue::Counter(count) => count,
                DebugValue::Histogram(values) => values.len() as u64,
                DebugValue::Gauge(_) => panic!("no gauge is documented: {name}"),
            };
            (count > 0).then_some((name, count))
        })
        .collect()
}

fn metrics(expected: &[(&str, u64)]) -> BTreeMap<String, u64> {
    expected
        .iter()
        .map(|(name, count)| ((*name).to_owned(), *count))
        .collect()
}

fn builder(store: &CountingStore) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(store.clone(), Keys::new([KEY]))
}

macro_rules! app {
    ($builder:expr) => {
        init_service(
            App::new()
                .wrap($builder.build())
                .configure(counter_app::routes),
        )
        .await
    };
}

/// Sends `method path` with the jar's cookies, takes in what it set, and returns its status
/// with what it recorded.
macro_rules! send {
    ($app:expr, $jar:expr, $snapshotter:expr, $method:expr, $path:expr) => {{
        let res = call_service(&$app, $jar.request($method, $path).to_request()).await;
        $jar.absorb(&res);
        (res.status(), recorded(&$snapshotter))
    }};
}

#[test]
fn a_request_that_does_not_touch_the_session_records_nothing() {
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let app = app!(builder(&store));
        let mut jar = Jar::default();

        let (status, untouched) = send!(app, jar, snapshotter, "GET", "/health");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(untouched, metrics(&[]), "a new visitor on /health");

        let (_, first) = send!(app, jar, snapshotter, "GET", "/modify");
        assert_eq!(
            first,
            metrics(&[
                // No id yet: no store call, so no load time.
                ("typed_session_loads_total{outcome=new}", 1),
                ("typed_session_commits_total{outcome=created}", 1),
                ("typed_session_commit_duration_seconds{outcome=created}", 1),
                ("typed_session_created_total{kind=new}", 1),
            ])
        );

        let (_, untouched) = send!(app, jar, snapshotter, "GET", "/health");
        assert_eq!(
            untouched,
            metrics(&[]),
            "a visitor with a session on /health"
        );
        assert_eq!(store.total_calls(), 1, "the create only");
    });
}

#[test]
fn each_kind_of_commit_records_its_outcome() {
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let app = app!(builder(&store));
        let mut jar = Jar::default();
        send!(app, jar, snapshotter, "GET", "/modify");

        let loaded = [
            ("typed_session_loads_total{outcome=loaded}", 1),
            ("typed_session_load_duration_seconds{outcome=loaded}", 1),
        ];
        let with_loaded = |more: &[(&str, u64)]| {
            let mut all = metrics(&loaded);
            all.extend(metrics(more));
            all
        };

        let (_, update) = send!(app, jar, snapshotter, "GET", "/modify");
        assert_eq!(
            update,
            with_loaded(&[
                ("typed_session_commits_total{outcome=updated}", 1),
                ("typed_session_commit_duration_seconds{outcome=updated}", 1),
            ])
        );

        let (_, read) = send!(app, jar, snapshotter, "GET", "/peek");
        assert_eq!(
            read,
            // Nothing written, so no commit time.
            with_loaded(&[("typed_session_commits_total{outcome=unchanged}", 1)])
        );

        let (_, login) = send!(app, jar, snapshotter, "POST", "/login");
        assert_eq!(
            login,
            with_loaded(&[
                ("typed_session_commits_total{outcome=renewed}", 1),
                ("typed_session_commit_duration_seconds{outcome=renewed}", 1),
                ("typed_session_created_total{kind=renewal}", 1),
            ])
        );

        let (_, logout) = send!(app, jar, snapshotter, "POST", "/logout");
        assert_eq!(
            logout,
            with_loaded(&[
                ("typed_session_commits_total{outcome=purged}", 1),
                ("typed_session_commit_duration_seconds{outcome=purged}", 1),
                ("typed_session_ended_total{reason=purge}", 1),
            ])
        );

        // The cookie was cleared; an old copy of it finds nothing.
        let (_, stale) = send!(app, jar, snapshotter, "GET", "/peek");
        assert_eq!(
            stale,
            metrics(&[
                ("typed_session_loads_total{outcome=new}", 1),
                ("typed_session_commits_total{outcome=unchanged}", 1),
            ])
        );
    });
}

#[test]
fn ending_a_users_other_sessions_counts_each_one() {
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let app = app!(builder(&store));
        let mut phone = Jar::default();
        let mut laptop = Jar::default();
        send!(app, phone, snapshotter, "POST", "/login");
        send!(app, laptop, snapshotter, "POST", "/login");
        recorded(&snapshotter);

        let (status, everywhere) = send!(app, laptop, snapshotter, "POST", "/logout-everywhere");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(everywhere["typed_session_ended_total{reason=index}"], 1);
        assert_eq!(everywhere["typed_session_ended_total{reason=purge}"], 1);
        assert_eq!(everywhere["typed_session_commits_total{outcome=purged}"], 1);
    });
}

#[test]
fn a_login_past_the_cap_counts_the_session_it_ended() {
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let app = app!(builder(&store).max_sessions_per_index(1));
        let mut phone = Jar::default();
        let mut laptop = Jar::default();
        send!(app, phone, snapshotter, "POST", "/login");
        recorded(&snapshotter);

        let (status, login) = send!(app, laptop, snapshotter, "POST", "/login");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(login["typed_session_ended_total{reason=cap}"], 1);
    });
}

/// A logout whose session another request ended between its load and its delete
/// ended nothing: it counts no `purge`.
#[test]
fn a_logout_that_finds_its_session_gone_counts_no_ending() {
    async fn ended_meanwhile(
        mut session: Session<counter_app::Visit>,
        store: web::Data<CountingStore>,
        req: HttpRequest,
    ) -> &'static str {
        let id = req.cookie("session").expect("a session cookie");
        let key = SessionKey::new("session:", &SessionId::parse(id.value()).expect("an id"));
        assert!(store.delete(&key, &[]).await.expect("delete"));
        session.purge();
        "bye"
    }
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let app = init_service(
            App::new()
                .app_data(web::Data::new(store.clone()))
                .wrap(builder(&store).build())
                .configure(counter_app::routes)
                .route("/ended-meanwhile", web::post().to(ended_meanwhile)),
        )
        .await;
        let mut jar = Jar::default();
        send!(app, jar, snapshotter, "GET", "/");
        recorded(&snapshotter);

        let (status, logout) = send!(app, jar, snapshotter, "POST", "/ended-meanwhile");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(logout.get("typed_session_ended_total{reason=purge}"), None);
    });
}

#[test]
fn store_failures_count_errors_503s_and_fail_open_fallbacks() {
    with_recorder(|snapshotter| async move {
        let store = CountingStore::default();
        let closed = app!(builder(&store));
        let open = app!(builder(&store).fail_open(true));
        let mut jar = Jar::default();
        send!(closed, jar, snapshotter, "GET", "/modify");
        recorded(&snapshotter);
        store.fail(true);

        let (status, load) = send!(closed, jar, snapshotter, "GET", "/peek");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            load,
            metrics(&[
                ("typed_session_loads_total{outcome=error}", 1),
                ("typed_session_load_duration_seconds{outcome=error}", 1),
                ("typed_session_store_errors_total{operation=load}", 1),
                (
                    "typed_session_unavailable_responses_total{during=request}",
                    1
                ),
            ])
        );

        // A new visitor's increment is kept in memory; the create that saves it fails.
        let (status, commit) = send!(closed, Jar::default(), snapshotter, "GET", "/");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            commit,
            metrics(&[
                ("typed_session_commits_total{outcome=error}", 1),
                ("typed_session_commit_duration_seconds{outcome=error}", 1),
                ("typed_session_store_errors_total{operation=commit}", 1),
                (
                    "typed_session_unavailable_responses_total{during=commit}",
                    1
                ),
            ])
        );

        // A known visitor's increment goes to the store, which fails.
        let (status, increment) = send!(closed, jar, snapshotter, "GET", "/");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            increment,
            metrics(&[
                ("typed_session_store_errors_total{operation=increment}", 1),
                (
                    "typed_session_unavailable_responses_total{during=request}",
                    1
                ),
            ])
        );

        let (status, fell_back) = send!(open, jar, snapshotter, "GET", "/peek");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            fell_back,
            metrics(&[
                ("typed_session_loads_total{outcome=error}", 1),
                ("typed_session_load_duration_seconds{outcome=error}", 1),
                ("typed_session_store_errors_total{operation=load}", 1),
                ("typed_session_fail_open_total{during=load}", 1),
                ("typed_session_commits_total{outcome=failed_open}", 1),
            ])
        );
    });
}
