//! Before a plaintext session (STARTTLS): make sure the server is about to greet in plain text,
//! and say at once when the port speaks implicit TLS instead of waiting out the whole timeout.
//!
//! An implicit-TLS server sends nothing until the client's ClientHello, and a STARTTLS client
//! waits for a greeting: both wait forever. Silence alone is not proof (sendmail's greet_pause
//! holds the banner back for seconds), so after a short grace period xoauth asks: a second
//! connection to the same address sends a TLS ClientHello, and only a TLS answer to it counts.
//! The session's own connection is never written to, and its bytes are only peeked at, so the
//! driver reads the greeting as if nothing happened.
//!
//! ```text
//! (no greeting for the grace period)
//! probe C: 16 03 01 .. (ClientHello)     probe S: 16 03 03 .. (ServerHello)  => implicit TLS
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TransportError;
use super::sniff::{self, Spoken};
use super::tap::Transcript;

/// How long to wait for a greeting before probing: long enough for any ordinary server, far
/// shorter than a timeout. Never more than half the timeout, so the probe gets time too.
pub const GRACE: Duration = Duration::from_secs(2);

/// Returns once the server has sent its first bytes in plain text (they are left unread).
/// Fails when they are a TLS record, when the probe finds TLS on the port, or after `timeout`.
pub async fn await_plaintext(
    tcp: &TcpStream,
    addr: SocketAddr,
    host: &str,
    config: &Arc<rustls::ClientConfig>,
    timeout: Duration,
    transcript: &Transcript,
) -> Result<(), TransportError> {
    let start = Instant::now();
    let grace = GRACE.min(timeout / 2);
    let mut buf = [0u8; 8];
    if let Ok(peeked) = tokio::time::timeout(grace, tcp.peek(&mut buf)).await {
        return judge(&buf[..peeked?]);
    }
    transcript.note(format!(
        "no greeting within {} s; probing {addr} with a TLS ClientHello on a second connection",
        grace.as_secs_f32()
    ));
    let remaining = timeout.saturating_sub(start.elapsed());
    let probe = probe(addr, host, config, remaining);
    tokio::pin!(probe);
    let mut probing = true;
    let wait = tokio::time::timeout(remaining, async {
        loop {
            tokio::select! {
                peeked = tcp.peek(&mut buf) => return judge(&buf[..peeked?]),
                tls = &mut probe, if probing => {
                    if tls {
                        return Err(TransportError::TlsExpected {
                            evidence: format!(
                                "no greeting came within {} s, and the port answered a TLS \
                                 ClientHello on a second connection with TLS",
                                grace.as_secs_f32()
                            ),
                        });
                    }
                    transcript.note("the probe got no TLS answer; still waiting for a greeting");
                    probing = false;
                }
            }
        }
    })
    .await;
    wait.unwrap_or(Err(TransportError::Timeout {
        stage: "greeting",
        after: timeout,
        received: 0,
    }))
}

/// The first bytes of a plaintext session: anything but TLS is for the driver to read.
fn judge(first: &[u8]) -> Result<(), TransportError> {
    if sniff::classify(first) == Some(Spoken::Tls) {
        return Err(TransportError::TlsExpected {
            evidence: "it sent a TLS record instead of a greeting".into(),
        });
    }
    Ok(())
}

/// Whether `addr` answers a TLS ClientHello with a TLS record within `limit`. Nothing is
/// verified or completed: the answer's first bytes are all that matter.
async fn probe(
    addr: SocketAddr,
    host: &str,
    config: &Arc<rustls::ClientConfig>,
    limit: Duration,
) -> bool {
    let attempt = async {
        let name = ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::IpAddress(addr.ip().into()));
        let mut conn = rustls::ClientConnection::new(config.clone(), name).ok()?;
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).ok()?;
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        tcp.write_all(&hello).await.ok()?;
        let mut answer = [0u8; 3];
        let n = tcp.read(&mut answer).await.ok()?;
        Some(sniff::classify(&answer[..n]) == Some(Spoken::Tls))
    };
    matches!(tokio::time::timeout(limit, attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn config() -> Arc<rustls::ClientConfig> {
        super::super::tls::client_config(&[]).unwrap()
    }

    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream, SocketAddr) {
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server, addr)
    }

    #[tokio::test]
    async fn a_plaintext_greeting_is_left_for_the_driver() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, mut server, addr) = pair(&listener).await;
        server.write_all(b"* OK ready\r\n").await.unwrap();
        let t = Transcript::new();
        await_plaintext(
            &client,
            addr,
            "localhost",
            &config(),
            Duration::from_secs(5),
            &t,
        )
        .await
        .unwrap();
        let mut buf = [0u8; 4];
        client.peek(&mut buf).await.unwrap();
        assert_eq!(&buf, b"* OK");
    }

    #[tokio::test]
    async fn a_tls_record_first_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, mut server, addr) = pair(&listener).await;
        server
            .write_all(b"\x15\x03\x03\x00\x02\x02\x32")
            .await
            .unwrap();
        let t = Transcript::new();
        let err = await_plaintext(
            &client,
            addr,
            "localhost",
            &config(),
            Duration::from_secs(5),
            &t,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransportError::TlsExpected { .. }), "{err}");
    }

    /// A silent server that answers a ClientHello with a TLS alert is an implicit-TLS port,
    /// found well before the timeout.
    #[tokio::test]
    async fn a_silent_tls_port_is_found_by_the_probe() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, _server, addr) = pair(&listener).await;
        tokio::spawn(async move {
            // The probe's connection: read its ClientHello, answer with an alert.
            let (mut probe, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = probe.read(&mut buf).await;
            let _ = probe.write_all(b"\x15\x03\x03\x00\x02\x02\x28").await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let t = Transcript::new();
        let start = Instant::now();
        let err = await_plaintext(
            &client,
            addr,
            "localhost",
            &config(),
            Duration::from_secs(20),
            &t,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransportError::TlsExpected { .. }), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    /// A slow plaintext server (a greet pause) is waited for: the probe's silence is not TLS.
    #[tokio::test]
    async fn a_slow_plaintext_greeting_is_still_waited_for() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, mut server, addr) = pair(&listener).await;
        tokio::spawn(async move {
            // The probe's connection gets no answer, as from a plaintext server.
            let (_probe, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let _ = server.write_all(b"220 slow.example ESMTP\r\n").await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let t = Transcript::new();
        await_plaintext(
            &client,
            addr,
            "localhost",
            &config(),
            Duration::from_secs(2),
            &t,
        )
        .await
        .unwrap();
    }
}
