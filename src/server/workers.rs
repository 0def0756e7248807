//! The HTTP workers: threads that each run a single-threaded tokio runtime and serve the
//! connections handed to them, one worker per core by default.
//!
//! A connection lives on one worker, and so do its requests and the coalesced reads they wait
//! for: each worker has its own read batchers and their own database connections
//! ([`crate::reads`]), so a `GET …/mood` is parsed, read, queried and answered without one
//! thread handing work to another: on one multi-threaded runtime the same request cost more
//! CPU, spent waking and stealing between threads (measured in benches/RESULTS.md).
//! The rest — the accept loop, the ingest committer, the connection pools — runs on the
//! process's multi-threaded runtime as before; workers await its tasks like any future.

use super::routes::routes;
use crate::api::body::BodyLimit;
use crate::reads::Reads;
use crate::state::AppState;
use poem::Server;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

/// How long a stopping worker lets the requests in flight finish.
const GRACE: Duration = Duration::from_secs(30);

/// The running workers; dropping this stops them.
pub struct Workers {
    /// Each worker's queue of connections handed to it.
    inboxes: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    next: usize,
    stop: watch::Sender<bool>,
    stopped: Vec<oneshot::Receiver<io::Result<()>>>,
}

impl Workers {
    /// Starts `count` workers serving the routes at `local`; returns once each has opened its
    /// database connections, or the first error any met doing so.
    pub async fn start(
        count: NonZeroUsize,
        local: SocketAddr,
        state: Arc<AppState>,
        body_limit: BodyLimit,
    ) -> anyhow::Result<Self> {
        let (stop, stop_rx) = watch::channel(false);
        let mut workers = Self { inboxes: Vec::new(), next: 0, stop, stopped: Vec::new() };
        let mut ready = Vec::new();
        for n in 0..count.get() {
            let (inbox, connections) = mpsc::unbounded_channel();
            let (ready_tx, ready_rx) = oneshot::channel();
            let (stopped_tx, stopped_rx) = oneshot::channel();
            let worker = Worker { connections, local, state: state.clone(), body_limit, stop: stop_rx.clone() };
            std::thread::Builder::new().name(format!("moodring-http-{n}")).spawn(move || {
                let _ = stopped_tx.send(worker.run(ready_tx));
            })?;
            workers.inboxes.push(inbox);
            workers.stopped.push(stopped_rx);
            ready.push(ready_rx);
        }
        for ready in ready {
            ready.await.map_err(|_| anyhow::anyhow!("an HTTP worker stopped while starting"))??;
        }
        Ok(workers)
    }

    /// Hands an accepted connection to the next worker in turn.
    pub fn serve(&mut self, stream: TcpStream, peer: SocketAddr) {
        // Out of this runtime's reactor, to be registered with the worker's.
        let Ok(stream) = stream.into_std() else { return };
        let _ = self.inboxes[self.next].send((stream, peer));
        self.next = (self.next + 1) % self.inboxes.len();
    }

    /// Stops taking connections, lets each worker finish its requests in flight, and waits for
    /// them all.
    pub async fn stop(self) -> io::Result<()> {
        let _ = self.stop.send(true);
        let mut result = Ok(());
        for stopped in self.stopped {
            let outcome = stopped.await.unwrap_or_else(|_| Err(io::Error::other("an HTTP worker panicked")));
            result = result.and(outcome);
        }
        result
    }
}

struct Worker {
    connections: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
    state: Arc<AppState>,
    body_limit: BodyLimit,
    stop: watch::Receiver<bool>,
}

impl Worker {
    /// Runs on the worker's thread until told to stop (or until [`Workers`] is dropped).
    fn run(self, ready: oneshot::Sender<anyhow::Result<()>>) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let reads = match Reads::start(&self.state.store, &self.state.metrics).await {
                Ok(reads) => Arc::new(reads),
                Err(e) => {
                    let _ = ready.send(Err(e.into()));
                    return Ok(());
                }
            };
            let _ = ready.send(Ok(()));
            let mut stop = self.stop;
            let acceptor = Handed { connections: self.connections, local: LocalAddr(self.local.into()) };
            Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    routes(self.state, reads, self.body_limit),
                    async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    },
                    Some(GRACE),
                )
                .await
        })
    }
}

/// A worker's connections, as the accept loop hands them over.
struct Handed {
    connections: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    local: LocalAddr,
}

impl Acceptor for Handed {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The accept loop is gone: the worker is stopping, by its own signal. (poem's
                // server retries a failed accept at once, so this must not fail.)
                return std::future::pending().await;
            };
            match TcpStream::from_std(stream) {
                Ok(stream) => return Ok((stream, self.local.clone(), RemoteAddr(peer.into()), Scheme::HTTP)),
                Err(e) => tracing::warn!(error = %e, "a connection could not be registered with its worker"),
            }
        }
    }
}
