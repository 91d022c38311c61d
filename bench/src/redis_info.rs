//! Redis' own counters, read with `INFO`: what the apps made Redis do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// The counters at one moment.
#[derive(Clone, Default, Debug)]
pub struct Counters {
    /// Every command Redis ran, those run inside Lua scripts included.
    pub commands: u64,
    /// Reads from clients' sockets: one per round trip of a lone request; commands that
    /// arrive together (a pipeline, or concurrent requests' commands sent at once) take one.
    pub reads: u64,
    /// Bytes clients sent to Redis.
    pub bytes_in: u64,
    /// Bytes Redis sent to clients.
    pub bytes_out: u64,
    /// CPU time Redis used, system and user, in microseconds.
    pub cpu_us: u64,
    /// Calls per command name (lower case), `INFO commandstats`.
    pub calls: BTreeMap<String, u64>,
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        let calls = self
            .calls
            .iter()
            .map(|(name, n)| (name.clone(), n - earlier.calls.get(name).unwrap_or(&0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Counters {
            commands: self.commands - earlier.commands,
            reads: self.reads - earlier.reads,
            bytes_in: self.bytes_in - earlier.bytes_in,
            bytes_out: self.bytes_out - earlier.bytes_out,
            cpu_us: self.cpu_us.saturating_sub(earlier.cpu_us),
            calls,
        }
    }

    /// `self` less a sampling's own cost, `overhead`.
    pub fn less(mut self, overhead: &Counters) -> Counters {
        self.commands = self.commands.saturating_sub(overhead.commands);
        self.reads = self.reads.saturating_sub(overhead.reads);
        self.bytes_in = self.bytes_in.saturating_sub(overhead.bytes_in);
        self.bytes_out = self.bytes_out.saturating_sub(overhead.bytes_out);
        self.calls.remove("info");
        self
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Counters) {
        self.commands += other.commands;
        self.reads += other.reads;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.cpu_us += other.cpu_us;
        for (name, n) in &other.calls {
            *self.calls.entry(name.clone()).or_default() += n;
        }
    }
}

/// A connection that reads the counters.
pub struct Info {
    stream: BufReader<TcpStream>,
}

impl Info {
    pub fn connect(port: u16) -> Result<Self, String> {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect redis: {e}"))?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// The counters now. Each call costs one `INFO` command and its bytes, which
    /// [`overhead`](Self::overhead) measures so runs can leave them out.
    pub fn sample(&mut self) -> Result<Counters, String> {
        let request = "*4\r\n$4\r\nINFO\r\n$5\r\nstats\r\n$3\r\ncpu\r\n$12\r\ncommandstats\r\n";
        let io = |e: std::io::Error| format!("INFO: {e}");
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(io)?;
        let mut header = String::new();
        self.stream.read_line(&mut header).map_err(io)?;
        let len: usize = header
            .trim_end()
            .strip_prefix('$')
            .and_then(|len| len.parse().ok())
            .ok_or_else(|| format!("INFO answered {header:?}"))?;
        let mut body = vec![0; len + 2];
        self.stream.read_exact(&mut body).map_err(io)?;
        Ok(parse(&String::from_utf8_lossy(&body)))
    }

    /// What one sample adds to the counters.
    pub fn overhead(&mut self) -> Result<Counters, String> {
        let first = self.sample()?;
        Ok(self.sample()?.since(&first))
    }
}

fn parse(info: &str) -> Counters {
    let mut counters = Counters::default();
    for line in info.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name {
            "total_commands_processed" => counters.commands = value.parse().unwrap_or(0),
            "total_reads_processed" => counters.reads = value.parse().unwrap_or(0),
            "total_net_input_bytes" => counters.bytes_in = value.parse().unwrap_or(0),
            "total_net_output_bytes" => counters.bytes_out = value.parse().unwrap_or(0),
            "used_cpu_sys" | "used_cpu_user" => {
                let seconds: f64 = value.parse().unwrap_or(0.0);
                counters.cpu_us += (seconds * 1e6) as u64;
            }
            _ => {
                let Some(command) = name.strip_prefix("cmdstat_") else {
                    continue;
                };
                let calls = value
                    .split(',')
                    .find_map(|field| field.strip_prefix("calls="))
                    .and_then(|calls| calls.parse().ok())
                    .unwrap_or(0);
                counters.calls.insert(command.to_owned(), calls);
            }
        }
    }
    counters
}
