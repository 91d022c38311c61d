//! The processes under test: one redis-server and the apps, each on a free port, each
//! killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Linux's `USER_HZ`, the unit of `/proc/stat` and `/proc/<pid>/stat` times, on every
/// common platform.
pub const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// How long a process may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A child process listening on `port`, killed on drop.
pub struct Server {
    pub port: u16,
    child: Child,
}

impl Server {
    /// A `redis-server` with no persistence, on a free port.
    pub fn redis() -> Result<Self, String> {
        let port = free_port()?;
        let child = on_its_own(&mut Command::new("redis-server"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("start redis-server: {e}"))?;
        Self::listening(port, child)
    }

    /// The app at `binary`, bound to a free port, with `env` and a Redis at `redis`.
    pub fn app(binary: &Path, redis: u16, env: &[(&str, &str)]) -> Result<Self, String> {
        let port = free_port()?;
        let child = on_its_own(&mut Command::new(binary))
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("REDIS_URL", format!("redis://127.0.0.1:{redis}"))
            .env("WORKERS", "1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", binary.display()))?;
        Self::listening(port, child)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the process has used so far, system and user, in microseconds (Linux).
    pub fn cpu_us(&self) -> u64 {
        cpu_us(&format!("/proc/{}/stat", self.pid()), 2)
    }

    fn listening(port: u16, mut child: Child) -> Result<Self, String> {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("a process for port {port} exited: {status}"));
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                return Err(format!(
                    "nothing listens on port {port} after {START_TIMEOUT:?}"
                ));
            }
            sleep(Duration::from_millis(50));
        }
        Ok(Self { port, child })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("free port: {e}"))
}

/// CPU time this program and the children it has waited for (the `wrk` runs) have used
/// so far, in microseconds (Linux).
pub fn own_cpu_us() -> u64 {
    cpu_us("/proc/self/stat", 4)
}

/// The sum of the first `fields` of utime, stime, cutime and cstime in the `stat` file at
/// `path`, in microseconds; 0 if it cannot be read.
fn cpu_us(path: &str, fields: usize) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields 14 to 17, in clock ticks, after the parenthesised name.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(fields)
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    ticks * 1_000_000 / CLOCK_TICKS_PER_SECOND
}

/// Starts `command` in a session of its own, as a service started by an init system would
/// be. With autogroups (on in Debian's kernels), Linux's
/// scheduler shares the cores between sessions first and between threads only within one:
/// with every process in the bench's session, how much of the machine an app got depended
/// on its thread count and on how redis-server was started (measured in PROFILE.md).
///
/// Out of the bench's session, a child no longer gets the terminal's Ctrl-C, so it is told
/// to die with the bench instead: with the thread that spawns it, strictly, so every
/// process is started from the main thread.
pub fn on_its_own(command: &mut Command) -> &mut Command {
    let bench = std::process::id();
    // SAFETY: the closure runs in the forked child before exec; `setsid`, `prctl` and
    // `getppid` are async-signal-safe system calls that touch no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The bench died before the line above: nobody would stop this child.
            if u32::try_from(libc::getppid()) != Ok(bench) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    }
}
