//! Counting round trips and bytes from Redis' own point of view: a `MONITOR` connection
//! that records every top-level command clients send, and Redis' count of the reads it
//! made from clients' sockets.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::RedisServer;

/// How long to wait for the monitor to catch up with a marker before failing the test.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(5);

/// One command as the server received it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedCommand {
    /// The database the client had selected.
    pub db: String,
    /// The client's address, `ip:port` or `unix:/path`.
    pub client: String,
    /// The command name and its arguments, unescaped to the bytes that were sent.
    pub args: Vec<Vec<u8>>,
}

impl LoggedCommand {
    /// The command name, upper case.
    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|name| String::from_utf8_lossy(name).to_uppercase())
            .unwrap_or_default()
    }

    /// The argument at `index` (0 is the name), lossily as text.
    pub fn arg(&self, index: usize) -> String {
        self.args
            .get(index)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .unwrap_or_default()
    }

    /// Its size on the wire as a RESP array of bulk strings, which is how clients send
    /// commands: what it cost in bytes sent to Redis.
    pub fn wire_size(&self) -> usize {
        let header = |len: usize| 3 + len.to_string().len();
        header(self.args.len())
            + self
                .args
                .iter()
                .map(|arg| header(arg.len()) + arg.len() + 2)
                .sum::<usize>()
    }
}

impl fmt::Debug for LoggedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} {}]", self.db, self.client)?;
        for arg in &self.args {
            write!(f, " {:?}", String::from_utf8_lossy(arg))?;
        }
        Ok(())
    }
}

/// Names of `commands`, in order.
pub fn names(commands: &[LoggedCommand]) -> Vec<String> {
    commands.iter().map(LoggedCommand::name).collect()
}

/// Bytes `commands` took on the wire.
pub fn wire_size(commands: &[LoggedCommand]) -> usize {
    commands.iter().map(LoggedCommand::wire_size).sum()
}

/// What clients sent to the server between two takes of a [`CommandLog`].
#[derive(Debug)]
pub struct Traffic {
    /// The top-level commands, in the order the server ran them.
    pub commands: Vec<LoggedCommand>,
    /// The round trips they took: the reads the server made from clients' sockets
    /// (`total_reads_processed` of `INFO stats`), the recorder's own left out. Commands
    /// sent together (a pipeline, a `MULTI` ... `EXEC`) arrive in one read, as long as
    /// they take less than Redis' 16 KB read buffer; every round trip costs at least one.
    pub round_trips: u64,
}

/// Records the top-level commands that clients send to one server.
///
/// Commands run inside scripts (`lua` in the monitor output) are left out: they cost no
/// round trip. So are the recorder's own connections.
pub struct CommandLog {
    monitor: BufReader<TcpStream>,
    control: BufReader<TcpStream>,
    control_addr: String,
    marks: u64,
    /// The server's `total_reads_processed` at the last take.
    reads: Option<u64>,
}

/// The reads each take costs the server on the recorder's control connection: its
/// `INFO stats` and the marker `ECHO`.
const READS_PER_TAKE: u64 = 2;

impl CommandLog {
    /// Starts recording. Commands sent before this returns are not recorded.
    pub async fn start(server: &RedisServer) -> Self {
        let mut monitor = connect(server).await;
        send(&mut monitor, &[b"MONITOR"]).await;
        let reply = read_line(&mut monitor).await;
        assert_eq!(reply, "+OK", "MONITOR refused");
        let control = connect(server).await;
        let control_addr = control
            .get_ref()
            .local_addr()
            .expect("local address")
            .to_string();
        let mut log = Self {
            monitor,
            control,
            control_addr,
            marks: 0,
            reads: None,
        };
        log.take().await;
        log
    }

    /// The commands recorded since the last call (or since start), in the order the
    /// server ran them. Waits until the monitor has caught up with everything the server
    /// ran before this call.
    pub async fn take(&mut self) -> Vec<LoggedCommand> {
        self.take_matching(false).await.commands
    }

    /// As [`take`](Self::take), with the round trips those commands took. Count them only
    /// where nothing but the code under test talks to the server meanwhile.
    pub async fn take_traffic(&mut self) -> Traffic {
        self.take_matching(false).await
    }

    /// As [`take`](Self::take), with the commands scripts ran included (their client is
    /// `lua`) in the order the server logged them: what was actually written, and how.
    pub async fn take_with_scripts(&mut self) -> Vec<LoggedCommand> {
        self.take_matching(true).await.commands
    }

    async fn take_matching(&mut self, with_scripts: bool) -> Traffic {
        let reads = self.reads_processed().await;
        let round_trips = self.reads.replace(reads).map_or(0, |before| {
            reads
                .checked_sub(before + READS_PER_TAKE)
                .expect("the server's read count went back: was it restarted?")
        });
        self.marks += 1;
        let marker = format!("command-log-marker-{}", self.marks);
        send(&mut self.control, &[b"ECHO", marker.as_bytes()]).await;
        read_line(&mut self.control).await;
        read_line(&mut self.control).await;
        let mut commands = Vec::new();
        let catch_up = async {
            loop {
                let line = read_line(&mut self.monitor).await;
                let command = parse_monitor_line(&line)
                    .unwrap_or_else(|| panic!("unreadable MONITOR line {line:?}"));
                if command.client == self.control_addr {
                    if command.args.get(1).map(Vec::as_slice) == Some(marker.as_bytes()) {
                        return;
                    }
                } else if with_scripts || command.client != "lua" {
                    commands.push(command);
                }
            }
        };
        tokio::time::timeout(CATCH_UP_TIMEOUT, catch_up)
            .await
            .expect("the monitor did not catch up with its marker");
        Traffic {
            commands,
            round_trips,
        }
    }

    /// The server's count of reads from clients' sockets, this request's included.
    async fn reads_processed(&mut self) -> u64 {
        send(&mut self.control, &[b"INFO", b"stats"]).await;
        let header = read_line(&mut self.control).await;
        let len: usize = header
            .strip_prefix('$')
            .and_then(|len| len.parse().ok())
            .unwrap_or_else(|| panic!("INFO answered {header:?}"));
        let mut body = vec![0; len + 2];
        self.control
            .read_exact(&mut body)
            .await
            .expect("read INFO from redis-server");
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|line| line.strip_prefix("total_reads_processed:"))
            .and_then(|count| count.trim().parse().ok())
            .expect("INFO stats has total_reads_processed")
    }
}

async fn connect(server: &RedisServer) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect to redis-server");
    let mut stream = BufReader::new(stream);
    if let Some(password) = server.password() {
        send(&mut stream, &[b"AUTH", password.as_bytes()]).await;
        assert_eq!(read_line(&mut stream).await, "+OK", "AUTH refused");
    }
    stream
}

async fn send(stream: &mut BufReader<TcpStream>, args: &[&[u8]]) {
    let mut packet = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        packet.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        packet.extend_from_slice(arg);
        packet.extend_from_slice(b"\r\n");
    }
    stream
        .get_mut()
        .write_all(&packet)
        .await
        .expect("write to redis-server");
}

/// One reply line, without its CRLF.
async fn read_line(stream: &mut BufReader<TcpStream>) -> String {
    let mut line = Vec::new();
    let read = stream
        .read_until(b'\n', &mut line)
        .await
        .expect("read from redis-server");
    assert!(read > 0, "redis-server closed the connection");
    line.truncate(line.len().saturating_sub(2));
    String::from_utf8(line).expect("MONITOR lines are ASCII")
}

/// Parses `+1700000000.123456 [0 127.0.0.1:50000] "HSET" "key" "a\x00b"`.
fn parse_monitor_line(line: &str) -> Option<LoggedCommand> {
    let rest = line.strip_prefix('+')?;
    let (_timestamp, rest) = rest.split_once(" [")?;
    let (source, rest) = rest.split_once("] ")?;
    let (db, client) = source.split_once(' ')?;
    let mut args = Vec::new();
    let mut bytes = rest.bytes();
    loop {
        match bytes.next() {
            None => break,
            Some(b' ') => continue,
            Some(b'"') => args.push(unquote(&mut bytes)?),
            Some(_) => return None,
        }
    }
    Some(LoggedCommand {
        db: db.to_owned(),
        client: client.to_owned(),
        args,
    })
}

/// Reads one argument as Redis quotes it (`sdscatrepr`), up to its closing quote.
fn unquote(bytes: &mut impl Iterator<Item = u8>) -> Option<Vec<u8>> {
    let mut arg = Vec::new();
    loop {
        match bytes.next()? {
            b'"' => return Some(arg),
            b'\\' => arg.push(match bytes.next()? {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'a' => 0x07,
                b'b' => 0x08,
                b'x' => {
                    let hex = [bytes.next()?, bytes.next()?];
                    u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?
                }
                other => other,
            }),
            other => arg.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes_monitor_lines() {
        let line = r#"+1700000000.123456 [3 127.0.0.1:50000] "HSET" "k" "a\x00\"b\\\n""#;
        let command = parse_monitor_line(line).unwrap();
        assert_eq!(command.db, "3");
        assert_eq!(command.client, "127.0.0.1:50000");
        assert_eq!(command.name(), "HSET");
        assert_eq!(command.args[2], b"a\x00\"b\\\n");
        // *3 $4 HSET $1 k $6 a\0"b\\\n
        assert_eq!(command.wire_size(), 4 + 10 + 7 + 12);
        let lua = parse_monitor_line(r#"+1.0 [0 lua] "PTTL" "k""#).unwrap();
        assert_eq!(lua.client, "lua");
    }
}
