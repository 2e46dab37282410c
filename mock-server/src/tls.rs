//! The mock's PKI: a fresh CA (ECDSA P-256, CN "xoauth-mock CA") and a server certificate it
//! signs for `localhost`, `127.0.0.1`, `::1` and the configured host name; valid from a day
//! ago for 30 days. rustls with the ring provider, TLS 1.2 and 1.3.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio_rustls::TlsAcceptor;

/// Why the mock could not set up TLS (messages include the underlying error).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not build a key or certificate.
    #[error("certificate generation failed: {0}")]
    Certificate(rcgen::Error),
    /// rustls rejected the server configuration.
    #[error("TLS configuration failed: {0}")]
    Config(rustls::Error),
    /// The system clock is outside the range a certificate can express.
    #[error("system clock is unusable for certificate validity")]
    Clock,
}

impl From<rcgen::Error> for TlsError {
    fn from(error: rcgen::Error) -> Self {
        TlsError::Certificate(error)
    }
}

impl From<rustls::Error> for TlsError {
    fn from(error: rustls::Error) -> Self {
        TlsError::Config(error)
    }
}

/// CA (for clients to trust) and the acceptor for every TLS listener.
#[derive(Clone)]
pub(crate) struct TlsMaterial {
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    pub acceptor: TlsAcceptor,
}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn validity() -> Result<(OffsetDateTime, OffsetDateTime), TlsError> {
    let now = SystemTime::now();
    let at = |t: Option<SystemTime>| -> Result<OffsetDateTime, TlsError> {
        let secs = t
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .ok_or(TlsError::Clock)?
            .as_secs();
        let secs = i64::try_from(secs).map_err(|_| TlsError::Clock)?;
        OffsetDateTime::from_unix_timestamp(secs).map_err(|_| TlsError::Clock)
    };
    Ok((at(now.checked_sub(DAY))?, at(now.checked_add(30 * DAY))?))
}

/// Generates the CA and server certificate and builds the acceptor.
pub(crate) fn generate(hostname: &str) -> Result<TlsMaterial, TlsError> {
    let (not_before, not_after) = validity()?;

    let ca_key = KeyPair::generate()?; // ECDSA P-256 (ring cannot generate RSA keys)
    let mut ca_params = CertificateParams::default();
    let mut ca_dn = DistinguishedName::new();
    ca_dn.push(DnType::CommonName, "xoauth-mock CA");
    ca_params.distinguished_name = ca_dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !names.iter().any(|n| n.eq_ignore_ascii_case(hostname)) {
        names.push(hostname.to_owned());
    }
    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(names)?;
    let mut leaf_dn = DistinguishedName::new();
    leaf_dn.push(DnType::CommonName, hostname);
    leaf_params.distinguished_name = leaf_dn;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.not_before = not_before;
    leaf_params.not_after = not_after;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    let ca_der = ca_cert.der().clone();
    let chain = vec![leaf_cert.der().clone(), ca_der.clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        ca_der,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_pem_ca() {
        let tls = generate("outlook.office365.com").expect("TLS material");
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!tls.ca_der.as_ref().is_empty());
    }
}
