//! xoauth-mock: a local stand-in for Exchange Online's IMAP service (POP3, SMTP and the
//! token endpoint come later), so the `xoauth` client can be tested offline.
//!
//! # Architecture
//!
//! ```text
//! Config ──validate──▶ Context (directory, switches, command log)      tls: CA + server cert
//!                         │                                              │
//!   listener (bind, accept, task per connection, shutdown) ◀────────────┘
//!                         │  async fn(TcpStream)
//!                         ▼
//!   imap::serve ── stream::Transport (plain ⇄ TLS) ── imap::framing (bounded messages)
//!                         └── imap::session (pure state machine: bytes in → lines out)
//! ```
//!
//! Layer rules:
//! - `listener`, `stream`, `tls`, `directory`, `sasl` and `command_log` know no protocol;
//!   each protocol (`imap`, later `pop3`, `smtp`) is one module that plugs a
//!   `serve(TcpStream, ..)` into `listener::spawn`.
//! - Protocol state machines do no I/O; their drivers own the socket, cap every read and
//!   time out idle clients. Nothing a client sends can panic the server.
//! - The command log records command names only, never arguments or secrets.
#![forbid(unsafe_code)]

mod command_log;
mod config;
mod context;
mod directory;
mod imap;
mod listener;
mod sasl;
mod stream;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tokio::task::JoinHandle;

pub use config::{
    Config, ConfigError, FolderConfig, MailboxConfig, MailboxKind, ServerConfig, TokenConfig,
};
pub use tls::TlsError;

use command_log::CommandLog;
use context::Context;
use listener::Shutdown;

/// Where the listeners bind. Port 0 picks a free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs {
    /// Implicit-TLS IMAP (like port 993).
    pub imaps: SocketAddr,
    /// Plaintext IMAP offering STARTTLS (like port 143).
    pub imap_starttls: SocketAddr,
}

impl Addrs {
    /// Both listeners on `ip` with ephemeral ports.
    pub fn ephemeral(ip: IpAddr) -> Addrs {
        Addrs {
            imaps: SocketAddr::new(ip, 0),
            imap_starttls: SocketAddr::new(ip, 0),
        }
    }
}

impl Default for Addrs {
    /// `127.0.0.1:0` for every listener.
    fn default() -> Addrs {
        Addrs::ephemeral(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// Why the mock could not start. Messages are complete on their own (no `source()` chain).
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The config is inconsistent.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Certificates or the TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("cannot listen for {listener} on {addr}: {error}")]
    Bind {
        /// `"imaps"` or `"imap"`.
        listener: &'static str,
        /// The requested address.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
}

/// A running mock: listeners in background tokio tasks. Dropping it stops them too;
/// [`MockServer::shutdown`] also waits until they are gone.
#[derive(Debug)]
pub struct MockServer {
    imaps_addr: SocketAddr,
    imap_starttls_addr: SocketAddr,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    log: CommandLog,
    shutdown: Shutdown,
    tasks: Vec<JoinHandle<()>>,
}

impl MockServer {
    /// Binds 127.0.0.1:0 for each listener and starts serving in background tokio tasks.
    pub async fn start(config: Config) -> Result<MockServer, MockError> {
        MockServer::start_on(config, Addrs::default()).await
    }

    /// Same, with explicit addresses (port 0 = ephemeral) — used by the binary.
    pub async fn start_on(config: Config, addrs: Addrs) -> Result<MockServer, MockError> {
        config.validate()?;
        let tls = tls::generate(&config.server.hostname)?;
        let log = CommandLog::default();
        let ctx = Arc::new(Context::new(&config, log.clone()));

        let bind = |name: &'static str, addr: SocketAddr| async move {
            let bound = listener::bind(addr).await;
            let bound = bound.and_then(|l| l.local_addr().map(|local| (l, local)));
            bound.map_err(|error| MockError::Bind {
                listener: name,
                addr,
                error,
            })
        };
        let (imaps, imaps_addr) = bind("imaps", addrs.imaps).await?;
        let (imap, imap_starttls_addr) = bind("imap", addrs.imap_starttls).await?;

        let shutdown = Shutdown::new();
        let serve_imap = |mode: imap::Listener| {
            let ctx = Arc::clone(&ctx);
            let acceptor = tls.acceptor.clone();
            move |stream| imap::serve(stream, Arc::clone(&ctx), acceptor.clone(), mode)
        };
        let tasks = vec![
            listener::spawn(imaps, &shutdown, serve_imap(imap::Listener::ImplicitTls)),
            listener::spawn(imap, &shutdown, serve_imap(imap::Listener::Plaintext)),
        ];

        Ok(MockServer {
            imaps_addr,
            imap_starttls_addr,
            ca_pem: tls.ca_pem,
            ca_der: tls.ca_der,
            log,
            shutdown,
            tasks,
        })
    }

    /// Implicit-TLS IMAP (like port 993).
    pub fn imaps_addr(&self) -> SocketAddr {
        self.imaps_addr
    }

    /// Plaintext IMAP that offers STARTTLS (like port 143).
    pub fn imap_starttls_addr(&self) -> SocketAddr {
        self.imap_starttls_addr
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// DER of the CA that signed the server certificate.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// Names of commands received so far, e.g. "IMAP AUTHENTICATE XOAUTH2", "IMAP STARTTLS",
    /// "IMAP LIST" (never any secret/argument data).
    pub fn command_log(&self) -> Vec<String> {
        self.log.snapshot()
    }

    /// Stops listeners and open sessions, and waits until they are gone.
    pub async fn shutdown(mut self) {
        self.shutdown.trigger();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
