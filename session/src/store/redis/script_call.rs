//! One call of a Lua script, built straight into its `EVALSHA` command.
//!
//! The redis crate's `ScriptInvocation` keeps each key and argument in a `Vec` of its own
//! and copies them all into a new command when it is sent: two allocations per argument,
//! on the commit of every request that writes. This builds the command once.

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind, ToRedisArgs};

/// An `EVALSHA` of one script on its keys, to which arguments are added.
pub(super) struct ScriptCall<'a> {
    script: &'a Script,
    cmd: Cmd,
}

impl<'a> ScriptCall<'a> {
    /// A call of `script` on `keys`; its arguments follow with [`arg`](Self::arg).
    pub(super) fn new(script: &'a Script, keys: &[&str]) -> Self {
        // Room for a commit of a few small fields without growing.
        let mut cmd = Cmd::with_capacity(keys.len() + 16, 256);
        cmd.arg("EVALSHA");
        cmd.arg(script.get_hash()).arg(keys.len()).arg(keys);
        Self { script, cmd }
    }

    /// Adds the next argument (`ARGV[n]`).
    pub(super) fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    /// Sends the call. A server that lost its script cache (a restart, a replica promoted
    /// in a failover) answers `NOSCRIPT`: the script is then loaded there and the call
    /// sent again, once.
    pub(super) async fn invoke<T: FromRedisValue, C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> RedisResult<T> {
        match self.cmd.query_async(conn).await {
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.script.load_async(conn).await?;
                self.cmd.query_async(conn).await
            }
            result => result,
        }
    }
}
