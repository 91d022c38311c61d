//! The Koa and Express apps in `tests/node/` (and the demo's browser script), run with the
//! machine's node against a test's own `redis-server`. The npm packages they need are
//! installed once per lock file into a scratch folder (`npm ci`), which every later run
//! reuses.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::{free_port, RedisServer};

/// How long an app may take to print its ready line (it takes well under a second).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The oldest node the locked packages accept (koa-session 7 asks for 18.19).
const MIN_NODE: (u32, u32) = (18, 19);
/// The keys an app signs with unless a test sets `SESSION_KEYS`: the first signs.
pub const DEFAULT_KEYS: &str = "first test key,second test key";

/// One session package (and the framework around it) with an app in `tests/node/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodePackage {
    /// Koa 3 with koa-session 7 and koa-redis 4.
    KoaSession,
    /// Express 5 with express-session and connect-redis 9.
    ExpressSession,
    /// Koa 3 with the seed koa2-session2-redis.
    Koa2Session2Redis,
    /// Koa 3 with the seed koa-session-redis3 (through koa-convert).
    KoaSessionRedis3,
    /// Koa 3 with koa-session 7 and no store: the session itself in the signed cookie.
    /// Its app needs no Redis (it ignores `REDIS_URL`).
    KoaSessionCookie,
}

impl NodePackage {
    /// Every package with an app.
    pub const ALL: [NodePackage; 5] = [
        NodePackage::KoaSession,
        NodePackage::ExpressSession,
        NodePackage::Koa2Session2Redis,
        NodePackage::KoaSessionRedis3,
        NodePackage::KoaSessionCookie,
    ];

    /// The app's file in `tests/node/`.
    pub fn script(self) -> &'static str {
        match self {
            NodePackage::KoaSession => "koa-session.js",
            NodePackage::ExpressSession => "express-session.js",
            NodePackage::Koa2Session2Redis => "koa2-session2-redis.js",
            NodePackage::KoaSessionRedis3 => "koa-session-redis3.js",
            NodePackage::KoaSessionCookie => "koa-session-cookie.js",
        }
    }

    /// The name of the cookie that carries the session id (the session itself, for
    /// [`NodePackage::KoaSessionCookie`]).
    pub fn cookie_name(self) -> &'static str {
        match self {
            NodePackage::KoaSession | NodePackage::KoaSessionCookie => "koa.sess",
            NodePackage::ExpressSession => "connect.sid",
            NodePackage::Koa2Session2Redis => "koa:sid",
            NodePackage::KoaSessionRedis3 => "koa:sess",
        }
    }

    /// Whether the package keeps its sessions in Redis: all but the cookie mode, whose
    /// app starts (with a Redis or without, see [`NodeApp::start_without_redis`]) and
    /// never sends Redis a command.
    pub fn uses_redis(self) -> bool {
        self != NodePackage::KoaSessionCookie
    }
}

/// One running Node app; killed on drop, its output printed when the test failed.
pub struct NodeApp {
    child: Child,
    package: NodePackage,
    port: u16,
    log: PathBuf,
}

impl NodeApp {
    /// Starts the app for `package` against `redis`, signing with [`DEFAULT_KEYS`].
    pub fn start(package: NodePackage, redis: &RedisServer) -> Self {
        Self::start_with(package, redis, &[])
    }

    /// Starts the app of a package that keeps no sessions in Redis (see
    /// [`NodePackage::uses_redis`]) with no `REDIS_URL`, and extra environment as
    /// [`NodeApp::start_with`] takes it.
    pub fn start_without_redis(package: NodePackage, env: &[(&str, &str)]) -> Self {
        assert!(!package.uses_redis(), "{package:?} needs a Redis");
        Self::spawn(package, None, env)
            .unwrap_or_else(|output| panic!("the {package:?} app did not start:\n{output}"))
    }

    /// Starts the app with extra environment, for example `SESSION_KEYS`,
    /// `SESSION_PREFIX`, `SESSION_MAX_AGE` (ms or `session`), `SESSION_ROLLING=1` or
    /// `SESSION_RENEW=1` (see `tests/node/common.js`).
    pub fn start_with(package: NodePackage, redis: &RedisServer, env: &[(&str, &str)]) -> Self {
        Self::try_start(package, redis, env)
            .unwrap_or_else(|output| panic!("the {package:?} app did not start:\n{output}"))
    }

    /// Like [`NodeApp::start_with`], but an app that exits before its ready line (a
    /// refused configuration) is an `Err` holding what it printed.
    pub fn try_start(
        package: NodePackage,
        redis: &RedisServer,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        Self::spawn(package, Some(redis.url()), env)
    }

    fn spawn(
        package: NodePackage,
        redis_url: Option<String>,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        // The port is free when picked; if another process takes it first, node exits
        // with EADDRINUSE and we pick another.
        let mut output = String::new();
        for attempt in 0..5 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!(
                "node-app-{}-{port}-{attempt}.log",
                std::process::id()
            ));
            let out = File::create(&log).expect("create the app's log");
            let mut command = node_command(package.script());
            if let Some(url) = &redis_url {
                command.env("REDIS_URL", url);
            }
            let child = command
                .env("PORT", port.to_string())
                .env("SESSION_KEYS", DEFAULT_KEYS)
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log file"))
                .stderr(out)
                .spawn()
                .expect("run node");
            let mut app = Self {
                child,
                package,
                port,
                log,
            };
            if app.wait_until_ready() {
                return Ok(app);
            }
            output = app.output();
            if !output.contains("EADDRINUSE") {
                break;
            }
        }
        Err(output)
    }

    /// Waits for the ready line. False when the app exited first.
    fn wait_until_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.output().lines().any(|line| line.starts_with("ready ")) {
                return true;
            }
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "the {:?} app printed no ready line:\n{}",
                self.package,
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The package it runs.
    pub fn package(&self) -> NodePackage {
        self.package
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the app printed so far, stdout and stderr together.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "---- {:?} app output (port {}) ----\n{}",
                self.package,
                self.port,
                self.output()
            );
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// keygrip's signature (what Koa's `cookies` puts in `<name>.sig`): base64url without
/// padding of HMAC-SHA1(key, `"<name>=<value>"`).
pub fn keygrip_sha1(key: &str, name: &str, value: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("{name}={value}").as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// `node tests/node/<script>` with a clean environment (`PATH` only) and the locked npm
/// packages on `NODE_PATH`, installing them first if needed.
pub fn node_command(script: &str) -> Command {
    let modules = node_modules();
    let mut command = Command::new("node");
    command
        .arg(Path::new(NODE_DIR).join(script))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NODE_PATH", modules);
    command
}

/// `tests/node/`: the apps, `package.json` and `package-lock.json`.
const NODE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/node");

/// The scratch `node_modules` holding the locked packages, installed on first use. Threads
/// of one test binary wait for one install; separate processes each install into their
/// own staging folder and the first to finish wins the rename, so none sees half a tree.
pub fn node_modules() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(install)
}

fn install() -> PathBuf {
    check_tools();
    let manifest = std::fs::read(Path::new(NODE_DIR).join("package.json")).expect("package.json");
    let lock =
        std::fs::read(Path::new(NODE_DIR).join("package-lock.json")).expect("package-lock.json");
    let digest = Sha256::new()
        .chain_update(&manifest)
        .chain_update(&lock)
        .finalize();
    let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("actix-typed-session-node-{key}"));
    let done = |dir: &Path| dir.join("installed").exists();
    if done(&dir) {
        return dir.join("node_modules");
    }
    let staging = std::env::temp_dir().join(format!(
        "actix-typed-session-node-{key}.{}.partial",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the staging folder");
    std::fs::write(staging.join("package.json"), &manifest).expect("copy package.json");
    std::fs::write(staging.join("package-lock.json"), &lock).expect("copy package-lock.json");
    // --omit=optional: koa-session-redis3's optional `hiredis` is a native build that it
    // does without. --ignore-scripts: none of the locked packages needs an install script.
    let output = Command::new("npm")
        .args(["ci", "--omit=optional", "--ignore-scripts"])
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&staging)
        .stdin(Stdio::null())
        .output()
        .expect("run npm");
    assert!(
        output.status.success(),
        "npm ci in {} failed:\n{}",
        staging.display(),
        both(&output)
    );
    std::fs::write(staging.join("installed"), b"").expect("mark the install done");
    if std::fs::rename(&staging, &dir).is_err() {
        // Another process finished first (or a stale, unfinished folder is in the way).
        if !done(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&staging, &dir).expect("move the install in place");
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    dir.join("node_modules")
}

/// Panics with what to do when node or npm is missing or node is too old.
fn check_tools() {
    const HINT: &str = "the Node interop tests need node >= 18.19 and npm on PATH: \
                        run scripts/install-deps.sh";
    let version = |tool: &str| -> String {
        let output = Command::new(tool)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool} ({e}); {HINT}"));
        assert!(output.status.success(), "{tool} --version failed; {HINT}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let node = version("node");
    version("npm");
    let mut parts = node
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    assert!(found >= MIN_NODE, "node {node} is too old; {HINT}");
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
