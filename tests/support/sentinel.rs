//! Sentinel-managed replication for one test: a master, one replica and one sentinel
//! watching them (quorum 1, down after 1000 ms), on free loopback ports. Killed on drop,
//! with the sentinel's log printed when the test failed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::cluster::wait_for_offset;
use crate::{free_port, RedisServer};

/// The name the sentinel knows the master by.
pub const MASTER_NAME: &str = "sessions";

/// How long the replica and the sentinel may take to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A master, its replica and a sentinel.
pub struct SentinelSetup {
    servers: Vec<RedisServer>,
    sentinel: Sentinel,
}

impl SentinelSetup {
    /// Starts the master, the replica and the sentinel, and waits until the replica has
    /// synced and the sentinel knows both.
    pub fn start() -> Self {
        // Without the delay the replica's first sync waits 5 s for others to join.
        let fast_sync = ["--repl-diskless-sync-delay", "0"];
        let master = RedisServer::start_with(&fast_sync);
        let port = master.port().to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", &port];
        args.extend(fast_sync);
        let replica = RedisServer::start_with(&args);
        let sentinel = Sentinel::start(master.port());
        let setup = Self {
            servers: vec![master, replica],
            sentinel,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !setup.info(1).contains("master_link_status:up") {
            assert!(Instant::now() < deadline, "the replica did not sync");
            thread::sleep(Duration::from_millis(50));
        }
        while setup.sentinel_replicas() < 1 {
            assert!(Instant::now() < deadline, "the sentinel found no replica");
            thread::sleep(Duration::from_millis(50));
        }
        setup
    }

    /// The master (0) and the replica (1), as started.
    pub fn servers(&self) -> &[RedisServer] {
        &self.servers
    }

    /// Server `index`, to stop it.
    pub fn server_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.servers[index]
    }

    /// `redis://127.0.0.1:{port}` of the sentinel.
    pub fn sentinel_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.sentinel.port)
    }

    /// The port of the master, as the sentinel names it now.
    pub fn master_port(&self) -> u16 {
        match self.sentinel_query(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]) {
            Value::Array(parts) => match parts.get(1) {
                Some(Value::BulkString(port)) => std::str::from_utf8(port)
                    .ok()
                    .and_then(|port| port.parse().ok())
                    .expect("a port"),
                other => panic!("not a port: {other:?}"),
            },
            other => panic!("no master address: {other:?}"),
        }
    }

    /// Waits until the replica has every write the master has made so far.
    pub fn wait_for_replica(&self) {
        wait_for_offset(|| self.info(0), || self.info(1));
    }

    fn info(&self, index: usize) -> String {
        let mut conn = self.servers[index]
            .client()
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("connect");
        redis::cmd("INFO")
            .arg("REPLICATION")
            .query(&mut conn)
            .expect("INFO")
    }

    fn sentinel_replicas(&self) -> usize {
        match self.sentinel_query(&["SENTINEL", "REPLICAS", MASTER_NAME]) {
            Value::Array(replicas) => replicas.len(),
            _ => 0,
        }
    }

    fn sentinel_query(&self, args: &[&str]) -> Value {
        let client = redis::Client::open(self.sentinel_url()).expect("a valid URL");
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("connect to the sentinel");
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut conn)
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
    }
}

/// A `redis-server --sentinel` process with a configuration written for it (a sentinel
/// needs a file it can rewrite).
struct Sentinel {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sentinel {
    fn start(master_port: u16) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "actix-typed-session-sentinel-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the sentinel's directory");
        let port = free_port();
        let config = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\nlogfile {dir}/sentinel.log\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir = dir.display()
        );
        let config_path = dir.join("sentinel.conf");
        std::fs::write(&config_path, config).expect("write sentinel.conf");
        let child = Command::new("redis-server")
            .arg(&config_path)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server --sentinel");
        let sentinel = Self { child, port, dir };
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("URL");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(500))
                .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
            if pong.is_ok() {
                return sentinel;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinel did not start:\n{}",
                sentinel.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sentinel.log")).unwrap_or_default()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "---- sentinel log (port {}) ----\n{}",
                self.port,
                self.log()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
