//! The spans of a load and a commit, caught by a `tracing` subscriber of the test's own.
//! Alone in its binary: `tracing` caches whether a callsite is wanted, and a test running
//! beside it that passed the same callsites with no subscriber could leave them switched
//! off for this one's thread-scoped subscriber (it failed one run in four that way).

use std::io;
use std::sync::{Arc, Mutex};

use actix_typed_session::{Keys, SessionMiddleware};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::counting_store::CountingStore;
use actix_typed_session_tests::http::Jar;
use actix_web::test::{call_service, init_service};
use actix_web::App;
use tracing_subscriber::fmt::format::FmtSpan;

const KEY: &str = "a test key that is long enough to sign";

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_load_and_the_commit_each_close_a_debug_span_with_outcome_and_duration() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        actix_rt::System::new().block_on(async {
            let store = CountingStore::default();
            let app = init_service(
                App::new()
                    .wrap(SessionMiddleware::new(store.clone(), Keys::new([KEY])))
                    .configure(counter_app::routes),
            )
            .await;
            let mut jar = Jar::default();
            let res = call_service(&app, jar.request("GET", "/modify").to_request()).await;
            jar.absorb(&res);
            call_service(&app, jar.request("GET", "/modify").to_request()).await;
            call_service(&app, jar.request("GET", "/health").to_request()).await;
        });
    });
    let log = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("UTF-8");
    let closed = |name: &str, outcome: &str| {
        log.lines().any(|line| {
            line.contains(name)
                && line.contains("close")
                && line.contains(&format!("outcome=\"{outcome}\""))
                && line.contains("duration_us=")
        })
    };
    assert!(closed("session_load", "new"), "{log}");
    assert!(closed("session_commit", "created"), "{log}");
    assert!(closed("session_load", "loaded"), "{log}");
    assert!(closed("session_commit", "updated"), "{log}");
    let spans = log
        .lines()
        .filter(|line| line.contains("session_") && line.contains("close"))
        .count();
    assert_eq!(spans, 4, "/health opens no span: {log}");
}
