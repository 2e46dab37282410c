//! SMTP submission as Exchange Online speaks it (RFC 5321, RFC 3207 STARTTLS, RFC 4954
//! AUTH, RFC 3463 enhanced status codes, RFC 3030 CHUNKING, XOAUTH2), for two listeners:
//! STARTTLS (like port 587) and implicit TLS (like port 465 — Exchange Online has none,
//! the mock offers it so clients can be tested).
//!
//! ```text
//! S: 220 MOCK01.outlook.office365.com Microsoft ESMTP MAIL Service ready at …
//! C: EHLO client            S: 250-… 250-STARTTLS …
//! C: STARTTLS               S: 220 2.0.0 SMTP server ready
//!    <TLS handshake>
//! C: EHLO client            S: 250-… 250-AUTH LOGIN XOAUTH2 …
//! C: AUTH XOAUTH2 <b64>     S: 235 2.7.0 Authentication successful
//! ```
//! `command` parses a line, `session` decides (no I/O), `lines::drive` owns the socket.

pub(crate) mod command;
mod responses;
mod session;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::context::Context;
use crate::lines::{self, DriveOptions};
use crate::listener::Listener;
use crate::rfc5322;
use session::Session;

/// Longest accepted line. RFC 5321 says 512 for commands and 1000 for text lines; the mock
/// is lenient (long AUTH lines, sloppy clients) but bounded.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Turns a client away when the server is at its connection cap.
pub(crate) async fn refuse(stream: TcpStream, acceptor: TlsAcceptor, listener: Listener) {
    let implicit = listener == Listener::ImplicitTls;
    crate::stream::refuse(stream, &acceptor, implicit, responses::TOO_MANY_CONNECTIONS).await;
}

/// Serves one connection until QUIT, EOF, an I/O error, the idle timeout or the session
/// deadline.
pub(crate) async fn serve(
    stream: TcpStream,
    ctx: Arc<Context>,
    acceptor: TlsAcceptor,
    listener: Listener,
) {
    let implicit_tls = listener == Listener::ImplicitTls;
    let options = DriveOptions {
        implicit_tls,
        max_line: MAX_LINE,
        idle: Duration::from_secs(ctx.server.idle_timeout_secs),
        session: Duration::from_secs(ctx.server.session_timeout_secs),
    };
    let client_ip = stream
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let mut session = Session::new(
        Arc::clone(&ctx),
        client_ip,
        rfc5322::date(now),
        implicit_tls,
        ctx.server.starttls,
    );
    // Errors only mean the connection is gone; there is nobody to report them to.
    let _ = lines::drive(stream, &acceptor, options, &mut session).await;
}
