//! rustls client configuration and handshake, and the facts about the session an admin needs:
//! protocol version, cipher suite and the server certificate's subject, issuer, names and expiry.
//!
//! Verification is always on. Trust comes from webpki-roots (Mozilla's roots, so results do not
//! depend on the machine's store) plus CAs the user names with `--ca-file` for a private CA.
//! The verifier is webpki's, wrapped only to note the chain the server presented: a rejected
//! certificate is the one an admin most needs to see, and rustls forgets it with the handshake.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::TransportError;
use super::sniff::{self, OldTls, Sniff, Spoken};
use super::util::rfc3339;

/// Why a TLS session could not be set up, in words that point at the fix. Certificate failures
/// carry the chain the server presented (when it could be read), so the admin sees which
/// certificate was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    #[error(
        "the server's certificate is not trusted (unknown issuer: self-signed or a private CA \
         that is not among the trusted roots){}",
        presented_text(.presented)
    )]
    UntrustedIssuer { presented: Option<Box<TlsInfo>> },
    #[error("the server's certificate is not valid for {host}{}", presented_text(.presented))]
    NameMismatch {
        host: String,
        presented: Option<Box<TlsInfo>>,
    },
    #[error("the server's certificate has expired{}", presented_text(.presented))]
    Expired { presented: Option<Box<TlsInfo>> },
    #[error(
        "the server's certificate is not valid yet (check the clocks){}",
        presented_text(.presented)
    )]
    NotYetValid { presented: Option<Box<TlsInfo>> },
    #[error("the server's certificate was rejected: {0}")]
    BadCertificate(String),
    #[error("{0}")]
    Handshake(String),
    /// The server answered the ClientHello (TLS 1.2 and 1.3 only) with an older version.
    #[error(
        "the server speaks only {}, and xoauth requires TLS 1.2 or 1.3 ({})",
        .0.versions(),
        .0.evidence()
    )]
    OldVersion(OldTls),
    #[error("{host:?} is not a valid server name for TLS")]
    InvalidServerName { host: String },
}

/// A CA file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    // The io error is part of the sentence, not a `source`: printed with its chain, it would
    // otherwise say the same thing twice.
    #[error("cannot read CA file {path}: {reason}")]
    Read { path: String, reason: io::Error },
    #[error("CA file {path} is a directory, expected a PEM file")]
    Directory { path: String },
    #[error("CA file {path} holds no PEM certificate")]
    Empty { path: String },
    #[error("CA file {path}: {detail}")]
    Invalid { path: String, detail: String },
}

/// What was negotiated, for the report; after a refused certificate, what the server presented.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`; `unknown` when the handshake did not finish.
    pub version: String,
    pub cipher_suite: String,
    /// The server's own (leaf) certificate.
    pub certificate: Option<CertificateInfo>,
    /// The rest of the chain the server presented (intermediates, sometimes its root), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<CertificateInfo>,
    /// Whether the certificate was verified. `false` means the handshake was refused and the
    /// certificates are shown only to explain why.
    pub verified: bool,
    /// The session resumed one established earlier in this run (a TLS 1.3 ticket, a TLS 1.2
    /// session id or ticket): no certificate chain was sent, verified or signed for again.
    /// The certificate shown is the one verified when that session was first established.
    pub resumed: bool,
}

impl TlsInfo {
    /// What a server presented before its certificate was refused.
    fn presented(chain: &[CertificateDer<'static>]) -> Option<Box<TlsInfo>> {
        let mut infos = chain.iter().filter_map(|c| certificate_info(c.as_ref()));
        let certificate = Some(infos.next()?);
        Some(Box::new(TlsInfo {
            version: "unknown".into(),
            cipher_suite: "unknown".into(),
            certificate,
            chain: infos.collect(),
            verified: false,
            resumed: false,
        }))
    }
}

/// ` — presented: CN=x (names a, b), issued by CN=y, valid from A until B`, or nothing.
fn presented_text(presented: &Option<Box<TlsInfo>>) -> String {
    let Some(c) = presented.as_ref().and_then(|p| p.certificate.as_ref()) else {
        return String::new();
    };
    let names = if c.subject_alt_names.is_empty() {
        "no subjectAltName".to_string()
    } else {
        format!("names {}", c.subject_alt_names.join(", "))
    };
    format!(
        " — the server presented {} ({names}), issued by {}, valid from {} until {}",
        c.subject, c.issuer, c.not_before, c.not_after
    )
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
    if path.is_dir() {
        return Err(CaFileError::Directory { path: shown });
    }
    let pem = std::fs::read(path).map_err(|reason| CaFileError::Read {
        path: shown.clone(),
        reason,
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
    let setup = |detail: String| CaFileError::Invalid {
        path: "TLS configuration".into(),
        detail,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| setup(e.to_string()))?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recording(webpki)))
        .with_no_client_auth();
    // rustls's default, said out loud because a run depends on it: every connection of a run
    // (`check` across protocols, an audit's thousands) shares this one configuration, so the
    // sessions it remembers let later handshakes to the same host resume instead of receiving
    // and verifying the certificate chain and the server's signature again (and the server
    // skips signing). Only a session whose certificate was verified is ever stored.
    config.resumption = rustls::client::Resumption::in_memory_sessions(256);
    Ok(Arc::new(config))
}

type Chain = Arc<Mutex<Vec<CertificateDer<'static>>>>;

tokio::task_local! {
    /// Where the verifier notes the chain of the handshake running in this task. Task-local,
    /// so one shared configuration serves concurrent handshakes without mixing their chains.
    static PRESENTED: Chain;
}

/// webpki's verifier, unchanged in every decision, noting the presented chain first.
#[derive(Debug)]
struct Recording(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let _ = PRESENTED.try_with(|slot| {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        });
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Performs the handshake over `stream` (a fresh TCP stream, or one just past STARTTLS). The
/// first bytes the server sends are kept, so that a plaintext server is named as such.
pub async fn handshake<S>(
    stream: S,
    host: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<(TlsStream<Sniff<S>>, TlsInfo), TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        TransportError::Tls(TlsFailure::InvalidServerName {
            host: host.to_string(),
        })
    })?;
    let connector = TlsConnector::from(config);
    let (stream, seen) = Sniff::new(stream);
    let chain = Chain::default();
    let connect = PRESENTED.scope(chain.clone(), connector.connect(name, stream));
    let result = tokio::time::timeout(timeout, connect).await;
    // Whatever went wrong, a server that answered in plain text is on the wrong port.
    if !matches!(result, Ok(Ok(_))) {
        let bytes = seen.bytes();
        if let Some(spoken) = sniff::classify(&bytes).filter(|s| *s != Spoken::Tls) {
            return Err(TransportError::NotTls {
                spoken,
                first_line: sniff::first_line(&bytes),
            });
        }
    }
    let tls = match result {
        Err(_) => {
            return Err(TransportError::Timeout {
                stage: "TLS handshake",
                after: timeout,
                received: seen.bytes().len(),
            });
        }
        Ok(Err(e)) => {
            // By the server's own first record, not rustls's words for it.
            if let Some(old) = OldTls::from_first_record(&seen.bytes()) {
                return Err(TransportError::Tls(TlsFailure::OldVersion(old)));
            }
            let chain = chain.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Err(classify(e, host, TlsInfo::presented(&chain)));
        }
        Ok(Ok(tls)) => tls,
    };
    let info = describe(tls.get_ref().1);
    Ok((tls, info))
}

fn classify(e: io::Error, host: &str, presented: Option<Box<TlsInfo>>) -> TransportError {
    let Some(rustls_error) = e.get_ref().and_then(|r| r.downcast_ref::<rustls::Error>()) else {
        return TransportError::from(e);
    };
    let failure = match rustls_error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => TlsFailure::UntrustedIssuer { presented },
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::NameMismatch {
                    host: host.to_string(),
                    presented,
                }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired { presented }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid { presented }
            }
            other => TlsFailure::BadCertificate(format!("{other:?}{}", presented_text(&presented))),
        },
        other => TlsFailure::Handshake(other.to_string()),
    };
    TransportError::Tls(failure)
}

impl TlsFailure {
    /// The chain the server presented, when its certificate was the problem.
    pub fn presented(&self) -> Option<&TlsInfo> {
        match self {
            TlsFailure::UntrustedIssuer { presented }
            | TlsFailure::NameMismatch { presented, .. }
            | TlsFailure::Expired { presented }
            | TlsFailure::NotYetValid { presented } => presented.as_deref(),
            _ => None,
        }
    }
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
    let chain = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .skip(1)
        .filter_map(|c| certificate_info(c.as_ref()))
        .collect();
    TlsInfo {
        version,
        cipher_suite,
        certificate,
        chain,
        verified: true,
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
    }
}

/// Reads a certificate's names and validity. `None` when it does not parse; this only affects
/// what the report can show, never whether the certificate is trusted.
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
