//! xoauth-mock: a local stand-in for Exchange Online's IMAP, POP3 and SMTP submission
//! services and for the Microsoft identity platform that issues their tokens, so the
//! `xoauth` client can be tested offline.
//!
//! # Architecture
//!
//! ```text
//! Scenario (demo + overrides) ─▶ Config ──validate──▶ Context (directory, bearer
//!                   verifier, store, switches, faults, log)                tls: CA + cert
//!                         │                                                            │
//!   listener (bind, accept, cap, task per connection, shutdown) ◀─────────────────────┘
//!                         │  async fn(TcpStream)
//!                         ▼
//!   imap::serve ── stream::Transport (plain ⇄ TLS) ── imap::framing (bounded messages)
//!                         └── imap::session (pure state machine: bytes in → lines out)
//!   pop3::serve / smtp::serve ── lines::drive (Transport, lines::reader: bounded lines)
//!                         └── pop3::session / smtp::session (pure: line in → bytes out)
//!   idp::http::serve ── TLS ── hyper HTTP/1.1 ── axum routes ── idp::{authorize, grants,
//!                         device} (pure endpoint logic) ── idp::mint ── jwt + keys
//!
//! token flow:  idp::mint signs (keys: fixtures/idp-signing-key.pem) ──▶ client ──▶ SASL
//!              ──▶ bearer::Verifier (signature, exp, aud, scp/roles) ──▶ directory::open
//! ```
//!
//! Layer rules:
//! - `listener`, `stream`, `lines`, `tls`, `directory`, `store`, `rfc5322`, `dot`, `sasl`,
//!   `bearer`, `jwt`, `keys`, `ids`, `clock`, `command_log`, `faults`, `throttle`,
//!   `generate` and `scenario` know no mail protocol; each protocol (`imap`, `pop3`, `smtp`, and the HTTPS `idp`) is one
//!   module that plugs a `serve(TcpStream, ..)` into `listener::spawn`.
//! - The identity platform and the mail services share only the directory, the config and
//!   the signing key: mail services accept exactly the tokens the identity platform (or
//!   [`MockServer::issue_token`]) minted, by checking them, not by remembering them.
//! - All listeners share one message store: mail submitted over SMTP shows up in IMAP
//!   counts and SEARCH and in POP3, and POP3 deletions are seen by IMAP.
//! - Protocol state machines do no I/O; their drivers own the socket, cap every read and
//!   end idle clients (`[server] idle_timeout_secs`) and long sessions
//!   (`session_timeout_secs`). Nothing a client sends can panic the server.
//! - At most `[server] max_connections` sessions run at once, all listeners together;
//!   beyond, the listener answers with the protocol's refusal (`* BYE`, `-ERR`,
//!   `421 4.3.2`, HTTP 503) and closes. Memory per idle session is about 20 KiB; the
//!   message store and the logs are capped too.
//! - The command log records command names only, never arguments or secrets.
#![forbid(unsafe_code)]

mod bearer;
mod clock;
mod command_log;
mod config;
mod context;
mod directory;
mod dot;
mod faults;
/// Hidden: only the `fuzz/` crate uses it.
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
mod idp;
mod ids;
mod imap;
mod jwt;
mod keys;
mod lines;
mod listener;
mod pop3;
mod rfc5322;
mod sasl;
mod scenario;
mod smtp;
mod store;
mod stream;
mod throttle;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::task::JoinHandle;

pub use config::{
    AppConfig, Config, ConfigError, FolderConfig, GenerateConfig, IdpConfig, MailboxConfig,
    MailboxKind, SecretConfig, ServerConfig, TenantConfig,
};
pub use faults::{FaultsConfig, MailService, TOKEN_ERROR_CODES, TokenErrorConfig};
pub use idp::mint::{DEMO_DAEMON_CLIENT_ID, DEMO_PUBLIC_CLIENT_ID, Subject, TokenSpec};
pub use idp::records::{ClientAuth, TokenRequestRecord};
pub use keys::{DEMO_APP_CREDENTIAL_PEM, KeyError};
pub use scenario::{SCENARIOS, Scenario};
pub use tls::TlsError;

use command_log::CommandLog;
use context::Context;
use idp::Idp;
use listener::{Limits, Listener, Shutdown};
use store::Store;

/// Where the listeners bind. Port 0 picks a free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs {
    /// Implicit-TLS IMAP (like port 993).
    pub imaps: SocketAddr,
    /// Plaintext IMAP offering STARTTLS (like port 143).
    pub imap_starttls: SocketAddr,
    /// Implicit-TLS POP3 (like port 995).
    pub pop3s: SocketAddr,
    /// Plaintext POP3 offering STLS (like port 110).
    pub pop3_starttls: SocketAddr,
    /// SMTP submission with STARTTLS (like port 587).
    pub smtp_submission: SocketAddr,
    /// Implicit-TLS SMTP submission (like port 465; Exchange Online has none, the mock
    /// offers it so clients can be tested).
    pub smtps: SocketAddr,
    /// The identity platform over HTTPS (like login.microsoftonline.com:443).
    pub idp: SocketAddr,
}

impl Addrs {
    /// Every listener on `ip` with ephemeral ports.
    pub fn ephemeral(ip: IpAddr) -> Addrs {
        let any = SocketAddr::new(ip, 0);
        Addrs {
            imaps: any,
            imap_starttls: any,
            pop3s: any,
            pop3_starttls: any,
            smtp_submission: any,
            smtps: any,
            idp: any,
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
    /// The embedded token-signing key is unusable (a build defect).
    #[error("identity platform signing key: {0}")]
    Key(#[from] KeyError),
    /// A listener could not be bound.
    #[error("cannot listen for {listener} on {addr}: {error}")]
    Bind {
        /// `"imaps"`, `"imap"`, `"pop3s"`, `"pop3"`, `"smtp"`, `"smtps"` or `"idp"`.
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
    addrs: Addrs,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    log: CommandLog,
    store: Store,
    idp: Arc<Idp>,
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
        let config = config.with_generated()?;
        config.validate()?;
        keys::idp_signing_key()?;
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
        let (pop3s, pop3s_addr) = bind("pop3s", addrs.pop3s).await?;
        let (pop3, pop3_starttls_addr) = bind("pop3", addrs.pop3_starttls).await?;
        let (smtp, smtp_submission_addr) = bind("smtp", addrs.smtp_submission).await?;
        let (smtps, smtps_addr) = bind("smtps", addrs.smtps).await?;
        let (idp_listener, idp_addr) = bind("idp", addrs.idp).await?;
        let idp = Arc::new(Idp::new(Arc::clone(&ctx), format!("https://{idp_addr}")));

        let shutdown = Shutdown::new();
        let idle = Duration::from_secs(config.server.idle_timeout_secs);
        let session = Duration::from_secs(config.server.session_timeout_secs);
        let limits = Limits::new(config.server.max_connections, session);
        let serve_imap = |mode: Listener| {
            let ctx = Arc::clone(&ctx);
            let acceptor = tls.acceptor.clone();
            move |stream| imap::serve(stream, Arc::clone(&ctx), acceptor.clone(), mode)
        };
        let serve_pop3 = |mode: Listener| {
            let ctx = Arc::clone(&ctx);
            let acceptor = tls.acceptor.clone();
            move |stream| pop3::serve(stream, Arc::clone(&ctx), acceptor.clone(), mode)
        };
        let serve_smtp = |mode: Listener| {
            let ctx = Arc::clone(&ctx);
            let acceptor = tls.acceptor.clone();
            move |stream| smtp::serve(stream, Arc::clone(&ctx), acceptor.clone(), mode)
        };
        let refuse_imap = |mode: Listener| {
            let acceptor = tls.acceptor.clone();
            move |stream| imap::refuse(stream, acceptor.clone(), mode)
        };
        let refuse_pop3 = |mode: Listener| {
            let acceptor = tls.acceptor.clone();
            move |stream| pop3::refuse(stream, acceptor.clone(), mode)
        };
        let refuse_smtp = |mode: Listener| {
            let acceptor = tls.acceptor.clone();
            move |stream| smtp::refuse(stream, acceptor.clone(), mode)
        };
        let (implicit, plain) = (Listener::ImplicitTls, Listener::Plaintext);
        let (sd, lim) = (&shutdown, &limits);
        let tasks = vec![
            listener::spawn(imaps, sd, lim, serve_imap(implicit), refuse_imap(implicit)),
            listener::spawn(imap, sd, lim, serve_imap(plain), refuse_imap(plain)),
            listener::spawn(pop3s, sd, lim, serve_pop3(implicit), refuse_pop3(implicit)),
            listener::spawn(pop3, sd, lim, serve_pop3(plain), refuse_pop3(plain)),
            listener::spawn(smtp, sd, lim, serve_smtp(plain), refuse_smtp(plain)),
            listener::spawn(smtps, sd, lim, serve_smtp(implicit), refuse_smtp(implicit)),
            listener::spawn(
                idp_listener,
                sd,
                lim,
                {
                    let router = idp::http::router(Arc::clone(&idp));
                    let acceptor = tls.acceptor.clone();
                    move |stream| {
                        idp::http::serve(stream, router.clone(), acceptor.clone(), idle, session)
                    }
                },
                {
                    let acceptor = tls.acceptor.clone();
                    move |stream| idp::http::refuse(stream, acceptor.clone())
                },
            ),
        ];

        Ok(MockServer {
            addrs: Addrs {
                imaps: imaps_addr,
                imap_starttls: imap_starttls_addr,
                pop3s: pop3s_addr,
                pop3_starttls: pop3_starttls_addr,
                smtp_submission: smtp_submission_addr,
                smtps: smtps_addr,
                idp: idp_addr,
            },
            ca_pem: tls.ca_pem,
            ca_der: tls.ca_der,
            log,
            store: ctx.store.clone(),
            idp,
            shutdown,
            tasks,
        })
    }

    /// Implicit-TLS IMAP (like port 993).
    pub fn imaps_addr(&self) -> SocketAddr {
        self.addrs.imaps
    }

    /// Plaintext IMAP that offers STARTTLS (like port 143).
    pub fn imap_starttls_addr(&self) -> SocketAddr {
        self.addrs.imap_starttls
    }

    /// Implicit-TLS POP3 (like port 995).
    pub fn pop3s_addr(&self) -> SocketAddr {
        self.addrs.pop3s
    }

    /// Plaintext POP3 that offers STLS (like port 110).
    pub fn pop3_starttls_addr(&self) -> SocketAddr {
        self.addrs.pop3_starttls
    }

    /// SMTP submission with STARTTLS (like port 587).
    pub fn smtp_submission_addr(&self) -> SocketAddr {
        self.addrs.smtp_submission
    }

    /// Implicit-TLS SMTP submission (like port 465).
    pub fn smtps_addr(&self) -> SocketAddr {
        self.addrs.smtps
    }

    /// The identity platform's HTTPS listener.
    pub fn idp_addr(&self) -> SocketAddr {
        self.addrs.idp
    }

    /// Base URL of the identity platform, e.g. `"https://127.0.0.1:40123"` (no trailing
    /// slash); endpoints are `{idp_url}/{tenant}/oauth2/v2.0/{authorize,token,devicecode}`.
    pub fn idp_url(&self) -> String {
        self.idp.base_url.clone()
    }

    /// The tenant id (`[idp] tenant_id`): `tid` of issued tokens, usable as `{tenant}`.
    pub fn tenant_id(&self) -> String {
        self.idp.ctx.idp.tenant_id.clone()
    }

    /// Mints a token exactly as the token endpoint would, for tests that do not exercise a
    /// flow. Consent and credentials are not checked; the mail services judge the token
    /// like any other (so a Graph-audience or expired spec gives a token they refuse).
    pub fn issue_token(&self, spec: &TokenSpec) -> String {
        self.idp.issue_token(spec)
    }

    /// Plays the user at /devicelogin: enters `user_code` and signs in as `user` (a user
    /// mailbox). False if no pending, unexpired device code has that user code or `user`
    /// is not a user mailbox.
    pub fn approve_device_code(&self, user_code: &str, user: &str) -> bool {
        self.idp.approve_device_code(user_code, user)
    }

    /// Plays the user at /devicelogin declining `user_code`.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        self.idp.decline_device_code(user_code)
    }

    /// What clients sent to the token and device-code endpoints, oldest first (no secret
    /// values).
    pub fn token_requests(&self) -> Vec<TokenRequestRecord> {
        self.idp.records.snapshot()
    }

    /// Every bound address.
    pub fn addrs(&self) -> Addrs {
        self.addrs
    }

    /// Message-IDs (with angle brackets, as in the header) of the messages in `mailbox`'s
    /// `folder` (both case-insensitive), in order; empty if there is no such folder.
    pub fn message_ids(&self, mailbox: &str, folder: &str) -> Vec<String> {
        self.store
            .messages(mailbox, folder)
            .into_iter()
            .map(|m| m.message_id)
            .collect()
    }

    /// Raw bytes of the message with this Message-ID (angle brackets optional) in any
    /// folder of `mailbox`, if present.
    pub fn message(&self, mailbox: &str, message_id: &str) -> Option<Vec<u8>> {
        self.store.find(mailbox, message_id)
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// DER of the CA that signed the server certificate.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// Names of commands received so far, e.g. "IMAP AUTHENTICATE XOAUTH2", "POP3 STAT",
    /// "SMTP MAIL" (never any secret/argument data).
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
