//! One timed run of `wrk` against one URL.

use std::path::Path;
use std::process::Command;

use crate::processes::on_its_own;

/// What `wrk` measured in one run.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub requests: u64,
    pub seconds: f64,
    /// Latency percentiles, in microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    /// Failed connections, reads, writes, timeouts and non-2xx/3xx answers.
    pub errors: u64,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// wrk's end-of-run hook: one machine-readable line instead of its prose summary.
pub const SUMMARY_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %.0f %.0f %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// Load settings shared by every run.
pub struct Load<'a> {
    pub connections: u32,
    pub seconds: u32,
    pub script: &'a Path,
}

impl Load<'_> {
    /// Drives `GET http://127.0.0.1:{port}{path}` with `cookie` (may be empty) for the
    /// configured time.
    pub fn run(&self, port: u16, path: &str, cookie: &str) -> Result<Run, String> {
        let mut wrk = Command::new("wrk");
        on_its_own(&mut wrk);
        wrk.args(["-t1", &format!("-c{}", self.connections)])
            .args([&format!("-d{}s", self.seconds), "--timeout", "5s", "-s"])
            .arg(self.script);
        if !cookie.is_empty() {
            wrk.args(["-H", &format!("Cookie: {cookie}")]);
        }
        let output = wrk
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .map_err(|e| format!("run wrk: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|line| line.strip_prefix("BENCH "))
            .ok_or_else(|| {
                let stderr = String::from_utf8_lossy(&output.stderr);
                format!("wrk gave no summary: {stdout}{stderr}")
            })?;
        let numbers: Vec<f64> = line
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let [requests, micros, p50_us, p99_us, errors] = numbers[..] else {
            return Err(format!("unreadable wrk summary {line:?}"));
        };
        Ok(Run {
            requests: requests as u64,
            seconds: micros / 1e6,
            p50_us,
            p99_us,
            errors: errors as u64,
        })
    }
}
