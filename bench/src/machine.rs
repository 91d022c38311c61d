//! The machine a run happened on, for the report.

use std::process::Command;

use crate::contention::Contention;
use crate::isolation::Isolation;

pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub date: String,
    pub redis: String,
    /// One-minute load average before and after the run.
    pub load: (String, String),
    /// What other work took while the rounds ran.
    pub contention: Contention,
    /// Whether each process had a share of the machine of its own.
    pub isolation: Isolation,
}

impl Machine {
    pub fn now(load_before: String, contention: Contention, isolation: Isolation) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".to_owned());
        Self {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            redis: output("redis-server", &["--version"])
                .split_whitespace()
                .find_map(|word| word.strip_prefix("v="))
                .unwrap_or("unknown")
                .to_owned(),
            load: (load_before, load_average()),
            contention,
            isolation,
        }
    }
}

/// The one-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|load| load.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}
