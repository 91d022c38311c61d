//! One Redis connection per thread that uses the store.
//!
//! A store is usually connected on the main thread, before `HttpServer` starts its
//! workers. Its connection's I/O task then lives on the main thread, and every command a
//! worker sends crosses threads twice (there and back), each a wake-up through the kernel.
//! Each worker instead connects on its first command, so a command stays on the thread
//! that sends it; the connection made by `connect` serves its own thread.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, ThreadId};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;

use crate::error::StoreError;

thread_local! {
    /// This thread's connections, by the id of the store they belong to.
    static CONNECTIONS: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// Tells stores apart in the thread-local lists.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

struct Local {
    id: u64,
    /// Gone once the last clone of the store is dropped: the entry is then pruned.
    owner: Weak<Shared>,
    conn: ConnectionManager,
}

/// The connections of one store (and its clones).
#[derive(Clone)]
pub(super) struct Connections {
    home: ConnectionManager,
    shared: Arc<Shared>,
}

struct Shared {
    id: u64,
    home_thread: ThreadId,
    client: Client,
    config: ConnectionManagerConfig,
}

impl Connections {
    /// `home` is the connection just made on this thread, with `client` and `config`.
    pub(super) fn new(
        home: ConnectionManager,
        client: Client,
        config: ConnectionManagerConfig,
    ) -> Self {
        Self {
            home,
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                home_thread: thread::current().id(),
                client,
                config,
            }),
        }
    }

    /// The connection made on the store's own thread.
    pub(super) fn home(&self) -> ConnectionManager {
        self.home.clone()
    }

    /// This thread's connection, made on its first use (with the store's timeouts and
    /// retries, so a Redis that is down fails the request as any command would).
    pub(super) async fn get(&self) -> Result<ConnectionManager, StoreError> {
        if thread::current().id() == self.shared.home_thread {
            return Ok(self.home.clone());
        }
        if let Some(conn) = self.find() {
            return Ok(conn);
        }
        let shared = &self.shared;
        let conn = ConnectionManager::new_with_config(shared.client.clone(), shared.config.clone())
            .await?;
        // Another request of this thread may have connected meanwhile: keep the first.
        Ok(self.find().unwrap_or_else(|| {
            CONNECTIONS.with_borrow_mut(|locals| {
                locals.retain(|local| local.owner.strong_count() > 0);
                locals.push(Local {
                    id: shared.id,
                    owner: Arc::downgrade(shared),
                    conn: conn.clone(),
                });
            });
            conn
        }))
    }

    fn find(&self) -> Option<ConnectionManager> {
        CONNECTIONS.with_borrow(|locals| {
            locals
                .iter()
                .find(|local| local.id == self.shared.id)
                .map(|local| local.conn.clone())
        })
    }
}
