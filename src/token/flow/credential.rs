//! A confidential client's credential, read once per run, and the name it goes by in the token
//! cache. The cache must tell credentials apart: a token cached under yesterday's secret would
//! otherwise pass a run whose secret is now wrong, hiding exactly what the run is meant to test.

use ring::digest;

use super::super::assertion::{AssertionError, CertificateCredential};
use super::super::source::{Input, TokenError, load_secret};
use crate::outcome::{Failure, FailureKind};
use crate::secret::Secret;
use crate::token::input::{ClientCredential, OAuthPlan};

/// Domain separation for the secret's digest, so that it matches no other hash of it.
const SECRET_DIGEST_LABEL: &[u8] = b"xoauth token-cache credential v1\0";

pub enum Credential {
    Secret(Secret<String>),
    Certificate(Box<CertificateCredential>),
}

impl Credential {
    /// Reads the plan's credential (environment, file, prompt, PEM/PKCS#12); `None` for a
    /// public client. The failure names the input and its fix, never its content.
    pub fn load(p: &OAuthPlan) -> Result<Option<Credential>, Failure> {
        let unreadable = |e: TokenError| {
            super::failure(FailureKind::CredentialUnusable, e.to_string())
                .with_advice(e.cause(), Some(e.fix()))
        };
        let certificate = |c: Result<CertificateCredential, AssertionError>| {
            c.map(|c| Credential::Certificate(Box::new(c)))
                .map_err(|e| super::certificate_failure(&e))
        };
        Ok(Some(match &p.credential {
            None => return Ok(None),
            Some(ClientCredential::Secret(source)) => {
                Credential::Secret(load_secret(source, Input::ClientSecret).map_err(unreadable)?)
            }
            Some(ClientCredential::Certificate { path, password }) => {
                let password = password
                    .as_ref()
                    .map(|s| load_secret(s, Input::CertificatePassword))
                    .transpose()
                    .map_err(unreadable)?;
                certificate(CertificateCredential::load(path, password.as_ref()))?
            }
            Some(ClientCredential::CertificatePem(pem)) => certificate(
                CertificateCredential::from_pem(pem.expose(), "the certificate"),
            )?,
        }))
    }

    /// What identifies the credential in a cache key: `secret:` and 16 hex digits of a
    /// labelled SHA-256 of the secret (64 bits tell rotated secrets apart and give no help in
    /// guessing a high-entropy secret), or `certificate:` and the thumbprint the Entra portal
    /// shows (public anyway).
    pub fn fingerprint(&self) -> String {
        match self {
            Credential::Secret(secret) => {
                let mut ctx = digest::Context::new(&digest::SHA256);
                ctx.update(SECRET_DIGEST_LABEL);
                ctx.update(secret.expose().as_bytes());
                let hex: String = ctx.finish().as_ref()[..8]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("secret:{hex}")
            }
            Credential::Certificate(cert) => format!("certificate:{}", cert.thumbprint_hex()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_told_apart_without_being_shown() {
        let a = Credential::Secret(Secret::new("mock-secret-valid-0001".into())).fingerprint();
        let again = Credential::Secret(Secret::new("mock-secret-valid-0001".into())).fingerprint();
        let b = Credential::Secret(Secret::new("mock-secret-valid-0002".into())).fingerprint();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert!(
            a.starts_with("secret:") && a.len() == "secret:".len() + 16,
            "{a}"
        );
        assert!(!a.contains("mock-secret"));
        // Not a bare SHA-256 of the secret either.
        let bare: String = digest::digest(&digest::SHA256, b"mock-secret-valid-0001").as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!a.contains(&bare));
    }
}
