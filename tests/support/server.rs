//! `redis-server` processes started for one test: a free loopback port, no persistence
//! unless asked for, killed on drop, with their log printed when the test failed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// One `redis-server` process, owned by the test that started it.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    tls_port: Option<u16>,
    dir: PathBuf,
    extra_args: Vec<String>,
}

impl RedisServer {
    /// Starts a server with the default test settings.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with `extra_args` appended to the command line, for example
    /// `["--requirepass", "secret"]`.
    pub fn start_with(extra_args: &[&str]) -> Self {
        Self::start_inner(extra_args, false)
    }

    /// Starts a server that logs every write to its append-only file and syncs it to disk
    /// before answering (`appendfsync always`), so whatever it acknowledged survives a
    /// shutdown or a crash and is there again after [`RedisServer::start_again`].
    pub fn start_persistent() -> Self {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// Starts a server that also listens for TLS on [`RedisServer::tls_port`], with a
    /// self-signed certificate for `localhost` and `127.0.0.1` made for it.
    #[cfg(feature = "tls")]
    pub fn start_tls() -> Self {
        Self::start_inner(&[], true)
    }

    fn start_inner(extra_args: &[&str], tls: bool) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "actix-typed-session-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        #[cfg(feature = "tls")]
        if tls {
            write_certificate(&dir);
        }
        let mut server = Self {
            child: None,
            port: 0,
            tls_port: None,
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        // The port is free when we pick it, but another process may take it before
        // redis-server binds: then it exits at once, and we pick another.
        for _ in 0..5 {
            server.port = free_port();
            if tls {
                server.tls_port = Some(free_port());
            }
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start:\n{}", server.log());
    }

    /// Kills the server and starts a fresh one on the same port, with the same settings.
    /// Nothing survives unless it persists ([`RedisServer::start_persistent`]); the script
    /// cache never does, as in a real restart.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Starts the server again, after [`RedisServer::stop`] or [`RedisServer::terminate`],
    /// on the same port and data directory, and waits until it has loaded its data.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}:\n{}",
                self.port,
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Freezes the server (SIGSTOP), as a hung host would: connections stay open and
    /// nothing answers. [`RedisServer::resume`] thaws it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a server frozen by [`RedisServer::pause`] (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Shuts the server down as an operator would (SIGTERM: it stops taking commands,
    /// flushes its append-only file and exits), and waits until it has exited.
    pub fn terminate(&mut self) {
        self.signal("-TERM");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Kills the server, as a crash would. [`RedisServer::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The TCP port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port, for a server from `start_tls`.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// `redis://127.0.0.1:{port}`, without credentials.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The path of its unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// A client for [`RedisServer::url`], for checks behind the store's back.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid URL")
    }

    /// A connection of its own to the server, for checks behind the store's back.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("a connection to the test server")
    }

    /// The password given with `--requirepass`, if any.
    pub fn password(&self) -> Option<&str> {
        let at = self.extra_args.iter().position(|a| a == "--requirepass")?;
        self.extra_args.get(at + 1).map(String::as_str)
    }

    /// What the server wrote to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    fn tls_args(&self) -> Vec<String> {
        let Some(port) = self.tls_port else {
            return Vec::new();
        };
        let file = |name: &str| self.dir.join(name).display().to_string();
        vec![
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            file("cert.pem"),
            "--tls-key-file".into(),
            file("key.pem"),
            "--tls-ca-cert-file".into(),
            file("cert.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    }

    /// Spawns the process and waits for its first answer. False when it exited instead.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let socket = self.socket_path();
        let log = self.log_path();
        let mut child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .arg("--unixsocket")
            .arg(&socket)
            .args(["--unixsocketperm", "700"])
            .args(self.tls_args())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server (is it installed?)");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if answers_ping(&socket) {
                self.child = Some(child);
                return true;
            }
            if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "---- redis-server log (port {}) ----\n{}",
                self.port,
                self.log()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(feature = "tls")]
fn write_certificate(dir: &Path) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).expect("make a certificate");
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).expect("write cert.pem");
    let key = certified.key_pair.serialize_pem();
    std::fs::write(dir.join("key.pem"), key).expect("write key.pem");
}

/// Where [`free_port`] looks: below Linux's ephemeral range (32768 and up), which the
/// kernel hands to outgoing connections and to `bind(0)`, and 10 000 below the ports a
/// cluster node takes for its bus (its own port plus 10 000).
const PORTS: std::ops::Range<u16> = 10_000..20_000;

/// A loopback port that nothing listens on right now, for a server a test is about to
/// start. Never the same twice in one test process, and outside the ephemeral range, so
/// neither another test's server nor an outgoing connection takes it before that server
/// binds it (a port from `bind(0)` could be either).
pub fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let span = usize::from(PORTS.end - PORTS.start);
    // Test binaries run one after another: each starts elsewhere in the range, clear of
    // servers the previous one may still be shutting down.
    let start = std::process::id() as usize * 97;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = PORTS.start + u16::try_from(offset).expect("within the range");
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?}");
}

/// Whether a server answers on the unix socket `path`. Asking there, not on the TCP port,
/// makes sure the answer comes from our process and not from one that took the port
/// first. An error reply (`-NOAUTH` with `--requirepass`) counts: the server is up; only
/// `-LOADING` does not.
fn answers_ping(path: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(path) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 64];
    match stream.read(&mut reply) {
        Ok(n) if n > 0 => !reply[..n].starts_with(b"-LOADING"),
        _ => false,
    }
}
