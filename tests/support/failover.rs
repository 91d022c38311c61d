//! Visitors of the counter app kept busy through a failover, each checking that every
//! count it is told is the one it expects: an outage may cost 503s, never a wrong answer.

use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, Error};

use crate::http::{body, set_cookies, Jar};

/// Clean rounds over every visitor that count as recovered.
const CLEAN_ROUNDS: usize = 3;

/// Sends one request with `jar`'s cookies, takes in what a success sets, and returns the
/// status and body. A failure must set no cookie.
pub async fn send<S, B>(app: &S, jar: &mut Jar, method: &str, path: &str) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody<Error: Debug>,
{
    let res = test::call_service(app, jar.request(method, path).to_request()).await;
    let status = res.status();
    if status.is_success() {
        jar.absorb(&res);
    } else {
        assert!(set_cookies(&res).is_empty(), "{status} set a cookie");
    }
    (status, body(res).await)
}

/// The views a counter body reports.
pub fn views(text: &str) -> u64 {
    text.strip_suffix(" views")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a counter body: {text:?}"))
}

/// One visitor: its cookies and the count its session must hold.
struct Visitor {
    jar: Jar,
    views: u64,
    /// A `GET /` answered 503: the write may still have been applied before the failure,
    /// so the next count may be one higher than otherwise.
    maybe_written: bool,
}

/// Visitors with one session each.
pub struct Visitors {
    visitors: Vec<Visitor>,
}

/// What the visitors saw while the store failed over.
pub struct Report {
    /// Requests sent, 503s among them.
    pub requests: usize,
    /// Requests answered 503 (always with an empty body and no cookie).
    pub failures: usize,
    /// When the first and the last 503 came, counted from the outage.
    pub failing: Option<(Duration, Duration)>,
    /// Answers that were neither a 503 nor the expected count.
    pub wrong: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requests, {} 503s", self.requests, self.failures)?;
        if let Some((first, last)) = self.failing {
            write!(
                f,
                " from {} ms to {} ms after the outage began",
                first.as_millis(),
                last.as_millis()
            )?;
        }
        write!(f, ", {} wrong answers", self.wrong.len())
    }
}

impl Visitors {
    /// `count` visitors, each with a new session at 1 view.
    pub async fn start<S, B>(app: &S, count: usize) -> Self
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
        B: MessageBody<Error: Debug>,
    {
        let mut visitors = Vec::with_capacity(count);
        for _ in 0..count {
            let mut jar = Jar::default();
            let (status, text) = send(app, &mut jar, "GET", "/").await;
            assert_eq!((status, text.as_str()), (StatusCode::OK, "1 views"));
            visitors.push(Visitor {
                jar,
                views: 1,
                maybe_written: false,
            });
        }
        Self { visitors }
    }

    /// Every visitor sends `GET /` in turn, round after round, until three rounds in a row
    /// pass without a 503, or `limit` after `outage` has passed (a panic).
    pub async fn ride_out<S, B>(&mut self, app: &S, outage: Instant, limit: Duration) -> Report
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
        B: MessageBody<Error: Debug>,
    {
        let mut statuses: HashMap<StatusCode, usize> = HashMap::new();
        let mut failing: Option<(Duration, Duration)> = None;
        let mut wrong = Vec::new();
        let mut clean_rounds = 0;
        while clean_rounds < CLEAN_ROUNDS {
            assert!(
                outage.elapsed() < limit,
                "no recovery within {limit:?}: {statuses:?}"
            );
            let mut failed = false;
            for (i, visitor) in self.visitors.iter_mut().enumerate() {
                let (status, text) = send(app, &mut visitor.jar, "GET", "/").await;
                *statuses.entry(status).or_default() += 1;
                match status {
                    StatusCode::OK => {
                        let got = views(&text);
                        let expected = visitor.views + 1;
                        if got != expected && !(visitor.maybe_written && got == expected + 1) {
                            wrong.push(format!("visitor {i}: {got} views, expected {expected}"));
                        }
                        visitor.views = got;
                        visitor.maybe_written = false;
                    }
                    StatusCode::SERVICE_UNAVAILABLE => {
                        if !text.is_empty() {
                            wrong.push(format!("visitor {i}: a 503 with a body"));
                        }
                        failed = true;
                        visitor.maybe_written = true;
                        let at = outage.elapsed();
                        failing = Some(failing.map_or((at, at), |(first, _)| (first, at)));
                    }
                    other => wrong.push(format!("visitor {i}: status {other}")),
                }
            }
            clean_rounds = if failed { 0 } else { clean_rounds + 1 };
            if failed {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let failures = statuses
            .get(&StatusCode::SERVICE_UNAVAILABLE)
            .copied()
            .unwrap_or(0);
        Report {
            requests: statuses.values().sum(),
            failures,
            failing,
            wrong,
        }
    }

    /// Every visitor reads its session (`GET /peek`) and finds the count it last saw.
    pub async fn check_all_readable<S, B>(&mut self, app: &S)
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
        B: MessageBody<Error: Debug>,
    {
        for (i, visitor) in self.visitors.iter_mut().enumerate() {
            let (status, text) = send(app, &mut visitor.jar, "GET", "/peek").await;
            assert_eq!(status, StatusCode::OK, "visitor {i}");
            assert_eq!(views(&text), visitor.views, "visitor {i}");
        }
    }
}
