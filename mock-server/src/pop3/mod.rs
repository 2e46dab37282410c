//! POP3 as Exchange Online speaks it (RFC 1939, RFC 2449 CAPA, RFC 5034 SASL, RFC 2595
//! STLS, XOAUTH2), for two listeners: implicit TLS (like port 995) and plaintext with STLS
//! (like port 110).
//!
//! ```text
//! S: +OK The Microsoft Exchange POP3 service is ready. [...]
//! C: STLS                                (plaintext listener only)
//! S: +OK Begin TLS negotiation.
//!    <TLS handshake>
//! C: AUTH XOAUTH2
//! S: +
//! C: <b64>
//! S: +OK User successfully authenticated.
//! C: QUIT
//! S: +OK Microsoft Exchange Server POP3 server signing off.
//! ```
//! `command` parses a line, `session` decides (no I/O), `lines::drive` owns the socket.

pub(crate) mod command;
mod responses;
mod session;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::context::Context;
use crate::lines::{self, DriveOptions};
use crate::listener::Listener;
use session::Session;

/// Longest accepted line. RFC 2449 allows 255 octets for commands; AUTH responses carry
/// tokens of a few KiB, so the cap is generous but bounded.
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
    let mut session = Session::new(Arc::clone(&ctx), implicit_tls, ctx.server.starttls);
    // Errors only mean the connection is gone; there is nobody to report them to.
    let _ = lines::drive(stream, &acceptor, options, &mut session).await;
}
