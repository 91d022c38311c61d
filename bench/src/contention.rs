//! How much of the machine was not the benchmark's while it ran: the CPU time of every
//! process but ours, and the time the hypervisor held back. On a shared machine this,
//! more than anything in the code, decides how far a run's figures move.

use crate::processes::{own_cpu_us, Server, CLOCK_TICKS_PER_SECOND};

/// The machine's CPU clocks and the benchmark's own CPU time at one moment.
pub struct Sample {
    /// All cores' time, busy or not, in microseconds.
    total_us: u64,
    /// Time spent running anything: user, system and interrupts. The kernel's usual
    /// tick-based accounting charges an interrupt to the process it interrupted, so the
    /// bench's own loopback traffic is in its processes' times as well.
    busy_us: u64,
    /// Time a virtual machine's cores were ready but the hypervisor ran something else.
    steal_us: u64,
    /// This program, the `wrk` runs it waited for, redis-server and the apps.
    ours_us: u64,
}

/// What the rest of the machine took between two samples, as shares of all cores' time.
pub struct Contention {
    /// Busy time not charged to the benchmark's processes: other work. Near zero, it can
    /// come out slightly negative (both clocks are sampled by ticks). A kernel built with
    /// `IRQ_TIME_ACCOUNTING` charges interrupts to no process, and then this includes the
    /// bench's own interrupt work too.
    pub others: f64,
    pub steal: f64,
}

impl Sample {
    /// The clocks now; `servers` are the benchmark's redis-server and apps.
    pub fn now(servers: &[&Server]) -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // cpu  user nice system idle iowait irq softirq steal ...
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|n| n.parse().ok())
            .collect();
        let field =
            |i: usize| ticks.get(i).copied().unwrap_or(0) * 1_000_000 / CLOCK_TICKS_PER_SECOND;
        Self {
            total_us: (0..8).map(field).sum(),
            busy_us: [0, 1, 2, 5, 6].into_iter().map(field).sum(),
            steal_us: field(7),
            ours_us: own_cpu_us() + servers.iter().map(|s| s.cpu_us()).sum::<u64>(),
        }
    }

    /// What the rest of the machine took since `earlier`.
    pub fn since(&self, earlier: &Sample) -> Contention {
        let total = self.total_us.saturating_sub(earlier.total_us).max(1) as f64;
        let busy = self.busy_us.saturating_sub(earlier.busy_us) as f64;
        let ours = self.ours_us.saturating_sub(earlier.ours_us) as f64;
        Contention {
            others: (busy - ours) / total,
            steal: self.steal_us.saturating_sub(earlier.steal_us) as f64 / total,
        }
    }
}
