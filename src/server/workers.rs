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

use super::routes::{Docs, routes};
use crate::api::body::BodyLimit;
use crate::reads::Reads;
use crate::state::AppState;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use poem::Endpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::pin;
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
        let docs = Docs::new();
        for n in 0..count.get() {
            let (inbox, connections) = mpsc::unbounded_channel();
            let (ready_tx, ready_rx) = oneshot::channel();
            let (stopped_tx, stopped_rx) = oneshot::channel();
            let worker = Worker {
                connections,
                local,
                state: state.clone(),
                body_limit,
                docs: docs.clone(),
                stop: stop_rx.clone(),
            };
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
    docs: Docs,
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
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            let endpoint = Arc::new(routes(self.state, reads, self.body_limit, self.docs));
            let local = LocalAddr(self.local.into());
            let (mut connections, stop) = (self.connections, self.stop);
            let mut stopping = stop.clone();
            // Each connection holds a clone; `recv` answers once they are all gone.
            let (alive, mut all_closed) = mpsc::channel::<()>(1);
            loop {
                tokio::select! {
                    _ = stopping.wait_for(|stop| *stop) => break,
                    handed = connections.recv() => {
                        // The accept loop is gone: the worker is stopping, by its own signal.
                        let Some((stream, peer)) = handed else { break };
                        match TcpStream::from_std(stream) {
                            Ok(stream) => {
                                let connection = Connection {
                                    endpoint: endpoint.clone(),
                                    local: local.clone(),
                                    remote: RemoteAddr(peer.into()),
                                    stop: stop.clone(),
                                    _alive: alive.clone(),
                                };
                                tokio::spawn(connection.serve(stream));
                            }
                            Err(e) => tracing::warn!(error = %e, "a connection could not be registered with its worker"),
                        }
                    }
                }
            }
            drop(alive);
            // Connections still open after the grace period are dropped with the runtime.
            let _ = tokio::time::timeout(GRACE, all_closed.recv()).await;
        });
        Ok(())
    }
}

/// One HTTP/1.1 connection, served by hyper as poem's own server would serve it (the request
/// and response convert as there) but without its HTTP/2 detection and the per-connection state
/// around it: an idle connection costs hyper's two buffers and little more, which is what
/// thousands of open event streams are (benches/push/streams.sh). Plain-text HTTP/2 (h2c with
/// prior knowledge), which no browser speaks, is not offered; a proxy in front speaks HTTP/2 to
/// clients if wanted.
struct Connection<E> {
    endpoint: Arc<E>,
    local: LocalAddr,
    remote: RemoteAddr,
    stop: watch::Receiver<bool>,
    /// Held while the connection is open (see [`Worker::run`]).
    _alive: mpsc::Sender<()>,
}

impl<E: Endpoint + 'static> Connection<E> {
    /// Serves requests until the client closes; once the worker stops, finishes the request in
    /// flight and closes.
    async fn serve(self, stream: TcpStream) {
        let Self { endpoint, local, remote, mut stop, _alive } = self;
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let endpoint = endpoint.clone();
            let request = poem::Request::from((request, local.clone(), remote.clone(), Scheme::HTTP));
            // Boxed: hyper keeps a box the size of this future for the connection's whole life,
            // and the routes' future is several kilobytes (benches/RESULTS.md, session 24).
            let response = Box::pin(async move { endpoint.get_response(request).await });
            async move { Ok::<_, Infallible>(HyperResponse::from(response.await)) }
        });
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let mut connection = pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = stop.wait_for(|stop| *stop) => {}
        }
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}

/// What hyper sends: poem's response, converted as poem's server converts it.
type HyperResponse = hyper::Response<BoxBody<bytes::Bytes, io::Error>>;
