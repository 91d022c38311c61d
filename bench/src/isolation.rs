//! Whether each process of the bench got a share of the machine of its own. The bench
//! starts each in a session of its own (`processes::on_its_own`); that gives each its own
//! share only where the kernel groups by session (autogroups) and the bench is in no CPU
//! cgroup of its own, which ignores them. Recorded in the report, so a run where it did
//! not hold is not read as one where it did.

use crate::processes::Server;

pub struct Isolation {
    /// `/proc/sys/kernel/sched_autogroup_enabled`, `None` where it cannot be read.
    pub autogroups: Option<bool>,
    /// The bench's CPU cgroup (`/` is the root, where autogroups apply).
    pub cpu_cgroup: String,
    /// Whether the bench and its servers are in as many autogroups as there are of them.
    pub separate: bool,
}

impl Isolation {
    /// Reads the kernel's setting and the autogroups of the bench and `servers`.
    pub fn now(servers: &[&Server]) -> Self {
        let autogroups = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
            .ok()
            .map(|flag| flag.trim() == "1");
        let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        // cgroup v1 names the controller (`1:cpu:/path`), v2 has one line (`0::/path`).
        let cgroup = |wanted: fn(&str) -> bool| {
            cgroups.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let controllers = parts.nth(1)?;
                let path = parts.next()?;
                wanted(controllers).then(|| path.to_owned())
            })
        };
        let cpu_cgroup = cgroup(|controllers| controllers.split(',').any(|c| c == "cpu"))
            .or_else(|| cgroup(str::is_empty))
            .unwrap_or_else(|| "?".to_owned());
        let mut groups: Vec<String> = servers
            .iter()
            .map(|server| format!("/proc/{}/autogroup", server.pid()))
            .chain(["/proc/self/autogroup".to_owned()])
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect();
        let processes = servers.len() + 1;
        groups.sort();
        groups.dedup();
        Self {
            autogroups,
            cpu_cgroup,
            separate: groups.len() == processes,
        }
    }

    /// Whether each process had a share of its own.
    pub fn held(&self) -> bool {
        self.autogroups == Some(true) && self.cpu_cgroup == "/" && self.separate
    }
}
