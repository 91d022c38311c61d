//! The Redis backend: three stores (one node, a cluster, a master found through Sentinel)
//! that differ in how they reach Redis and share everything they send to it.
//!
//! Where to read, top down:
//! - the stores, each with its builder: `single_node.rs`, `cluster.rs`, `sentinel.rs`; the
//!   settings all three builders take are in `settings.rs`;
//! - how a store reaches Redis: `connections.rs` (one connection per thread, single node),
//!   `checked_connection.rs` (a connection replaced when it dies without a word) and
//!   `retry.rs` (the second try after a dropped connection);
//! - what a store call sends: `operations.rs` puts each call together from the parts below,
//!   according to the `Topology` (`topology.rs`) and the session's layout;
//! - the parts: `hash_load.rs` and `hash_commit.rs` (the hash layout), `json.rs` (the JSON
//!   layout), `increment.rs` (a field changed on the server, in either layout), `index.rs` (per-user indexes, and deletes, which leave them), `load_reply.rs`
//!   (what a load script answers, in either layout);
//! - `sized_command.rs`: the hot paths' commands, their buffers sized up front;
//! - `scan.rs`: counting the sessions under a prefix, for the end of a migration;
//! - `expiry.rs`: the listener that reports sessions Redis expired as lifecycle events, and
//!   `expiry_source.rs`: which servers it subscribes on for each store;
//! - the Lua: `scripts.rs` (the scripts and their preload), `script_call.rs` (one call of
//!   one), `lua/`.
//!
//! The parts are free functions that take what they use (the scripts, the topology, or
//! neither) rather than methods of one shared type, so each signature says what the part
//! depends on, and dependencies point one way: stores, then `operations.rs`, then the parts.
//!
//! A load or a commit is one round trip, short of the exceptions each part explains (a
//! foreign key, a JSON write that lost a race); `tests/budget.rs` counts them.

mod checked_connection;
#[cfg(feature = "cluster")]
mod cluster;
mod connections;
mod expiry;
mod expiry_source;
mod hash_commit;
mod hash_load;
mod increment;
mod index;
mod json;
mod load_reply;
mod operations;
mod retry;
mod scan;
mod script_call;
mod scripts;
#[cfg(feature = "sentinel")]
mod sentinel;
mod settings;
mod single_node;
mod sized_command;
mod topology;

#[cfg(feature = "cluster")]
pub use self::cluster::{RedisClusterStore, RedisClusterStoreBuilder};
pub use self::expiry::{ExpiryListener, ExpiryNotifications};
#[cfg(feature = "sentinel")]
pub use self::sentinel::{RedisSentinelStore, RedisSentinelStoreBuilder};
pub use self::single_node::{RedisStore, RedisStoreBuilder};

#[cfg(feature = "fuzzing")]
pub(super) use self::hash_load::{decode_record, read_pipelined, record_of, KeyContents};
