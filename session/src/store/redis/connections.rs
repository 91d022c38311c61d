//! One Redis connection per thread that uses the store.
//!
//! A store is usually connected on the main thread, before `HttpServer` starts its
//! workers. Its connection's I/O task then lives on the main thread, and every command a
//! worker sends crosses threads twice (there and back), each a wake-up through the kernel.
//! Each worker instead connects on its first command, so a command stays on the thread
//! that sends it; the connection made by `connect` serves its own thread.
//!
//! A connection belongs to the runtime its I/O task was spawned on and dies with it, so a
//! thread that ends one runtime and starts another (as tests do) connects again.
//!
//! Each connection is a [`CheckedConnection`]: replaced if it dies without a word.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use tokio::runtime::{self, Handle};

use super::checked_connection::{answered, got_no_answer, CheckedConnection};
use crate::error::StoreError;

thread_local! {
    /// This thread's connections, by the store they belong to.
    static CONNECTIONS: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// Tells stores apart in the thread-local lists.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// One thread's connection for one store.
struct Local {
    store: u64,
    runtime: runtime::Id,
    /// Gone once the last clone of the store is dropped: the entry is then pruned.
    owner: Weak<Connector>,
    conn: Arc<CheckedConnection<ConnectionManager>>,
}

/// The connections of one store (and its clones).
#[derive(Clone)]
pub(super) struct Connections {
    home: Arc<CheckedConnection<ConnectionManager>>,
    connector: Arc<Connector>,
}

/// What a thread needs to make its own connection, shared by the store's clones; the
/// thread-local entries hold it weakly, to tell when the store is gone.
struct Connector {
    store: u64,
    /// The runtime `home` was made on; `None` if that was none (never, from `connect`).
    home_runtime: Option<runtime::Id>,
    client: Client,
    config: ConnectionManagerConfig,
}

impl Connections {
    /// `home` is the connection just made on this runtime, with `client` and `config`.
    pub(super) fn new(
        home: ConnectionManager,
        client: Client,
        config: ConnectionManagerConfig,
    ) -> Self {
        Self {
            home: CheckedConnection::new(home),
            connector: Arc::new(Connector {
                store: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                home_runtime: current_runtime(),
                client,
                config,
            }),
        }
    }

    /// The client every connection is made with.
    pub(super) fn client(&self) -> &Client {
        &self.connector.client
    }

    /// The connection made by `connect`.
    pub(super) fn home(&self) -> ConnectionManager {
        self.home.get()
    }

    /// The connection of the runtime the caller runs on, made on its first use (with the
    /// store's timeouts and retries, so a Redis that is down fails the request as any
    /// command would).
    pub(super) async fn get(&self) -> Result<ConnectionManager, StoreError> {
        let connector = &self.connector;
        let runtime = match current_runtime() {
            Some(runtime) if Some(runtime) != connector.home_runtime => runtime,
            _ => return Ok(self.home.get()),
        };
        if let Some(checked) = self.find(runtime) {
            return Ok(checked.get());
        }
        // Boxed: connecting happens once per thread, and its future held inline would
        // grow every store call's future with it (see bench/PROFILE.md, eighth pass).
        let conn = Box::pin(ConnectionManager::new_with_config(
            connector.client.clone(),
            connector.config.clone(),
        ))
        .await?;
        // Another request of this thread may have connected meanwhile: keep the first.
        if let Some(checked) = self.find(runtime) {
            return Ok(checked.get());
        }
        CONNECTIONS.with_borrow_mut(|locals| {
            // A thread runs one runtime at a time: connections of another are dead.
            locals.retain(|local| local.runtime == runtime && local.owner.strong_count() > 0);
            locals.push(Local {
                store: connector.store,
                runtime,
                owner: Arc::downgrade(connector),
                conn: CheckedConnection::new(conn.clone()),
            });
        });
        Ok(conn)
    }

    /// Passes a call's `result` on, checking the caller's connection first when the call
    /// got no answer (see [`CheckedConnection`]).
    pub(super) fn settle<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if !got_no_answer(&result) {
            return result;
        }
        let Ok(runtime) = Handle::try_current() else {
            return result;
        };
        let checked = if Some(runtime.id()) == self.connector.home_runtime {
            Some(self.home.clone())
        } else {
            self.find(runtime.id())
        };
        if let Some(checked) = checked {
            let (client, config) = (self.connector.client.clone(), self.connector.config.clone());
            checked.check(
                &runtime,
                |mut conn: ConnectionManager| async move {
                    answered(redis::cmd("PING").query_async(&mut conn).await)
                },
                || async move {
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .ok()
                },
            );
        }
        result
    }

    fn find(&self, runtime: runtime::Id) -> Option<Arc<CheckedConnection<ConnectionManager>>> {
        CONNECTIONS.with_borrow(|locals| {
            locals
                .iter()
                .find(|local| local.store == self.connector.store && local.runtime == runtime)
                .map(|local| local.conn.clone())
        })
    }
}

/// The runtime the caller runs on, if any.
fn current_runtime() -> Option<runtime::Id> {
    Handle::try_current().ok().map(|handle| handle.id())
}
