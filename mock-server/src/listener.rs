//! Protocol-agnostic serving: bind, accept, one task per connection, and a shutdown signal
//! that stops accepting and ends every open session. Protocol modules only supply an
//! `async fn(TcpStream)`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

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
/// connection runs `serve` in its own task. On shutdown, open sessions are aborted
/// (their sockets close) before the returned handle completes.
pub(crate) fn spawn<F, Fut>(listener: TcpListener, shutdown: &Shutdown, serve: F) -> JoinHandle<()>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
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
                        sessions.spawn(serve(stream));
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
