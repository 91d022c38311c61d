//! Support for the integration tests: `redis-server` processes started per test (alone,
//! as a cluster, or as a master and replica watched by a sentinel), a command log that
//! counts round trips and bytes as Redis sees them, the conformance suite every session
//! store must pass (and its request-level half, which the cookie store runs too), visitors that check every answer through a failover, and the Node
//! apps of `tests/node/` with a browser to drive them.

pub mod admin;
pub mod browser;
pub mod cluster;
pub mod conformance;
pub mod counter_app;
pub mod counter_process;
pub mod counting_store;
pub mod cut_proxy;
pub mod expiry;
pub mod failover;
pub mod http;
pub mod keys;
pub mod layout;
mod monitor;
pub mod node;
pub mod request_conformance;
pub mod sentinel;
mod server;

pub use monitor::{names, wire_size, CommandLog, LoggedCommand, Traffic};
pub use server::{free_port, RedisServer};
