//! The embedded key material: the identity platform's RS256 signing key
//! (`fixtures/idp-signing-key.pem`) and the client certificates an app may register
//! (`fixtures/*-cert.pem` by name, or inline PEM), each with its RSA public key and its
//! thumbprints (`x5t` = SHA-1, `x5t#S256` = SHA-256 of the DER).

use std::sync::LazyLock;

use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaEncoding, RsaKeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::ids;

const IDP_SIGNING_KEY_PEM: &str = include_str!("../fixtures/idp-signing-key.pem");

/// Certificates that `[[app]] certificates` may name by file name.
const FIXTURE_CERTS: [(&str, &str); 2] = [
    ("app-cert.pem", include_str!("../fixtures/app-cert.pem")),
    ("other-cert.pem", include_str!("../fixtures/other-cert.pem")),
];

/// Why key material could not be used (the text says which and why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub(crate) String);

/// The identity platform's token-signing key.
pub(crate) struct SigningKey {
    pair: RsaKeyPair,
    /// `RSAPublicKey` DER (PKCS#1), what ring verifies with.
    pub public_der: Vec<u8>,
    /// `kid` and `x5t` of issued tokens: base64url SHA-1 of [`SigningKey::public_der`].
    pub kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// RS256 signature over `message`.
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign_with(&RSA_PKCS1_SHA256, message)
    }

    /// Signature over `message` with any RSA encoding (PS256 in tests).
    pub fn sign_with(
        &self,
        encoding: &'static dyn RsaEncoding,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| KeyError("RSA signing failed".to_owned()))?;
        Ok(signature)
    }
}

/// Parses an RSA PKCS#8 PEM key.
pub(crate) fn rsa_key_from_pem(pem: &str) -> Result<SigningKey, KeyError> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| KeyError(format!("not a PKCS#8 PEM private key: {e}")))?;
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| KeyError(format!("not a usable RSA key: {e}")))?;
    let public_der = pair.public_key().as_ref().to_vec();
    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &public_der);
    Ok(SigningKey {
        pair,
        kid: ids::b64url(sha1.as_ref()),
        public_der,
    })
}

static IDP_KEY: LazyLock<Result<SigningKey, KeyError>> =
    LazyLock::new(|| rsa_key_from_pem(IDP_SIGNING_KEY_PEM));

/// The embedded IdP signing key (parsed once).
pub(crate) fn idp_signing_key() -> Result<&'static SigningKey, KeyError> {
    IDP_KEY.as_ref().map_err(Clone::clone)
}

/// A registered client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientCert {
    /// SHA-1 of the DER: what `x5t` carries.
    pub sha1: Vec<u8>,
    /// SHA-256 of the DER: what `x5t#S256` carries.
    pub sha256: Vec<u8>,
    /// `RSAPublicKey` DER of the subject key.
    pub public_key: Vec<u8>,
    /// Validity, Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// `spec` is a fixture file name (`app-cert.pem`) or an inline PEM certificate.
pub(crate) fn client_cert(spec: &str) -> Result<ClientCert, KeyError> {
    let pem = if spec.trim_start().starts_with("-----BEGIN") {
        spec
    } else {
        FIXTURE_CERTS
            .iter()
            .find(|(name, _)| *name == spec)
            .map(|(_, pem)| *pem)
            .ok_or_else(|| {
                let known: Vec<&str> = FIXTURE_CERTS.iter().map(|(n, _)| *n).collect();
                KeyError(format!(
                    "certificate {spec:?} is neither inline PEM nor one of the embedded fixtures {known:?}"
                ))
            })?
    };
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| KeyError(format!("not a PEM certificate: {e}")))?;
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| KeyError(format!("not an X.509 certificate: {e}")))?;
    let public_key = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(_)) => cert.public_key().subject_public_key.data.to_vec(),
        _ => return Err(KeyError("certificate key is not RSA".to_owned())),
    };
    Ok(ClientCert {
        sha1: digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref())
            .as_ref()
            .to_vec(),
        sha256: digest::digest(&digest::SHA256, der.as_ref())
            .as_ref()
            .to_vec(),
        public_key,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The demo app's certificate credential, certificate then private key, in the one PEM that
/// `xoauth --certificate` takes. Public on purpose: it only opens this mock's tenant, and
/// `xoauth demo` must not reach outside its own package for it.
pub const DEMO_APP_CREDENTIAL_PEM: &str = include_str!("../fixtures/app.pem");

#[cfg(test)]
pub(crate) mod test_keys {
    //! The private halves of the fixture certificates, for tests that sign assertions.
    pub const APP_KEY_PEM: &str = include_str!("../fixtures/app-key.pem");
    pub const OTHER_KEY_PEM: &str = include_str!("../fixtures/other-key.pem");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_material_parses() {
        let key = idp_signing_key().expect("fixture key");
        assert_eq!(key.kid.len(), 27);
        let app = client_cert("app-cert.pem").expect("fixture cert");
        // openssl x509 -in app-cert.pem -noout -fingerprint -sha1
        assert_eq!(
            ids::hex_upper(&app.sha1),
            "8D32355D5D45AC325AA777646F287C83C619A9A6"
        );
        assert_eq!(app.sha256.len(), 32);
        assert!(app.not_after > app.not_before);
        let other = client_cert("other-cert.pem").expect("fixture cert");
        assert_ne!(other.public_key, app.public_key);
        let inline = client_cert(FIXTURE_CERTS[0].1).expect("inline PEM");
        assert_eq!(inline, app);
        // The app key's public half is the certificate's.
        let app_key = rsa_key_from_pem(test_keys::APP_KEY_PEM).expect("app key");
        assert_eq!(app_key.public_der, app.public_key);
    }

    #[test]
    fn bad_material_is_an_error() {
        assert!(client_cert("nope.pem").unwrap_err().0.contains("fixtures"));
        assert!(
            client_cert("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(rsa_key_from_pem("junk").is_err());
    }
}
