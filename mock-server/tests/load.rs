//! The real `xoauth-mock` binary under load and abuse: 1,000 idle connections held at
//! once, slowloris clients, oversized lines and bodies, garbage, abrupt disconnects and a
//! flood of token requests, while well-behaved clients keep being served; and the memory
//! a held connection costs (VmRSS before/after, divided by the count).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::binary::Binary;
use common::{Client, form, xoauth2};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const TOKEN_PATH: &str = "/contoso.example/oauth2/v2.0/token";
const DAEMON: &str = "66666666-7777-8888-9999-000000000000";

/// Opens `n` connections to `addr`, 100 at a time, each read up to its greeting line.
async fn hold_plain(addr: SocketAddr, n: usize, held: &mut Vec<Client>) {
    for chunk in 0..n.div_ceil(100) {
        let mut set = JoinSet::new();
        for _ in 0..(n - chunk * 100).min(100) {
            set.spawn(async move {
                let mut c = Client::plain(addr).await;
                let greeting = c.line().await;
                assert!(
                    !greeting.is_empty() && !greeting.starts_with("421"),
                    "{greeting}"
                );
                c
            });
        }
        while let Some(c) = set.join_next().await {
            held.push(c.expect("client task"));
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`; the status code, or 0 if the server
/// closed without an answer.
async fn http(io: &mut (impl AsyncRead + AsyncWrite + Unpin), request: &[u8]) -> (u16, String) {
    if io.write_all(request).await.is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let read = tokio::time::timeout(common::TIMEOUT, io.read_to_end(&mut raw)).await;
    assert!(
        read.is_ok(),
        "no answer in time to {:?}: {:?}",
        String::from_utf8_lossy(&request[..request.len().min(60)]),
        String::from_utf8_lossy(&raw)
    );
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// A client-credentials token for the daemon app, over a fresh TLS connection.
async fn app_token(mock: &Binary) -> String {
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", DAEMON),
        ("client_secret", "mock-secret-valid-0001"),
        ("scope", "https://outlook.office365.com/.default"),
    ]);
    let request = format!(
        "POST {TOKEN_PATH} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut tls = mock.tls(mock.idp_addr()).await;
    let (status, text) = http(&mut tls, request.as_bytes()).await;
    assert_eq!(status, 200, "{text}");
    let json = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(json).expect("token JSON");
    value["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// What a well-behaved client does: a token, IMAP login and SELECT, POP3 CAPA, SMTP EHLO.
async fn well_behaved(mock: &Binary) {
    let started = Instant::now();
    let token = app_token(mock).await;
    let mut imap = Client::new(mock.tls(mock.addr("IMAPS")).await);
    assert!(imap.line().await.starts_with("* OK "));
    let sasl = xoauth2("sales@contoso.example", &token);
    imap.c(&format!("A1 AUTHENTICATE XOAUTH2 {sasl}")).await;
    imap.s("A1 OK AUTHENTICATE completed.").await;
    imap.c("A2 SELECT INBOX").await;
    let select = imap.until_tagged("A2").await;
    assert!(
        select.last().is_some_and(|l| l.starts_with("A2 OK ")),
        "{select:?}"
    );
    imap.c("A3 LOGOUT").await;
    imap.until_tagged("A3").await;

    let mut pop = Client::plain(mock.addr("POP3")).await;
    assert!(pop.line().await.starts_with("+OK "));
    pop.c("CAPA").await;
    assert_eq!(pop.line().await, "+OK");
    pop.until_dot().await;
    let mut smtp = Client::plain(mock.addr("SMTP")).await;
    assert!(smtp.line().await.starts_with("220 "));
    smtp.c("EHLO client.example").await;
    assert!(smtp.reply().await.iter().any(|l| l.contains("STARTTLS")));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "well-behaved client waited {:?}",
        started.elapsed()
    );
}

/// Abuse of every kind, each finished (answered or closed by the server) before returning;
/// the slowloris connections are returned to be held.
async fn abuse(mock: &Binary) -> Vec<TcpStream> {
    let (imap, pop, smtp) = (mock.addr("IMAP"), mock.addr("POP3"), mock.addr("SMTP"));
    let mut set = JoinSet::new();
    // Oversized lines: 100 KiB without a line end, then the server's refusal.
    for (addr, refusal) in [
        (imap, "* BYE Command too long."),
        (pop, "-ERR Command too long."),
        (smtp, "500 5.5.2 Line too long"),
    ] {
        for _ in 0..10 {
            set.spawn(async move {
                let mut c = Client::plain(addr).await;
                c.line().await;
                c.send_raw(&vec![b'A'; 100 * 1024]).await;
                let answer = c.line().await;
                assert!(answer.starts_with(refusal), "{answer}");
            });
        }
    }
    // Garbage: binary noise (NULs, 0xFF, bare CRs) with line ends; the server answers
    // each line or closes, and never stops serving.
    for addr in [imap, pop, smtp] {
        for i in 0..10u8 {
            set.spawn(async move {
                let mut tcp = TcpStream::connect(addr).await.expect("connect");
                let noise: Vec<u8> = (0..4096u32)
                    .map(|j| (j as u8).wrapping_mul(31).wrapping_add(i) | 0x80)
                    .chain(*b"\r\n\0\0\r\r\xff\xfe\n")
                    .collect();
                let _ = tcp.write_all(&noise).await;
                // An error reply (or a close) comes; the session may go on.
                let mut answer = [0u8; 1024];
                let read = tokio::time::timeout(common::TIMEOUT, tcp.read(&mut answer));
                assert!(read.await.is_ok(), "garbage was met with silence");
            });
        }
    }
    // Garbage where a TLS ClientHello should be, and an HTTP request that is all noise.
    for addr in [mock.addr("IMAPS"), mock.addr("POP3S"), mock.idp_addr()] {
        for _ in 0..5 {
            set.spawn(async move {
                let mut tcp = TcpStream::connect(addr).await.expect("connect");
                let _ = tcp
                    .write_all(b"\x16\x03\x01\xff\xffGET / HTTP/1.1\r\n\r\n")
                    .await;
                let mut sink = Vec::new();
                let read = tokio::time::timeout(common::TIMEOUT, tcp.read_to_end(&mut sink));
                assert!(read.await.is_ok(), "TLS garbage left a connection hanging");
            });
        }
    }
    // Oversized HTTP: a body over the cap (64 KiB), a head far over the cap (hyper checks
    // its 64 KiB only between reads, so a head a little over it may pass).
    for _ in 0..5 {
        let mut tls = mock.tls(mock.idp_addr()).await;
        set.spawn(async move {
            let body = vec![b'a'; 200 * 1024];
            let mut request = format!(
                "POST {TOKEN_PATH} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(&body);
            let (status, text) = http(&mut tls, &request).await;
            assert!(status == 413 || status == 0, "{text}");
        });
        let mut tls = mock.tls(mock.idp_addr()).await;
        set.spawn(async move {
            let request = format!(
                "GET /devicelogin HTTP/1.1\r\nHost: mock\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
                "b".repeat(1024 * 1024)
            );
            let (status, text) = http(&mut tls, request.as_bytes()).await;
            assert!(status == 431 || status == 0, "{text}");
        });
    }
    // Abrupt disconnects: half a command, half a ClientHello, or nothing, then gone.
    for addr in [imap, pop, smtp, mock.addr("IMAPS"), mock.idp_addr()] {
        for _ in 0..10 {
            set.spawn(async move {
                let mut tcp = TcpStream::connect(addr).await.expect("connect");
                let _ = tcp
                    .write_all(b"\x16\x03\x01\x02\x00\x01A1 AUTHENTICATE XOA")
                    .await;
                drop(tcp);
            });
        }
    }
    while let Some(done) = set.join_next().await {
        done.expect("abuse task");
    }
    // Slowloris: half a command line each, never finished, held by the caller.
    let mut slow = Vec::new();
    for addr in [imap, pop, smtp] {
        for _ in 0..10 {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(b"A1 NOO").await.expect("write");
            slow.push(tcp);
        }
    }
    slow
}

/// A flood of token requests: `n` requests, `parallel` at a time, every one answered.
async fn token_flood(mock: &Binary, n: usize, parallel: usize) {
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", DAEMON),
        ("client_secret", "mock-secret-valid-0001"),
        ("scope", "https://outlook.office365.com/.default"),
    ]);
    let request = format!(
        "POST {TOKEN_PATH} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..n.div_ceil(parallel) {
        let mut set = JoinSet::new();
        for _ in 0..parallel {
            let mut tls = mock.tls(mock.idp_addr()).await;
            let request = request.clone();
            set.spawn(async move { http(&mut tls, request.as_bytes()).await });
        }
        while let Some(answer) = set.join_next().await {
            let (status, text) = answer.expect("flood task");
            assert_eq!(status, 200, "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_and_abuse_leave_well_behaved_clients_served() {
    let test_started = Instant::now();
    let mut mock = Binary::start("load", &["--max-connections", "1200"]);
    // Warm up every code path once, so the baseline includes the one-off allocations.
    well_behaved(&mock).await;
    let mut held = Vec::new();
    hold_plain(mock.addr("IMAP"), 10, &mut held).await;
    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_start = mock.rss_kib();

    // 800 plaintext sessions (IMAP, POP3, SMTP), greeted and idle.
    hold_plain(mock.addr("IMAP"), 300, &mut held).await;
    hold_plain(mock.addr("POP3"), 250, &mut held).await;
    hold_plain(mock.addr("SMTP"), 250, &mut held).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_plain = mock.rss_kib();
    // 200 TLS sessions: IMAPS greeted, HTTPS after the handshake.
    for _ in 0..100 {
        let mut c = Client::new(mock.tls(mock.addr("IMAPS")).await);
        assert!(c.line().await.starts_with("* OK "));
        held.push(c);
    }
    let mut held_tls = Vec::new();
    for _ in 0..100 {
        held_tls.push(mock.tls(mock.idp_addr()).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_tls = mock.rss_kib();
    assert_eq!(held.len() + held_tls.len(), 1000);

    // With the thousand held: abuse, a token flood, and well-behaved clients served.
    let slow = abuse(&mock).await;
    well_behaved(&mock).await;
    let flood_started = Instant::now();
    token_flood(&mock, 200, 20).await;
    let flood = flood_started.elapsed();
    well_behaved(&mock).await;
    let rss_end = mock.rss_kib();

    // The held sessions are all still served.
    for (i, c) in held.iter_mut().step_by(50).enumerate() {
        c.c(&format!("N{i} NOOP")).await;
        let answer = c.line().await;
        assert!(
            !answer.starts_with("* BYE") && !answer.is_empty(),
            "{answer}"
        );
    }
    assert!(mock.wait(Duration::ZERO).is_none(), "the mock died");

    let per_plain = (rss_plain.saturating_sub(rss_start)) as f64 / 800.0;
    let per_tls = (rss_tls.saturating_sub(rss_plain)) as f64 / 200.0;
    eprintln!(
        "xoauth-mock memory: VmRSS {rss_start} KiB idle, {rss_plain} KiB with 800 plaintext \
         sessions ({per_plain:.1} KiB each), {rss_tls} KiB with 200 more TLS sessions \
         ({per_tls:.1} KiB each), {rss_end} KiB after abuse and a flood of 200 token requests \
         ({flood:?}); whole test {:?}",
        test_started.elapsed()
    );
    // Generous bounds: the point is "bounded", e.g. no line buffer or 1 MiB per session.
    assert!(per_plain < 64.0, "{per_plain:.1} KiB per plaintext session");
    assert!(per_tls < 256.0, "{per_tls:.1} KiB per TLS session");
    drop(slow);
}
