//! Shared helpers for the integration tests: a raw line client over TCP or TLS (trusting
//! only the mock's CA) that reads like C:/S: lines.
#![allow(dead_code)] // each test binary uses a different subset

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use xoauth_mock::{Config, MockServer};

pub const ALICE_TOKEN: &str = "mock-access-token-alice-0001";
pub const BOB_TOKEN: &str = "mock-access-token-bob-0002";
pub const CAROL_TOKEN: &str = "mock-access-token-carol-0003";
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A line-oriented raw client.
pub struct Client {
    pub io: BufReader<Pin<Box<dyn Io>>>,
}

impl Client {
    pub fn new(io: impl Io + 'static) -> Client {
        Client {
            io: BufReader::new(Box::pin(io)),
        }
    }

    /// Plain TCP to `addr`.
    pub async fn plain(addr: std::net::SocketAddr) -> Client {
        Client::new(TcpStream::connect(addr).await.expect("connect"))
    }

    /// TLS to `addr` from the first byte.
    pub async fn tls(server: &MockServer, addr: std::net::SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        upgrade(server, Box::pin(tcp)).await
    }

    /// Runs a TLS handshake over this connection (after STARTTLS/STLS). The server must
    /// not have sent anything after its go-ahead.
    pub async fn starttls(self, server: &MockServer) -> Client {
        assert!(self.io.buffer().is_empty(), "bytes after the TLS go-ahead");
        upgrade(server, self.io.into_inner()).await
    }

    /// C: `line`
    pub async fn c(&mut self, line: &str) {
        let bytes = format!("{line}\r\n");
        self.send_raw(bytes.as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.io.get_mut();
        io.write_all(bytes).await.expect("write");
        io.flush().await.expect("flush");
    }

    /// S: one line, with its CRLF checked and stripped.
    pub async fn line(&mut self) -> String {
        let mut line = String::new();
        let n = tokio::time::timeout(TIMEOUT, self.io.read_line(&mut line))
            .await
            .expect("server answered in time")
            .expect("read");
        assert!(n > 0, "server closed the connection, expected a line");
        line.strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("line not CRLF-terminated: {line:?}"))
            .to_owned()
    }

    /// S: exactly `expected`.
    pub async fn s(&mut self, expected: &str) {
        assert_eq!(self.line().await, expected);
    }

    /// S: lines up to and including the first one `done` accepts.
    pub async fn until(&mut self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let last = done(&line);
            lines.push(line);
            if last {
                return lines;
            }
        }
    }

    /// S: lines up to and including the one starting with `tag ` (IMAP).
    pub async fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let prefix = format!("{tag} ");
        self.until(|l| l.starts_with(&prefix)).await
    }

    /// S: a POP3 multi-line reply up to and including `.`.
    pub async fn until_dot(&mut self) -> Vec<String> {
        self.until(|l| l == ".").await
    }

    /// S: one SMTP reply (continuation lines `250-…` up to the final `250 …`).
    pub async fn reply(&mut self) -> Vec<String> {
        self.until(|l| l.as_bytes().get(3) != Some(&b'-')).await
    }

    /// The server closes the connection (EOF) without sending more.
    pub async fn closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(TIMEOUT, self.io.read_to_end(&mut rest))
            .await
            .expect("server closed in time");
        // A TLS peer may see a reset instead of close_notify; both mean closed.
        if read.is_ok() {
            assert!(
                rest.is_empty(),
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&rest)
            );
        }
    }
}

pub fn connector(server: &MockServer) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server.ca_der())
        .expect("mock CA is a valid trust anchor");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

pub async fn upgrade(server: &MockServer, io: Pin<Box<dyn Io>>) -> Client {
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = connector(server)
        .connect(name, io)
        .await
        .expect("TLS handshake with the mock CA");
    Client::new(tls)
}

pub async fn start(config: Config) -> MockServer {
    MockServer::start(config).await.expect("mock starts")
}

pub fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// The backend name in an Exchange greeting `… [<base64 UTF-16LE>]`.
pub fn backend_name(greeting: &str, prefix: &str) -> String {
    let b64 = greeting
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not an Exchange greeting: {greeting}"));
    let utf16le = STANDARD.decode(b64).expect("greeting carries base64");
    let units: Vec<u16> = utf16le
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("UTF-16LE backend name")
}
