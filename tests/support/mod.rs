//! Support for the integration tests: `redis-server` processes started per test, a
//! command log that counts round trips and bytes as Redis sees them, and the conformance
//! suite every session store must pass.

pub mod conformance;
pub mod counter_app;
pub mod counting_store;
pub mod http;
mod monitor;
mod server;

pub use monitor::{names, wire_size, CommandLog, LoggedCommand};
pub use server::{free_port, RedisServer};
