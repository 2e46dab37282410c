//! The client side of a full IMAP check, as the load generator and the idle holder speak it:
//! TCP, TLS (no resumption: every session pays a full handshake), greeting, AUTHENTICATE
//! XOAUTH2 with SASL-IR, LIST, LOGOUT.

use std::sync::Arc;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub type Conn = BufReader<TlsStream<TcpStream>>;

pub fn connector(ca: &str) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(cert.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| format!("{ca}: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// TCP + TLS + the greeting line.
pub async fn open(tls: &TlsConnector, addr: &str) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_owned();
    let name = ServerName::try_from(host).map_err(|e| e.to_string())?;
    let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let mut conn = BufReader::new(stream);
    let greeting = line(&mut conn).await?;
    if !greeting.starts_with("* OK") {
        return Err(format!("greeting: {greeting}"));
    }
    Ok(conn)
}

async fn line(conn: &mut Conn) -> Result<String, String> {
    let mut s = String::new();
    if conn.read_line(&mut s).await.map_err(|e| e.to_string())? == 0 {
        return Err("connection closed".into());
    }
    Ok(s)
}

/// Sends `tag cmd` and reads up to its tagged reply; `Err` unless it is OK.
async fn command(conn: &mut Conn, tag: &str, cmd: &str) -> Result<(), String> {
    conn.get_mut()
        .write_all(format!("{tag} {cmd}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let l = line(conn).await?;
        if let Some(rest) = l.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            return if rest.starts_with("OK") {
                Ok(())
            } else {
                Err(format!("{tag}: {}", rest.trim_end()))
            };
        }
        if l.starts_with('+') {
            // A SASL continuation means the token was refused: cancel the exchange.
            conn.get_mut()
                .write_all(b"*\r\n")
                .await
                .map_err(|e| e.to_string())?;
        }
    }
}

pub async fn authenticate(conn: &mut Conn, user: &str, token: &str) -> Result<(), String> {
    let sasl = format!("user={user}\x01auth=Bearer {token}\x01\x01");
    let b64 = base64::engine::general_purpose::STANDARD.encode(sasl);
    command(conn, "a1", &format!("AUTHENTICATE XOAUTH2 {b64}")).await
}

/// The rest of a full check after the greeting: AUTHENTICATE, LIST, LOGOUT.
pub async fn check(conn: &mut Conn, user: &str, token: &str) -> Result<(), String> {
    authenticate(conn, user, token).await?;
    command(conn, "a2", "LIST \"\" \"*\"").await?;
    command(conn, "a3", "LOGOUT").await
}
