//! The mock's own limits, in-process: the connection cap (a polite refusal in each protocol,
//! connected clients unaffected), the session deadline that ends busy and trickling
//! clients, and the HTTPS idle and session deadlines.

mod common;

use std::time::{Duration, Instant};

use common::{Client, TIMEOUT, https, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xoauth_mock::{Config, MockServer};

const IMAP_BYE: &str = "* BYE Too many connections to the server; try again later.";
const POP_ERR: &str = "-ERR Too many connections to the server; try again later.";
const SMTP_421: &str = "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel";

/// The refusal as the only line, then the end of the connection.
async fn refused(mut c: Client, expected: &str) {
    c.s(expected).await;
    c.closed().await;
}

#[tokio::test]
async fn at_the_cap_new_connections_are_refused_and_old_ones_carry_on() {
    let mut config = Config::demo();
    config.server.max_connections = 2;
    let server = start(config).await;
    let mut imap = Client::plain(server.imap_starttls_addr()).await;
    assert!(imap.line().await.starts_with("* OK "));
    let mut pop = Client::tls(&server, server.pop3s_addr()).await;
    assert!(pop.line().await.starts_with("+OK "));

    // Every listener, plaintext and TLS, turns the third client away in its own words.
    refused(Client::plain(server.imap_starttls_addr()).await, IMAP_BYE).await;
    refused(Client::tls(&server, server.imaps_addr()).await, IMAP_BYE).await;
    refused(Client::plain(server.pop3_starttls_addr()).await, POP_ERR).await;
    refused(Client::tls(&server, server.pop3s_addr()).await, POP_ERR).await;
    refused(Client::plain(server.smtp_submission_addr()).await, SMTP_421).await;
    refused(Client::tls(&server, server.smtps_addr()).await, SMTP_421).await;
    let busy = https(&server, "GET", "/devicelogin", &[], "").await;
    assert_eq!(busy.status, 503, "{busy:?}");
    assert_eq!(busy.header("retry-after"), Some("1"));

    // The two sessions within the cap did not notice.
    imap.c("A1 NOOP").await;
    imap.s("A1 OK NOOP completed.").await;
    pop.c("CAPA").await;
    assert_eq!(pop.line().await, "+OK");
    pop.until_dot().await;

    // A slot frees when a session ends.
    imap.c("A2 LOGOUT").await;
    imap.until_tagged("A2").await;
    imap.closed().await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut c = Client::plain(server.smtp_submission_addr()).await;
        let greeting = c.line().await;
        if greeting.starts_with("220 ") {
            break;
        }
        assert_eq!(greeting, SMTP_421);
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
}

/// A server whose sessions last 1 s in all but may idle for a minute.
async fn short_sessions() -> MockServer {
    let mut config = Config::demo();
    config.server.idle_timeout_secs = 60;
    config.server.session_timeout_secs = 1;
    start(config).await
}

/// Sends `command` every 200 ms (each answered with one line) until the server says
/// `goodbye`; returns how long the session lasted.
async fn busy_until(c: &mut Client, command: &str, goodbye: &str) -> Duration {
    let started = Instant::now();
    for _ in 0..50 {
        c.c(command).await;
        if c.line().await == goodbye {
            c.closed().await;
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("a busy session outlived its deadline");
}

#[tokio::test]
async fn a_busy_session_still_ends_at_the_session_deadline() {
    let server = short_sessions().await;
    let mut imap = Client::plain(server.imap_starttls_addr()).await;
    imap.line().await;
    let mut pop = Client::plain(server.pop3_starttls_addr()).await;
    pop.line().await;
    let mut smtp = Client::plain(server.smtp_submission_addr()).await;
    smtp.line().await;
    let (imap, pop, smtp) = tokio::join!(
        busy_until(&mut imap, "A NOOP", "* BYE Connection is closed. 13"),
        busy_until(&mut pop, "NOOP", "-ERR Connection is closed. 13"),
        busy_until(
            &mut smtp,
            "NOOP",
            "451 4.7.0 Timeout waiting for client input [MOCK01.outlook.office365.com]"
        ),
    );
    for lasted in [imap, pop, smtp] {
        assert!(lasted >= Duration::from_millis(700), "{lasted:?}");
        assert!(lasted < Duration::from_secs(4), "{lasted:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_slowloris_line_ends_at_the_session_deadline() {
    let server = short_sessions().await;
    let mut clients = Vec::new();
    for addr in [
        server.imap_starttls_addr(),
        server.pop3_starttls_addr(),
        server.smtp_submission_addr(),
    ] {
        let mut c = Client::plain(addr).await;
        c.line().await;
        clients.push(c);
    }
    let started = Instant::now();
    // One byte of a never-ending command line per 100 ms, on every connection.
    let mut ended = [false; 3];
    while ended.contains(&false) {
        assert!(started.elapsed() < Duration::from_secs(5), "still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (c, ended) in clients.iter_mut().zip(ended.iter_mut()) {
            let io = c.io.get_mut();
            if !*ended && io.write_all(b"x").await.is_err() {
                *ended = true;
            }
            let mut buf = [0u8; 256];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), io.read(&mut buf)).await
            {
                // The timeout reply, then EOF.
                if n == 0 {
                    *ended = true;
                }
            }
        }
    }
    let lasted = started.elapsed();
    assert!(lasted >= Duration::from_millis(700), "{lasted:?}");
    server.shutdown().await;
}

/// One keep-alive request on an open TLS connection; `None` once the server has closed it.
async fn keep_alive_get(tls: &mut (impl AsyncReadExt + AsyncWriteExt + Unpin)) -> Option<u16> {
    let request = "GET /devicelogin HTTP/1.1\r\nHost: mock\r\n\r\n";
    tls.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                return head.get(9..12).and_then(|s| s.parse().ok());
            }
        }
        let n = tokio::time::timeout(TIMEOUT, tls.read(&mut buf))
            .await
            .expect("server answered or closed in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

async fn idp_tls(server: &MockServer) -> impl AsyncReadExt + AsyncWriteExt + Unpin + use<> {
    let tcp = TcpStream::connect(server.idp_addr())
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    common::connector(server)
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

#[tokio::test]
async fn https_keep_alive_ends_at_the_session_deadline() {
    let server = short_sessions().await;
    let mut tls = idp_tls(&server).await;
    let started = Instant::now();
    let mut answered = 0;
    while let Some(status) = keep_alive_get(&mut tls).await {
        assert_eq!(status, 200);
        answered += 1;
        assert!(started.elapsed() < Duration::from_secs(5), "still open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered >= 3, "only {answered} requests before the close");
    assert!(started.elapsed() >= Duration::from_millis(700));
    server.shutdown().await;
}

#[tokio::test]
async fn https_idle_connection_ends_at_the_idle_timeout() {
    let mut config = Config::demo();
    config.server.idle_timeout_secs = 1;
    let server = start(config).await;
    let mut tls = idp_tls(&server).await;
    assert_eq!(keep_alive_get(&mut tls).await, Some(200));
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(TIMEOUT, tls.read(&mut buf))
        .await
        .expect("the server closed an idle connection in time");
    // A reset is as closed as a FIN; no bytes either way.
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(700));
    server.shutdown().await;
}
