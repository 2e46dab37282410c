//! The real `xoauth-mock` binary stops cleanly on SIGTERM (what CI runners and `kill` send)
//! and on SIGINT (Ctrl-C): exit code 0, open sessions ended, listeners closed.

mod common;

use std::time::Duration;

use common::binary::Binary;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;

async fn stops_cleanly_on(signal: &str) {
    let mut mock = Binary::start(&format!("signal-{signal}"), &[]);
    let imap = mock.addr("IMAP");
    let mut session = BufReader::new(TcpStream::connect(imap).await.expect("connect"));
    let mut greeting = String::new();
    session.read_line(&mut greeting).await.expect("greeting");
    assert!(greeting.starts_with("* OK "), "{greeting}");
    let mut token = mock.tls(mock.idp_addr()).await;

    mock.signal(signal);
    let status = mock
        .wait(Duration::from_secs(5))
        .expect("the mock exited in time");
    assert!(status.success(), "SIGTERM/SIGINT must exit 0, got {status}");

    // The sessions ended (EOF or reset, never silence) and nothing listens any more.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), session.read_to_end(&mut rest))
        .await
        .expect("the IMAP session ended with the process");
    assert!(read.is_err() || rest.is_empty(), "{rest:?}");
    let read = tokio::time::timeout(Duration::from_secs(2), token.read_to_end(&mut rest))
        .await
        .expect("the HTTPS connection ended with the process");
    assert!(read.is_err() || rest.is_empty(), "{rest:?}");
    for addr in [imap, mock.addr("IMAPS"), mock.addr("SMTP"), mock.idp_addr()] {
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_mock_cleanly() {
    stops_cleanly_on("TERM").await;
}

#[tokio::test]
async fn sigint_stops_the_mock_cleanly() {
    stops_cleanly_on("INT").await;
}
