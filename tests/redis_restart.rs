//! The counter example under load while its Redis, which syncs every write to disk before
//! answering (`appendfsync always`), is shut down and later crashes, each time started
//! again on the same data: no acknowledged increment is lost or counted twice, every
//! failure meanwhile is an empty 503, and service resumes with no help.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use actix_typed_session_tests::counter_process::Counter;
use actix_typed_session_tests::RedisServer;

/// Clients counting at once, each on its own session.
const CLIENTS: usize = 4;
/// How long each phase lasts: load before an outage, Redis away, load after it.
const PHASE: Duration = Duration::from_millis(1500);
/// How long a client keeps trying after the last outage before the test gives up on
/// recovery. Only there so a broken recovery fails the test instead of hanging it.
const GIVE_UP: Duration = Duration::from_secs(60);
/// Successes each client needs after the last outage, to show it recovered.
const SUCCESSES_AFTER: usize = 20;

/// What one client saw.
#[derive(Default)]
struct Tally {
    /// 200s, each an increment the client was told was saved.
    acknowledged: usize,
    /// 200s showing a count at or below an earlier 200's: an acknowledged write gone.
    lost: usize,
    /// 200s showing more than the previous 200 plus one plus the failures since: a write
    /// applied twice.
    doubled: usize,
    /// Increments that were saved although their request failed (Redis went away between
    /// writing and answering): they show as a gap after a failure, never as a loss.
    saved_unacknowledged: u64,
    /// Empty 503s.
    unavailable: usize,
    /// Anything else: another status, a non-empty 503, a transport error.
    other: Vec<String>,
    /// When each 200 arrived.
    successes: Vec<Instant>,
}

/// Everything but the times of the successes, which would drown a failure's message.
impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally")
            .field("acknowledged", &self.acknowledged)
            .field("lost", &self.lost)
            .field("doubled", &self.doubled)
            .field("saved_unacknowledged", &self.saved_unacknowledged)
            .field("unavailable", &self.unavailable)
            .field("other", &self.other)
            .finish_non_exhaustive()
    }
}

/// Sends `GET /` on one session until `done` is set and it has seen [`SUCCESSES_AFTER`]
/// more successes, checking every answer against the last acknowledged count.
async fn count(url: String, done: Arc<AtomicBool>) -> Tally {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut tally = Tally::default();
    let mut last = 0u64;
    let mut failures_since = 0u64;
    let mut after_done = 0;
    let mut give_up = None;
    loop {
        if done.load(Ordering::Acquire) {
            if after_done == SUCCESSES_AFTER {
                return tally;
            }
            let give_up = *give_up.get_or_insert_with(|| Instant::now() + GIVE_UP);
            assert!(Instant::now() < give_up, "no recovery: {tally:?}");
        } else {
            after_done = 0;
        }
        let res = match client.get(&url).send().await {
            Ok(res) => res,
            Err(error) => {
                tally.other.push(format!("transport: {error}"));
                continue;
            }
        };
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        match status {
            200 => {
                let views: u64 = text
                    .strip_suffix(" views")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected body {text:?}"));
                tally.acknowledged += 1;
                tally.successes.push(Instant::now());
                if views <= last {
                    tally.lost += 1;
                } else if views > last + 1 + failures_since {
                    tally.doubled += 1;
                } else {
                    tally.saved_unacknowledged += views - last - 1;
                }
                last = views;
                failures_since = 0;
                after_done += 1;
            }
            503 if text.is_empty() => {
                tally.unavailable += 1;
                failures_since += 1;
                // A failing Redis answers at once; no need to spin on it.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ => tally.other.push(format!("{status} {text:?}")),
        }
    }
}

/// Runs the outages on a thread of their own while the clients count, and returns when
/// Redis answered again after each, and the server, which must outlive the clients.
fn outages(
    mut server: RedisServer,
    done: Arc<AtomicBool>,
) -> thread::JoinHandle<(RedisServer, Vec<Instant>)> {
    thread::spawn(move || {
        let mut back = Vec::new();
        thread::sleep(PHASE);
        // A graceful shutdown first, then a crash: both must keep every acknowledged write.
        server.terminate();
        thread::sleep(PHASE);
        server.start_again();
        back.push(Instant::now());
        thread::sleep(PHASE);
        server.stop();
        thread::sleep(PHASE);
        server.start_again();
        back.push(Instant::now());
        done.store(true, Ordering::Release);
        (server, back)
    })
}

#[actix_web::test]
async fn no_acknowledged_write_is_lost_across_a_shutdown_and_a_crash_of_a_persistent_redis() {
    let server = RedisServer::start_persistent();
    let counter = Counter::start(&[("REDIS_URL", server.url())]);
    let done = Arc::new(AtomicBool::new(false));
    let outages = outages(server, done.clone());

    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        clients.spawn(count(counter.url("/"), done.clone()));
    }
    let tallies = clients.join_all().await;
    let (_server, back) = outages.join().expect("the outage thread");

    for tally in &tallies {
        assert!(
            tally.other.is_empty(),
            "not an empty 503: {:?}",
            tally.other
        );
        assert_eq!(tally.lost, 0, "acknowledged writes lost: {tally:?}");
        assert_eq!(tally.doubled, 0, "writes applied twice: {tally:?}");
        assert!(
            tally.unavailable > 0,
            "the outages never reached the client: {tally:?}"
        );
    }
    // Figures for the notes, not assertions: shared machines are noisy.
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    eprintln!(
        "{CLIENTS} clients: {} writes acknowledged, {} lost, {} doubled, {} empty 503s, \
         {} saved without an acknowledgement",
        sum(|t| t.acknowledged as u64),
        sum(|t| t.lost as u64),
        sum(|t| t.doubled as u64),
        sum(|t| t.unavailable as u64),
        sum(|t| t.saved_unacknowledged),
    );
    for (outage, returned) in ["shutdown", "crash"].iter().zip(&back) {
        let first = tallies
            .iter()
            .flat_map(|t| t.successes.iter())
            .filter(|at| *at > returned)
            .min()
            .expect("a success after Redis returned");
        eprintln!(
            "after the {outage}: first success {:?} after Redis answered again",
            first.duration_since(*returned)
        );
    }
}
