//! A TCP proxy in front of a Redis server that can lose one answer: a request reaches
//! Redis and is carried out, and then the client's connection is closed before the answer
//! comes back, as when Redis dies between writing and answering.

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
    accept: JoinHandle<()>,
}

impl CutProxy {
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cut_at = Arc::new(AtomicUsize::new(0));
        let armed = cut_at.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                tokio::spawn(forward(client, server, armed.clone()));
            }
        });
        Self {
            port,
            cut_at,
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
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies bytes both ways until either side closes, or until the request `cut_at` counts
/// down to has been answered: that answer is dropped with both connections.
async fn forward(client: TcpStream, server: TcpStream, cut_at: Arc<AtomicUsize>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let cutting = Arc::new(AtomicBool::new(false));
    let marked = cutting.clone();
    let requests = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
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
