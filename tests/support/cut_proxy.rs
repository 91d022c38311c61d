//! A TCP proxy in front of a Redis server that can lose one answer: a request reaches
//! Redis and is carried out, and then the client's connection is closed before the answer
//! comes back, as when Redis dies between writing and answering. It can also freeze the
//! latest connection: it stays open and carries nothing, as on a path that drops packets
//! without a word (a firewall that forgot an idle flow).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards every connection to `127.0.0.1:upstream` until dropped.
pub struct CutProxy {
    port: u16,
    /// The request whose answer is lost, counted from now (1: the next); 0: none.
    cut_at: Arc<AtomicUsize>,
    /// How many connections were accepted.
    accepted: Arc<AtomicUsize>,
    /// The number of the connection that carries nothing more; `usize::MAX`: none.
    frozen: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cut_at = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let frozen = Arc::new(AtomicUsize::new(usize::MAX));
        let (armed, count, frozen_one) = (cut_at.clone(), accepted.clone(), frozen.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let number = count.fetch_add(1, Ordering::SeqCst);
                let frozen = frozen_one.clone();
                let carries = move || number != frozen.load(Ordering::SeqCst);
                tokio::spawn(forward(client, server, armed.clone(), carries));
            }
        });
        Self {
            port,
            cut_at,
            accepted,
            frozen,
            accept,
        }
    }

    /// `redis://` URL of the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The `nth` request clients send from now (1: the next) is carried out by Redis,
    /// and its answer lost with the client's connection. A request is what a client sends
    /// at once: one command, or a pipeline.
    pub fn lose_answer_to(&self, nth: usize) {
        self.cut_at.store(nth, Ordering::SeqCst);
    }

    /// Whether the answer chosen by [`lose_answer_to`](Self::lose_answer_to) was lost.
    pub fn answer_lost(&self) -> bool {
        self.cut_at.load(Ordering::SeqCst) == 0
    }

    /// The connection opened last carries nothing more either way, and stays open; the
    /// others, and later ones, work.
    pub fn freeze_latest_connection(&self) {
        let latest = self.accepted.load(Ordering::SeqCst).saturating_sub(1);
        self.frozen.store(latest, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies bytes both ways until either side closes, or until the request `cut_at` counts
/// down to has been answered: that answer is dropped with both connections. Once the
/// connection no longer `carries`, bytes are swallowed and both connections stay open.
async fn forward(
    client: TcpStream,
    server: TcpStream,
    cut_at: Arc<AtomicUsize>,
    carries: impl Fn() -> bool + Clone,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let cutting = Arc::new(AtomicBool::new(false));
    let marked = cutting.clone();
    let carries_requests = carries.clone();
    let requests = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
            if !carries_requests() {
                continue;
            }
            let counted = cut_at.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
            if counted == Ok(1) {
                marked.store(true, Ordering::SeqCst);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let answers = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = server_read.read(&mut buf).await {
            if !carries() {
                continue;
            }
            if cutting.load(Ordering::SeqCst) {
                break;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    // Whichever ends first ends both: the halves drop, and the connections close.
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}
