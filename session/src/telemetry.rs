//! What the middleware reports about its work: a `tracing` span around each load and each
//! commit, and, with the `metrics` feature, counters and latency histograms through the
//! [`metrics`](https://docs.rs/metrics) facade, for whatever recorder the app installs (a
//! Prometheus exporter, say). Without a recorder, or without the feature, recording costs
//! nothing worth measuring.
//!
//! A request whose handler takes no `Session<T>` or `SessionWriter<T>` records nothing and
//! opens no span (unless [`save_uninitialized`](crate::SessionMiddlewareBuilder::save_uninitialized)
//! makes every response a commit).
//!
//! # Spans
//!
//! At `DEBUG` level, so a subscriber at the usual `INFO` pays only for a level check:
//!
//! | span | fields |
//! |---|---|
//! | `session_load` | `session` (the id's fingerprint, or `new`), `outcome` (as the `outcome` label of [`LOADS`]), `duration_us` |
//! | `session_commit` | `session`, `outcome` (as the `outcome` label of [`COMMITS`]), `duration_us` |
//!
//! The store's own log lines (a retried call, a failure) fall inside them.
//!
//! # Metrics
//!
//! | name | kind | labels | counts |
//! |---|---|---|---|
//! | [`LOADS`] | counter | `outcome`: `loaded` (a stored session), `new` (no id, or nothing stored under it), `expired` (a Node document past its expiry, or a session past the absolute timeout), `error` (the store failed) | the one load of a request's session: its first `Session<T>` (or a `SessionWriter<T>` that must load; one that does not is no load) |
//! | [`LOAD_SECONDS`] | histogram | `outcome` | how long a load that called the store took |
//! | [`COMMITS`] | counter | `outcome`: `created`, `updated`, `renewed`, `purged` (a stored session, by `purge()`), `unchanged` (nothing to write), `refused` (the session ended meanwhile, or would outgrow `max_session_size`), `error` (the store failed, or no id or encoding could be made), `failed_open` (the store failed earlier and `fail_open` went on without it) | the save after a handler that took the session |
//! | [`COMMIT_SECONDS`] | histogram | `outcome` | how long a commit took, but for `unchanged` and `failed_open` ones, which call no store |
//! | [`CREATED`] | counter | `kind`: `new` (a first write, or a write after a purge), `renewal` (`renew()`: the same session under a new id) | sessions stored under a new id |
//! | [`ENDED`] | counter | `reason`: `purge` (`purge()`, a logout), `index` (`end_other_sessions()`, `end_all_sessions()`), `cap` (a login past `max_sessions_per_index`) | stored sessions ended by a request |
//! | [`STORE_ERRORS`] | counter | `operation`: `load`, `commit`, `increment`, `index` | store calls that failed (a timeout, a lost connection, an answer not understood) |
//! | [`UNAVAILABLE`] | counter | `during`: `request` (an extractor or a handler answered with the store's error), `commit` (a failed commit replaced the response) | empty 503 responses for a store failure or a session ended mid-request |
//! | [`FAIL_OPEN`] | counter | `during`: `load`, `increment`, `commit` | store failures that [`fail_open`](crate::SessionMiddlewareBuilder::fail_open) let the request survive |
//!
//! Not counted: commits skipped after a 5xx handler response (see
//! [`commit_on_server_error`](crate::SessionMiddlewareBuilder::commit_on_server_error)), a
//! logout whose session was gone already, and sessions that expire in the store. Durations are in seconds. Descriptions go to the recorder with the
//! first metric recorded.

use std::fmt::Display;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use tracing::field::Empty;
use tracing::Span;

use crate::error::{SessionError, StoreError};

/// Counter of loads, by `outcome`.
pub const LOADS: &str = "typed_session_loads_total";
/// Histogram of the seconds a load that called the store took, by `outcome`.
pub const LOAD_SECONDS: &str = "typed_session_load_duration_seconds";
/// Counter of commits, by `outcome`.
pub const COMMITS: &str = "typed_session_commits_total";
/// Histogram of the seconds a commit that called the store took, by `outcome`.
pub const COMMIT_SECONDS: &str = "typed_session_commit_duration_seconds";
/// Counter of sessions stored under a new id, by `kind`.
pub const CREATED: &str = "typed_session_created_total";
/// Counter of stored sessions ended by a request, by `reason`.
pub const ENDED: &str = "typed_session_ended_total";
/// Counter of failed store calls, by `operation`.
pub const STORE_ERRORS: &str = "typed_session_store_errors_total";
/// Counter of empty 503 responses for a store failure or an ended session, by `during`.
pub const UNAVAILABLE: &str = "typed_session_unavailable_responses_total";
/// Counter of store failures survived under `fail_open`, by `during`.
pub const FAIL_OPEN: &str = "typed_session_fail_open_total";

/// What a load found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    Loaded,
    New,
    Expired,
    Error,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    Created,
    Updated,
    Renewed,
    Purged,
    Unchanged,
    FailedOpen,
}

/// Where a failed store call came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operation {
    Load,
    Commit,
    Increment,
    Index,
}

/// Why stored sessions ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End {
    Purge,
    Index,
    /// A login past `max_sessions_per_index` ended the user's oldest sessions.
    Cap,
}

impl Load {
    fn label(self) -> &'static str {
        match self {
            Load::Loaded => "loaded",
            Load::New => "new",
            Load::Expired => "expired",
            Load::Error => "error",
        }
    }
}

impl Commit {
    fn label(self) -> &'static str {
        match self {
            Commit::Created => "created",
            Commit::Updated => "updated",
            Commit::Renewed => "renewed",
            Commit::Purged => "purged",
            Commit::Unchanged => "unchanged",
            Commit::FailedOpen => "failed_open",
        }
    }
}

impl Operation {
    fn label(self) -> &'static str {
        match self {
            Operation::Load => "load",
            Operation::Commit => "commit",
            Operation::Increment => "increment",
            Operation::Index => "index",
        }
    }
}

/// A load or a commit under way: its span, and when it started.
pub(crate) struct Stopwatch {
    span: Span,
    started: Instant,
}

impl Stopwatch {
    /// Starts timing the load of `session` (a fingerprint, worked out only if the span is
    /// enabled).
    pub(crate) fn load(session: impl Display) -> Self {
        Self::new(tracing::debug_span!(
            "session_load",
            session = %session,
            outcome = Empty,
            duration_us = Empty
        ))
    }

    /// Starts timing the commit of `session`.
    pub(crate) fn commit(session: impl Display) -> Self {
        Self::new(tracing::debug_span!(
            "session_commit",
            session = %session,
            outcome = Empty,
            duration_us = Empty
        ))
    }

    fn new(span: Span) -> Self {
        Self {
            span,
            started: Instant::now(),
        }
    }

    /// The span to run the work in.
    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// The load ended with `outcome`; `reached_store`: whether it called the store (a
    /// request without an id does not). A load that failed is a store error.
    pub(crate) fn loaded(self, outcome: Load, reached_store: bool) {
        let elapsed = self.finish(outcome.label());
        count(LOADS, "outcome", outcome.label(), 1);
        if reached_store {
            observe(LOAD_SECONDS, "outcome", outcome.label(), elapsed);
        }
        if outcome == Load::Error {
            count(STORE_ERRORS, "operation", Operation::Load.label(), 1);
        }
    }

    /// The commit ended: what it did, or the error that stopped it.
    pub(crate) fn committed(self, result: Result<Commit, &SessionError>) {
        let outcome = match result {
            Ok(done) => done.label(),
            Err(SessionError::Ended | SessionError::TooLarge { .. }) => "refused",
            Err(SessionError::Store(error)) => {
                store_error(Operation::Commit, error);
                "error"
            }
            Err(_) => "error",
        };
        let elapsed = self.finish(outcome);
        count(COMMITS, "outcome", outcome, 1);
        if !matches!(result, Ok(Commit::Unchanged | Commit::FailedOpen)) {
            observe(COMMIT_SECONDS, "outcome", outcome, elapsed);
        }
    }

    fn finish(self, outcome: &'static str) -> Duration {
        let elapsed = self.started.elapsed();
        self.span.record("outcome", outcome);
        self.span.record(
            "duration_us",
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        elapsed
    }
}

/// A session was stored under a new id: a `renewal` of one, or a new one.
pub(crate) fn created(renewal: bool) {
    count(CREATED, "kind", if renewal { "renewal" } else { "new" }, 1);
}

/// `sessions` stored sessions ended, for `reason`.
pub(crate) fn ended(reason: End, sessions: usize) {
    let reason = match reason {
        End::Purge => "purge",
        End::Index => "index",
        End::Cap => "cap",
    };
    count(
        ENDED,
        "reason",
        reason,
        u64::try_from(sessions).unwrap_or(u64::MAX),
    );
}

/// A store call of `operation` failed with `error`. An increment out of its field's range
/// is the app's doing, not a failure of the store, and is not counted.
pub(crate) fn store_error(operation: Operation, error: &StoreError) {
    if !matches!(error, StoreError::OutOfRange(_)) {
        count(STORE_ERRORS, "operation", operation.label(), 1);
    }
}

/// `fail_open` let the request go on without the store, which failed during `operation`
/// (a load, an increment or a commit).
pub(crate) fn failed_open(operation: Operation) {
    count(FAIL_OPEN, "during", operation.label(), 1);
}

/// A failed commit replaced the response with `status`.
pub(crate) fn commit_refused(status: StatusCode) {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        count(UNAVAILABLE, "during", "commit", 1);
    }
}

/// Looks at the handler's response for an empty 503 made of a [`SessionError`]: one an
/// extractor or the handler returned. A pointer check on most responses.
pub(crate) fn handler_answered<B>(response: &HttpResponse<B>) {
    let from_session = response
        .error()
        .is_some_and(|error| error.as_error::<SessionError>().is_some());
    if from_session && response.status() == StatusCode::SERVICE_UNAVAILABLE {
        count(UNAVAILABLE, "during", "request", 1);
    }
}

#[cfg(feature = "metrics")]
fn count(name: &'static str, label: &'static str, value: &'static str, by: u64) {
    describe_once();
    let key = metrics::Key::from_static_labels(name, labels(label, value));
    metrics::with_recorder(|recorder| recorder.register_counter(&key, &METADATA).increment(by));
}

#[cfg(feature = "metrics")]
fn observe(name: &'static str, label: &'static str, value: &'static str, elapsed: Duration) {
    describe_once();
    let key = metrics::Key::from_static_labels(name, labels(label, value));
    metrics::with_recorder(|recorder| {
        recorder
            .register_histogram(&key, &METADATA)
            .record(elapsed.as_secs_f64());
    });
}

#[cfg(feature = "metrics")]
static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The one label of a metric, `label = value`, as a static: recording then builds its key
/// without allocating (the `metrics` macros allocate the labels of every key whose labels
/// are not literals at the call, on every request). Every pair recorded is listed here;
/// the tests read each back.
#[cfg(feature = "metrics")]
fn labels(label: &'static str, value: &'static str) -> &'static [metrics::Label] {
    macro_rules! pairs {
        ($($label:literal => [$($value:literal),+]),+) => {
            match (label, value) {
                $($(($label, $value) => {
                    static PAIR: [metrics::Label; 1] =
                        [metrics::Label::from_static_parts($label, $value)];
                    &PAIR
                })+)+
                _ => &[],
            }
        };
    }
    pairs!(
        "outcome" => [
            "loaded", "new", "expired", "error", "created", "updated", "renewed", "purged",
            "unchanged", "refused", "failed_open"
        ],
        "kind" => ["new", "renewal"],
        "reason" => ["purge", "index", "cap"],
        "operation" => ["load", "commit", "increment", "index"],
        "during" => ["request", "commit", "load", "increment"]
    )
}

/// Gives the recorder the metrics' descriptions (the `# HELP` lines of a Prometheus
/// exporter), on the first metric recorded.
#[cfg(feature = "metrics")]
fn describe_once() {
    use metrics::{describe_counter, describe_histogram, Unit};
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        describe_counter!(LOADS, "Session loads, by outcome");
        describe_histogram!(
            LOAD_SECONDS,
            Unit::Seconds,
            "Session loads that called the store"
        );
        describe_counter!(COMMITS, "Session commits, by outcome");
        describe_histogram!(
            COMMIT_SECONDS,
            Unit::Seconds,
            "Session commits that called the store"
        );
        describe_counter!(CREATED, "Sessions stored under a new id, by kind");
        describe_counter!(ENDED, "Stored sessions ended by a request, by reason");
        describe_counter!(STORE_ERRORS, "Failed session store calls, by operation");
        describe_counter!(UNAVAILABLE, "Empty 503 responses of the session middleware");
        describe_counter!(FAIL_OPEN, "Session store failures survived under fail_open");
    });
}

#[cfg(not(feature = "metrics"))]
fn count(_: &'static str, _: &'static str, _: &'static str, _: u64) {}

#[cfg(not(feature = "metrics"))]
fn observe(_: &'static str, _: &'static str, _: &'static str, _: Duration) {}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;

    /// Every label a metric is recorded with has its static pair: a missing one would
    /// record the metric without its label.
    #[test]
    fn every_label_recorded_has_its_static_pair() {
        let loads = [Load::Loaded, Load::New, Load::Expired, Load::Error].map(Load::label);
        let commits = [
            Commit::Created,
            Commit::Updated,
            Commit::Renewed,
            Commit::Purged,
            Commit::Unchanged,
            Commit::FailedOpen,
        ]
        .map(Commit::label);
        let operations = [
            Operation::Load,
            Operation::Commit,
            Operation::Increment,
            Operation::Index,
        ]
        .map(Operation::label);
        let pairs = loads
            .iter()
            .chain(&commits)
            .chain(&["refused", "error"])
            .map(|value| ("outcome", *value))
            .chain([("kind", "new"), ("kind", "renewal")])
            .chain([("reason", "purge"), ("reason", "index")])
            .chain(operations.iter().map(|value| ("operation", *value)))
            // `fail_open` survives loads, increments and commits; a 503 the request or the
            // commit.
            .chain(["load", "increment", "commit", "request"].map(|value| ("during", value)));
        for (label, value) in pairs {
            let labels = labels(label, value);
            assert_eq!(labels.len(), 1, "{label} = {value}");
            assert_eq!((labels[0].key(), labels[0].value()), (label, value));
        }
    }
}
