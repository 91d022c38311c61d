//! The Lua scripts, compiled once per store, and their preload.
//!
//! Every script is listed in [`Scripts`] and nowhere else, so the preload cannot miss one.
//! `index.lua` holds no script of its own: it is put in front of the scripts that use its
//! helpers.

use redis::aio::ConnectionLike;
use redis::Script;

use crate::error::StoreError;

/// The Lua scripts of both layouts and of the per-user indexes.
pub(super) struct Scripts {
    /// A hash-layout load with a refresh threshold, and every load on a cluster.
    pub(super) load: Script,
    /// A hash-layout write, with its index moves on one node.
    pub(super) commit: Script,
    /// A JSON-layout load.
    pub(super) json_load: Script,
    /// A JSON-layout write, made only if the document is still the one it was merged into.
    pub(super) json_commit: Script,
    /// One session into one index, where the commit cannot do it (a cluster, the JSON
    /// layout).
    pub(super) index_join: Script,
    /// A renewal's first step on one node: delete the old session, hold its index entries.
    pub(super) retire: Script,
    /// A renewal's hold on one index entry, where the index may be on another node.
    pub(super) index_hold: Script,
    /// One batch of an index taken out, to be ended.
    pub(super) index_end: Script,
    /// Stale entries dropped from an index, once past the grace period.
    pub(super) index_prune: Script,
    /// A listed session checked and described: time left, creation time, device.
    pub(super) index_describe: Script,
    /// One integer field of a session hash changed on the server.
    pub(super) increment: Script,
    /// A key that a pipelined increment found no session in, put back as it was.
    pub(super) increment_undo: Script,
}

/// A script that uses the helpers of `index.lua`, put in front of it.
macro_rules! with_index_helpers {
    ($file:literal) => {
        Script::new(concat!(include_str!("lua/index.lua"), include_str!($file)))
    };
}

impl Scripts {
    /// Every script, compiled: its SHA-1 computed, for `EVALSHA`.
    pub(super) fn new() -> Self {
        Self {
            load: Script::new(include_str!("lua/load.lua")),
            commit: with_index_helpers!("lua/commit.lua"),
            json_load: Script::new(include_str!("lua/json_load.lua")),
            json_commit: Script::new(include_str!("lua/json_commit.lua")),
            index_join: with_index_helpers!("lua/index_join.lua"),
            retire: with_index_helpers!("lua/retire.lua"),
            index_hold: with_index_helpers!("lua/index_hold.lua"),
            index_end: Script::new(include_str!("lua/index_end.lua")),
            index_prune: with_index_helpers!("lua/index_prune.lua"),
            index_describe: Script::new(include_str!("lua/index_describe.lua")),
            increment: Script::new(include_str!("lua/increment.lua")),
            increment_undo: Script::new(include_str!("lua/increment_undo.lua")),
        }
    }

    /// Sends `SCRIPT LOAD` for every script ahead of the first request, so that request
    /// sends only `EVALSHA`. On a cluster the client sends it to every master. A server that
    /// loses its cache later is handled call by call (see `script_call.rs`).
    pub(super) async fn preload<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> Result<(), StoreError> {
        // Taken apart field by field, so a script added to `Scripts` and left out here does
        // not compile.
        let Self {
            load,
            commit,
            json_load,
            json_commit,
            index_join,
            retire,
            index_hold,
            index_end,
            index_prune,
            index_describe,
            increment,
            increment_undo,
        } = self;
        for script in [
            load,
            commit,
            json_load,
            json_commit,
            index_join,
            retire,
            index_hold,
            index_end,
            index_prune,
            index_describe,
            increment,
            increment_undo,
        ] {
            script.load_async(conn).await?;
        }
        Ok(())
    }
}
