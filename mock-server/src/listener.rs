//! Protocol-agnostic serving: bind, accept, one task per connection under a connection cap
//! and a hard deadline, and a shutdown signal that stops accepting and ends every open
//! session. Protocol modules only supply an `async fn(TcpStream)` that serves and one that
//! refuses (a polite "too many connections" in the protocol's words).
//!
//! ```text
//! accept ─▶ session slot free? ─yes─▶ serve(stream)   (slot held until the task ends)
//!                    └─no─▶ refusal slot free? ─yes─▶ refuse(stream) (≤ REFUSE_TIMEOUT)
//!                                     └─no─▶ close at once
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Most refusals in progress at once: each may need a TLS handshake, so a flood beyond
/// the cap must not turn into unbounded refusal work; past this, connections just close.
const MAX_REFUSING: usize = 64;
/// Longest a refusal may take (TLS handshake, the one reply, the close).
const REFUSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Added to a session's own deadline before its task is stopped the hard way: the session
/// ends itself at its deadline, but its last writes and TLS close may still take a while.
const BACKSTOP_SLACK: Duration = Duration::from_secs(70);

/// The connection cap and deadline shared by every listener of one server, so the cap
/// bounds the whole process (memory, file descriptors), not each port.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    sessions: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    backstop: Duration,
}

impl Limits {
    /// At most `max_connections` sessions at once, each lasting at most about `session`.
    pub fn new(max_connections: usize, session: Duration) -> Limits {
        Limits {
            sessions: Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS))),
            refusals: Arc::new(Semaphore::new(MAX_REFUSING)),
            backstop: session.saturating_add(BACKSTOP_SLACK),
        }
    }
}

/// How a mail listener's connections start: the one fact the IMAP, POP3 and SMTP servers
/// need to know about the port a connection arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// TLS from the first byte (993, 995, 465).
    ImplicitTls,
    /// Plaintext first; offers STARTTLS/STLS if the config says so (143, 110, 587).
    Plaintext,
}

/// Tells listeners (and through them, sessions) to stop.
#[derive(Debug)]
pub(crate) struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown(watch::Sender::new(false))
    }

    /// Signals every listener created from this handle; idempotent.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// Binds `addr` (port 0 = ephemeral).
pub(crate) async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` in a background task until `shutdown` triggers; each accepted
/// connection runs `serve` in its own task while `limits` has a free session slot, else
/// `refuse`. On shutdown, open sessions are aborted (their sockets close) before the
/// returned handle completes.
pub(crate) fn spawn<F, Fut, R, RFut>(
    listener: TcpListener,
    shutdown: &Shutdown,
    limits: &Limits,
    serve: F,
    refuse: R,
) -> JoinHandle<()>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
    R: Fn(TcpStream) -> RFut + Send + 'static,
    RFut: Future<Output = ()> + Send + 'static,
{
    let limits = limits.clone();
    let mut stop = shutdown.subscribe();
    tokio::spawn(async move {
        let mut sessions = JoinSet::new();
        loop {
            // Forget finished sessions so the set stays small.
            while sessions.try_join_next().is_some() {}
            if *stop.borrow_and_update() {
                break;
            }
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() {
                        break; // sender gone: the server was dropped
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        if let Ok(slot) = Arc::clone(&limits.sessions).try_acquire_owned() {
                            let session = tokio::time::timeout(limits.backstop, serve(stream));
                            sessions.spawn(async move {
                                let _ = session.await;
                                drop(slot);
                            });
                        } else if let Ok(slot) = Arc::clone(&limits.refusals).try_acquire_owned() {
                            let refusal = tokio::time::timeout(REFUSE_TIMEOUT, refuse(stream));
                            sessions.spawn(async move {
                                let _ = refusal.await;
                                drop(slot);
                            });
                        }
                        // Else `stream` drops here: closed without a word.
                    }
                    // Per-connection accept errors (e.g. ECONNABORTED, EMFILE): back off briefly.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                },
            }
        }
        drop(listener);
        sessions.shutdown().await;
    })
}
