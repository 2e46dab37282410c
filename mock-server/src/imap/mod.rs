//! IMAP4rev1 as Exchange Online speaks it (RFC 3501, RFC 2595 STARTTLS, RFC 4959 SASL-IR,
//! XOAUTH2, RFC 7628 OAUTHBEARER), for two listeners: implicit TLS (like port 993) and
//! plaintext with STARTTLS (like port 143).
//!
//! ```text
//! S: * OK The Microsoft Exchange IMAP4 service is ready. [...]
//! C: A0 STARTTLS                      (plaintext listener only)
//! S: A0 OK Begin TLS negotiation now.
//!    <TLS handshake>
//! C: A1 AUTHENTICATE XOAUTH2 <b64>
//! S: A1 OK AUTHENTICATE completed.
//! C: A2 LOGOUT
//! S: * BYE Microsoft Exchange Server IMAP4 server signing off.
//! S: A2 OK LOGOUT completed.
//! ```
//! `framing` cuts messages, `session` decides (no I/O), this file drives the socket.

mod framing;
mod list;
pub(crate) mod mutf7;
mod responses;
mod search;
mod session;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::context::Context;
use crate::listener::Listener;
use crate::stream::{Deadlines, Transport};
use framing::{Incoming, Reader};
use session::{Next, Session};

/// Serves one connection until LOGOUT, BYE, EOF, an I/O error, the idle timeout or the
/// session deadline.
pub(crate) async fn serve(
    stream: TcpStream,
    ctx: Arc<Context>,
    acceptor: TlsAcceptor,
    listener: Listener,
) {
    // Errors only mean the connection is gone; there is nobody to report them to.
    let _ = run(stream, ctx, &acceptor, listener).await;
}

/// Turns a client away when the server is at its connection cap.
pub(crate) async fn refuse(stream: TcpStream, acceptor: TlsAcceptor, listener: Listener) {
    let implicit = listener == Listener::ImplicitTls;
    crate::stream::refuse(stream, &acceptor, implicit, responses::BYE_TOO_MANY).await;
}

async fn run(
    stream: TcpStream,
    ctx: Arc<Context>,
    acceptor: &TlsAcceptor,
    listener: Listener,
) -> io::Result<()> {
    let deadlines = Deadlines::start(
        Duration::from_secs(ctx.server.idle_timeout_secs),
        Duration::from_secs(ctx.server.session_timeout_secs),
    );
    let mut transport = Transport::Plain(stream);
    let implicit = listener == Listener::ImplicitTls;
    if implicit {
        transport = transport.into_tls(acceptor).await?;
    }
    let mut session = Session::new(Arc::clone(&ctx), implicit, ctx.server.starttls);
    transport.send(session.greeting().as_bytes()).await?;

    let mut reader = Reader::new();
    loop {
        let read = reader.next(&mut transport);
        let incoming = match tokio::time::timeout_at(deadlines.next_read(), read).await {
            Ok(incoming) => incoming?,
            Err(_elapsed) => {
                transport
                    .send(format!("{}\r\n", responses::BYE_IDLE_TIMEOUT).as_bytes())
                    .await?;
                break;
            }
        };
        match incoming {
            Incoming::Closed => break,
            Incoming::TooLong => {
                transport
                    .send(format!("{}\r\n", responses::BYE_TOO_LONG).as_bytes())
                    .await?;
                break;
            }
            Incoming::Message => {
                let step = session.on_message(reader.message());
                if !step.out.is_empty() {
                    transport.send(step.out.as_bytes()).await?;
                }
                match step.next {
                    Next::Read => {}
                    Next::Close => break,
                    Next::StartTls => {
                        // Drop anything the client pipelined in plaintext.
                        reader = Reader::new();
                        transport = transport.into_tls(acceptor).await?;
                        session.tls_established();
                    }
                }
            }
        }
    }
    transport.close().await;
    Ok(())
}
