//! Commands on a session key with their buffers sized up front. Built argument by argument,
//! a command's buffers grow two or three times, and the hot paths (a load, an update, a
//! create) build two or three commands on every request that uses the session.

use redis::Cmd;

use crate::store::SessionKey;

/// `name key`, with room for `more_args` further arguments of `more_bytes` in all.
pub(super) fn on_key(name: &str, key: &SessionKey, more_args: usize, more_bytes: usize) -> Cmd {
    let mut cmd = Cmd::with_capacity(2 + more_args, name.len() + key.as_str().len() + more_bytes);
    cmd.arg(name).arg(key.as_str());
    cmd
}

/// The bytes of the `name value` pairs of a change set, for [`on_key`]'s `more_bytes`.
pub(super) fn pairs_len(pairs: &[(String, Vec<u8>)]) -> usize {
    pairs
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum()
}
