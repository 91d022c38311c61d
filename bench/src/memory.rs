//! Redis memory per session, as `MEMORY USAGE` counts it, for the sessions the bench makes
//! before its rounds: one of each app holding `views = 1`, and one of each holding the
//! 10 KB field as well. Ours are the keys under `session:`; actix-session's have no prefix.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Bytes per session key, ours and actix-session's.
#[derive(Debug, Default, Clone, Copy)]
pub struct PerSession {
    pub small: (u64, u64),
    pub big: (u64, u64),
}

/// Where the 10 KB sessions start: the small ones take a few hundred bytes.
const BIG: u64 = 8 * 1024;

/// Measures the sessions now in the Redis at `port`.
pub fn per_session(port: u16) -> Result<PerSession, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    let mut conn = Conn(BufReader::new(stream));
    let mut sizes = PerSession::default();
    for key in conn.keys()? {
        if key.contains("index:") {
            continue;
        }
        let bytes = conn.memory_usage(&key)?;
        let ours = key.starts_with("session:");
        let slot = if bytes >= BIG {
            &mut sizes.big
        } else {
            &mut sizes.small
        };
        let side = if ours { &mut slot.0 } else { &mut slot.1 };
        *side = (*side).max(bytes);
    }
    Ok(sizes)
}

struct Conn(BufReader<TcpStream>);

impl Conn {
    fn send(&mut self, args: &[&str]) -> Result<(), String> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.0
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(|e| format!("send {args:?}: {e}"))
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        self.0
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        Ok(line.trim_end().to_owned())
    }

    fn keys(&mut self) -> Result<Vec<String>, String> {
        self.send(&["KEYS", "*"])?;
        let header = self.line()?;
        let count: usize = header
            .strip_prefix('*')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("KEYS answered {header:?}"))?;
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            let len: usize = self
                .line()?
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .ok_or("KEYS: a key without a length")?;
            let mut key = vec![0; len + 2];
            self.0
                .read_exact(&mut key)
                .map_err(|e| format!("read: {e}"))?;
            key.truncate(len);
            keys.push(String::from_utf8_lossy(&key).into_owned());
        }
        Ok(keys)
    }

    fn memory_usage(&mut self, key: &str) -> Result<u64, String> {
        self.send(&["MEMORY", "USAGE", key, "SAMPLES", "0"])?;
        let reply = self.line()?;
        reply
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("MEMORY USAGE answered {reply:?}"))
    }
}
