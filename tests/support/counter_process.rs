//! The `counter` example (or another example, such as `demo`) as a separate process: the
//! built binary, started with a clean environment on a free port, killed on drop, its
//! output shown when a test failed.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::free_port;

/// How long the example may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `target/<profile>/examples/<name>`, which `cargo test --workspace` builds. When a test
/// run did not build it (`cargo test -p actix-typed-session-tests`), build it into a
/// separate target directory, as trybuild does, so this never waits on cargo's own lock.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let built = profile_dir.join("examples").join(name);
    if built.exists() {
        return built;
    }
    let own_target = profile_dir.join("counter-example-build");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "examples", "--example", name, "--target-dir"])
        .arg(&own_target)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the {name} example failed");
    own_target.join("debug").join("examples").join(name)
}

/// The keys an example signs with unless a test sets `SESSION_KEYS`: two, each long
/// enough to pass the middleware's check (32 bytes), the first signs.
pub const TEST_KEYS: &str =
    "first test key that is long enough to sign,second test key that is long enough to sign";

/// One running example process; killed on drop, its output printed if the test failed.
pub struct Counter {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Counter {
    /// Starts the example with `env` on top of a clean environment that sets `BIND`,
    /// `WORKERS=1`, `SESSION_KEYS` ([`TEST_KEYS`]) and `RUST_LOG`, and waits until it
    /// accepts connections.
    pub fn start(env: &[(&str, String)]) -> Self {
        Self::start_example("counter", env)
    }

    /// Starts the example called `name` the same way.
    pub fn start_example(name: &str, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let log =
            std::env::temp_dir().join(format!("{name}-example-{}-{port}.log", std::process::id()));
        let out = File::create(&log).expect("log file");
        let mut command = Command::new(example_binary(name));
        command
            .env_clear()
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("WORKERS", "1")
            .env("SESSION_KEYS", TEST_KEYS)
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("start the counter example");
        let counter = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        counter.wait_until_up();
        counter
    }

    /// Runs the example with `env`, expecting it to refuse to start; returns what it
    /// printed to stderr.
    pub fn start_failing(env: &[(&str, String)]) -> String {
        let output = Command::new(example_binary("counter"))
            .env_clear()
            .env("BIND", format!("127.0.0.1:{}", free_port()))
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .output()
            .expect("run the counter example");
        assert!(!output.status.success(), "it started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(self.base.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the example did not start:\n{}", self.output());
    }

    /// Everything the example printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The URL of `path` on the example.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Who `browser` is logged in as, by the example's `GET /whoami`: `None` when not.
    pub async fn whoami(&self, browser: &mut Browser) -> Option<String> {
        let reply = browser.get(&self.url("/whoami")).await;
        match reply.status {
            200 => Some(reply.body),
            401 => None,
            other => panic!("whoami: {other} {}", reply.body),
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- example output ---\n{}", self.output());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
