//! A real Redis Cluster for one test: six `redis-server` processes in cluster mode on free
//! loopback ports, joined by `redis-cli --cluster create` into three masters with one
//! replica each. Killed on drop; each node's log is printed when the test failed (by
//! [`RedisServer`]'s own drop).

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::RedisServer;

/// How long the cluster may take to agree on its slots after `--cluster create`.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// Three masters and three replicas.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six nodes, makes the cluster and waits until every node says
    /// `cluster_state:ok` and every replica has synced with its master.
    ///
    /// `cluster-node-timeout` is 1000 ms, so a failover takes a couple of seconds.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "1000",
                    // A replica's first sync would otherwise wait 5 s for others to join.
                    "--repl-diskless-sync-delay",
                    "0",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli (is it installed?)");
        let cluster = Self { nodes };
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_ready();
        cluster
    }

    /// Every node, masters and replicas, in start order.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The node at `index`, to stop it.
    pub fn node_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.nodes[index]
    }

    /// `redis://127.0.0.1:{port}` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Runs one command on node `index` and returns its reply.
    pub fn query(&self, index: usize, args: &[&str]) -> Value {
        let client = self.nodes[index].client();
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap_or_else(|err| panic!("connect to node {index}: {err}"));
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut conn)
            .unwrap_or_else(|err| panic!("{args:?} on node {index}: {err}"))
    }

    /// A command's reply as text (bulk and simple strings).
    pub fn query_text(&self, index: usize, args: &[&str]) -> String {
        match self.query(index, args) {
            Value::BulkString(bytes) => String::from_utf8(bytes).expect("UTF-8 reply"),
            Value::SimpleString(text) | Value::VerbatimString { text, .. } => text,
            other => panic!("{args:?}: not text: {other:?}"),
        }
    }

    /// A command's reply as an integer.
    pub fn query_int(&self, index: usize, args: &[&str]) -> i64 {
        match self.query(index, args) {
            Value::Int(n) => n,
            other => panic!("{args:?}: not an integer: {other:?}"),
        }
    }

    /// The indices of the nodes that are masters now, as the live node `observer` sees it.
    pub fn masters(&self, observer: usize) -> Vec<usize> {
        self.cluster_nodes(observer)
            .into_iter()
            .filter(|line| line.is_master && line.connected)
            .filter_map(|line| self.index_of_port(line.port))
            .collect()
    }

    /// The node id of node `index`.
    pub fn node_id(&self, index: usize) -> String {
        self.query_text(index, &["CLUSTER", "MYID"])
    }

    /// The hash slot of `key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        let slot = self.query_int(0, &["CLUSTER", "KEYSLOT", key]);
        u16::try_from(slot).expect("a slot")
    }

    /// The master serving `slot`, as the live node `observer` sees it.
    pub fn owner_of_slot(&self, observer: usize, slot: u16) -> usize {
        self.cluster_nodes(observer)
            .into_iter()
            .find(|line| line.is_master && line.slots.iter().any(|r| r.contains(&slot)))
            .and_then(|line| self.index_of_port(line.port))
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
    }

    /// The replica of master `master`.
    pub fn replica_of(&self, master: usize) -> usize {
        let id = self.node_id(master);
        self.cluster_nodes(master)
            .into_iter()
            .find(|line| line.master_id.as_deref() == Some(id.as_str()))
            .and_then(|line| self.index_of_port(line.port))
            .unwrap_or_else(|| panic!("node {master} has no replica"))
    }

    /// Waits until every replica has every write its master has made so far. (`WAIT`
    /// would not do: it waits only for the writes of the connection it is sent on.)
    pub fn wait_for_replicas(&self) {
        for master in self.masters(0) {
            let replica = self.replica_of(master);
            wait_for_offset(
                || self.info(master, "REPLICATION"),
                || self.info(replica, "REPLICATION"),
            );
        }
    }

    /// Waits until node `index` sees `cluster_state:ok`.
    pub fn wait_for_state_ok(&self, index: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self
            .query_text(index, &["CLUSTER", "INFO"])
            .contains("cluster_state:ok")
        {
            assert!(
                Instant::now() < deadline,
                "node {index} did not reach cluster_state:ok"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + FORM_TIMEOUT;
        for index in 0..self.nodes.len() {
            self.wait_for_state_ok(index, deadline.saturating_duration_since(Instant::now()));
        }
        for index in 0..self.nodes.len() {
            loop {
                let replication = self.info(index, "REPLICATION");
                if replication.contains("role:master")
                    || replication.contains("master_link_status:up")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "replica {index} did not sync:\n{replication}"
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
        // Every node agrees on who serves what once all of them list three masters
        // covering all slots.
        for index in 0..self.nodes.len() {
            while self.masters(index).len() != 3 {
                assert!(Instant::now() < deadline, "node {index} sees no 3 masters");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn info(&self, index: usize, section: &str) -> String {
        self.query_text(index, &["INFO", section])
    }

    fn index_of_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|node| node.port() == port)
    }

    fn cluster_nodes(&self, observer: usize) -> Vec<NodeLine> {
        self.query_text(observer, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(NodeLine::parse)
            .collect()
    }
}

/// Waits until the replica's replication offset reaches the master's.
pub(crate) fn wait_for_offset(master_info: impl Fn() -> String, replica_info: impl Fn() -> String) {
    let offset = |info: &str, field: &str| -> Option<u64> {
        info.lines()
            .find_map(|line| line.strip_prefix(field)?.trim().parse().ok())
    };
    let target = offset(&master_info(), "master_repl_offset:").expect("the master's offset");
    let deadline = Instant::now() + Duration::from_secs(5);
    while offset(&replica_info(), "slave_repl_offset:").unwrap_or(0) < target {
        assert!(Instant::now() < deadline, "the replica did not catch up");
        thread::sleep(Duration::from_millis(20));
    }
}

/// One line of `CLUSTER NODES`.
struct NodeLine {
    port: u16,
    is_master: bool,
    connected: bool,
    master_id: Option<String>,
    slots: Vec<std::ops::RangeInclusive<u16>>,
}

impl NodeLine {
    /// `id ip:port@cport flags master-id ping pong epoch link slot...`
    fn parse(line: &str) -> Option<Self> {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let address = parts.get(1)?;
        let port = address
            .split('@')
            .next()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()?;
        let flags = parts.get(2)?;
        let is_master = flags.split(',').any(|flag| flag == "master")
            && !flags
                .split(',')
                .any(|flag| flag == "fail" || flag == "fail?");
        let master_id = parts
            .get(3)
            .filter(|id| **id != "-")
            .map(|id| id.to_string());
        let connected = parts.get(7) == Some(&"connected");
        let slots = parts
            .iter()
            .skip(8)
            .filter(|part| !part.starts_with('['))
            .filter_map(|part| {
                let (start, end) = part.split_once('-').unwrap_or((part, part));
                Some(start.parse().ok()?..=end.parse().ok()?)
            })
            .collect();
        Some(Self {
            port,
            is_master,
            connected,
            master_id,
            slots,
        })
    }
}
