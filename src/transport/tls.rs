//! rustls client configuration and handshake, and the facts about the session an admin needs:
//! protocol version, cipher suite and the server certificate's subject, issuer, names and expiry.
//!
//! Verification is always on. Trust comes from webpki-roots (Mozilla's roots, so results do not
//! depend on the machine's store) plus CAs the user names with `--ca-file` for a private CA.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::TransportError;
use super::util::rfc3339;

/// Why a TLS session could not be set up, in words that point at the fix.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    #[error(
        "the server's certificate is not trusted (unknown issuer: self-signed or a private CA); \
         if you trust it, pass its CA with --ca-file"
    )]
    UntrustedIssuer,
    #[error("the server's certificate is not valid for {host}")]
    NameMismatch { host: String },
    #[error("the server's certificate has expired")]
    Expired,
    #[error("the server's certificate is not valid yet (check the clocks)")]
    NotYetValid,
    #[error("the server's certificate was rejected: {0}")]
    BadCertificate(String),
    #[error("{0}")]
    Handshake(String),
    #[error("{host:?} is not a valid server name for TLS")]
    InvalidServerName { host: String },
}

/// A CA file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("cannot read CA file {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("CA file {path} holds no PEM certificate")]
    Empty { path: String },
    #[error("CA file {path}: {detail}")]
    Invalid { path: String, detail: String },
}

/// What was negotiated, for the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    pub cipher_suite: String,
    pub certificate: Option<CertificateInfo>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName.
    pub subject_alt_names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
}

/// Reads every certificate in a PEM file.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| CaFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaFileError::Invalid {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(CaFileError::Empty { path: shown });
    }
    Ok(certs)
}

/// A client configuration: TLS 1.2 or 1.3 only, the ring provider named explicitly (never the
/// process default, which panics when two providers are compiled in), webpki roots plus extras.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<ClientConfig>, CaFileError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(|e| CaFileError::Invalid {
            path: "--ca-file".into(),
            detail: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| CaFileError::Invalid {
                path: "TLS configuration".into(),
                detail: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Performs the handshake over `stream` (a fresh TCP stream, or one just past STARTTLS).
pub async fn handshake<S>(
    stream: S,
    host: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<(TlsStream<S>, TlsInfo), TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        TransportError::Tls(TlsFailure::InvalidServerName {
            host: host.to_string(),
        })
    })?;
    let connector = TlsConnector::from(config);
    let tls = match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
        Err(_) => {
            return Err(TransportError::Timeout {
                stage: "TLS handshake",
                after: timeout,
            });
        }
        Ok(Err(e)) => return Err(classify(e, host)),
        Ok(Ok(tls)) => tls,
    };
    let info = describe(tls.get_ref().1);
    Ok((tls, info))
}

fn classify(e: io::Error, host: &str) -> TransportError {
    let Some(rustls_error) = e.get_ref().and_then(|r| r.downcast_ref::<rustls::Error>()) else {
        return TransportError::from(e);
    };
    let failure = match rustls_error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => TlsFailure::UntrustedIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::NameMismatch {
                    host: host.to_string(),
                }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid
            }
            other => TlsFailure::BadCertificate(format!("{other:?}")),
        },
        other => TlsFailure::Handshake(other.to_string()),
    };
    TransportError::Tls(failure)
}

fn describe(conn: &rustls::ClientConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".to_string());
    let certificate = conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| certificate_info(leaf.as_ref()));
    TlsInfo {
        version,
        cipher_suite,
        certificate,
    }
}

/// Reads the leaf certificate's names and validity. `None` when it does not parse; rustls has
/// already verified it, so this only affects what the report can show.
pub fn certificate_info(der: &[u8]) -> Option<CertificateInfo> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject_alt_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(dns.to_string()),
                    GeneralName::IPAddress(ip) => ip_to_string(ip),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        subject_alt_names,
        not_before: rfc3339(cert.validity().not_before.timestamp()),
        not_after: rfc3339(cert.validity().not_after.timestamp()),
    })
}

fn ip_to_string(raw: &[u8]) -> Option<String> {
    match raw.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(raw).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(raw).ok()?).to_string()),
        _ => None,
    }
}
