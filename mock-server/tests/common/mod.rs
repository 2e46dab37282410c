//! Shared helpers for the integration tests: a raw line client over TCP or TLS (trusting
//! only the mock's CA) that reads like C:/S: lines.
#![allow(dead_code)] // each test binary uses a different subset

pub mod binary;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use xoauth_mock::{Config, MockServer, TokenSpec};

/// A delegated token for `addr` (demo public client, IMAP + POP + SMTP scopes).
pub fn user_token(server: &MockServer, addr: &str) -> String {
    server.issue_token(&TokenSpec::user(addr))
}

pub fn alice(server: &MockServer) -> String {
    user_token(server, "alice@contoso.example")
}

pub fn bob(server: &MockServer) -> String {
    user_token(server, "bob@contoso.example")
}

pub fn carol(server: &MockServer) -> String {
    user_token(server, "carol@contoso.example")
}
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

/// An HTTP/1.1 response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request to the identity platform over TLS (trusting only the mock CA), with
/// `Connection: close`; reads the head, then `Content-Length` bytes.
pub async fn https(
    server: &MockServer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let tcp = TcpStream::connect(server.idp_addr())
        .await
        .expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let mut tls = connector(server)
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the mock CA");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.idp_addr(),
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tls.write_all(request.as_bytes()).await.expect("write");
    tls.flush().await.expect("flush");

    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                if raw.len() >= end + 4 + length {
                    return (head, raw[end + 4..end + 4 + length].to_vec());
                }
            }
            let n = tls.read(&mut buf).await.expect("read");
            assert!(n > 0, "connection closed mid-response: {raw:?}");
            raw.extend_from_slice(&buf[..n]);
        }
    };
    let (head, body) = tokio::time::timeout(TIMEOUT, read)
        .await
        .expect("response in time");
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    }
}

/// `application/x-www-form-urlencoded` from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", urlencode(n), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// POST a form to `path` (e.g. `/contoso.example/oauth2/v2.0/token`).
pub async fn post_form(server: &MockServer, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    https(
        server,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(pairs),
    )
    .await
}

/// The claims of a JWT (no verification).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1).expect("JWT has a payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Query parameter `name` of a URL (percent-decoded, `+` as space).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| percent_decode(v))
    })
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}
