//! The certificate credential: a signed JWT client assertion (RFC 7523, reference A3) that
//! proves possession of the private key whose certificate is registered on the app.
//!
//! Header `alg` RS256 with both thumbprints, `x5t` (SHA-1, what Entra has matched for years) and
//! `x5t#S256` (SHA-256, what its current documentation names), so either lookup finds the key.
//! Claims `aud` (the token endpoint), `iss` = `sub` = client id, a fresh `jti`, `nbf`/`iat` now
//! and `exp` ten minutes later. Signed with ring; the key never leaves this module's types.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::{Zeroize as _, Zeroizing};

use crate::secret::Secret;

/// How long an assertion is valid; Entra recommends minutes, not hours.
const LIFETIME_SECS: i64 = 600;

/// A certificate this close to its not-after is warned about (30 days).
pub const EXPIRY_WARN_SECS: i64 = 30 * 86_400;

const MAC_MISMATCH: &str = "the password does not open this file";

#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("cannot read certificate file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no certificate (PEM: a CERTIFICATE block next to the private key)")]
    NoCertificate { path: String },
    #[error("{path} holds no private key (PEM: a PRIVATE KEY or RSA PRIVATE KEY block)")]
    NoKey { path: String },
    #[error("{path}: the private key is not a usable RSA key: {detail}")]
    BadKey { path: String, detail: String },
    #[error(
        "{path} is a PKCS#12 file protected by a password, and no password was given \
         (--certificate-password-env)"
    )]
    Pkcs12PasswordNeeded { path: String },
    #[error("{path}: the PKCS#12 password (--certificate-password-env) is wrong for this file")]
    Pkcs12WrongPassword { path: String },
    #[error("{path}: cannot open the PKCS#12 file (not PKCS#12, or damaged): {detail}")]
    Pkcs12 { path: String, detail: String },
    #[error("the client certificate (thumbprint {thumbprint}) expired at {when}")]
    Expired { thumbprint: String, when: String },
    #[error("the system random number generator failed")]
    Random,
    #[error("signing the client assertion failed")]
    Sign,
}

impl AssertionError {
    /// What to do about it, naming the flag that changes it.
    pub fn fix(&self) -> String {
        match self {
            AssertionError::Read { .. } => {
                "check the path given to --certificate and that xoauth's user can read it".into()
            }
            AssertionError::NoCertificate { .. } | AssertionError::NoKey { .. } => {
                "give --certificate one PEM file holding both the certificate and its private \
                 key, or the PKCS#12 (.pfx) file with --certificate-password-env"
                    .into()
            }
            AssertionError::BadKey { .. } => {
                "use the RSA key pair whose certificate is uploaded to the app registration".into()
            }
            AssertionError::Pkcs12PasswordNeeded { .. } => {
                "put the password in an environment variable and name it with \
                 --certificate-password-env VAR"
                    .into()
            }
            AssertionError::Pkcs12WrongPassword { .. } => {
                "check the password in the variable named by --certificate-password-env (the \
                 one set when the .pfx was exported)"
                    .into()
            }
            AssertionError::Pkcs12 { .. } => {
                "export the certificate with its private key again as .pfx, or as PEM".into()
            }
            AssertionError::Expired { .. } => {
                "create a new certificate, upload it to the app registration (Certificates & \
                 secrets) and pass it with --certificate; Entra refuses assertions signed \
                 with an expired one (AADSTS700027)"
                    .into()
            }
            AssertionError::Random | AssertionError::Sign => {
                "run again; this is a fault of this machine's crypto, not of the certificate".into()
            }
        }
    }
}

/// A certificate and its RSA private key.
pub struct CertificateCredential {
    key: RsaKeyPair,
    cert: CertificateDer<'static>,
}

impl std::fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CertificateCredential {{ x5t: {}, key: <redacted> }}",
            self.x5t()
        )
    }
}

impl CertificateCredential {
    /// Reads a PEM file holding the certificate and the key, or a PKCS#12 file (`.pfx`,
    /// `.p12`) with its password.
    pub fn load(path: &Path, password: Option<&Secret<String>>) -> Result<Self, AssertionError> {
        let shown = path.display().to_string();
        // The file holds the private key: wiped when this returns, whatever happens.
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| AssertionError::Read {
            path: shown.clone(),
            source,
        })?);
        let is_pem = bytes.starts_with(b"-----") || bytes.windows(11).any(|w| w == b"-----BEGIN ");
        if is_pem {
            Self::from_pem(&bytes, &shown)
        } else {
            // No password is tried as the empty one, which some exports use.
            let given = password.map(|p| p.expose().as_str());
            Self::from_pkcs12(&bytes, given.unwrap_or(""), &shown).map_err(|e| match e {
                AssertionError::Pkcs12 { path, detail } if detail == MAC_MISMATCH => match given {
                    None => AssertionError::Pkcs12PasswordNeeded { path },
                    Some(_) => AssertionError::Pkcs12WrongPassword { path },
                },
                other => other,
            })
        }
    }

    /// From PEM bytes holding the certificate and the key; `label` names them in errors.
    pub fn from_pem(pem: &[u8], label: &str) -> Result<Self, AssertionError> {
        let path = label;
        let cert = CertificateDer::pem_slice_iter(pem)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| AssertionError::NoCertificate {
                path: path.to_string(),
            })?;
        let mut der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| AssertionError::NoKey {
            path: path.to_string(),
        })?;
        let bad = |detail: String| AssertionError::BadKey {
            path: path.to_string(),
            detail,
        };
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => {
                RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).map_err(|e| bad(e.to_string()))
            }
            PrivateKeyDer::Pkcs1(k) => {
                RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|e| bad(e.to_string()))
            }
            _ => Err(bad("only RSA keys can sign RS256 assertions".into())),
        };
        // ring keeps its own form of the key; the DER copy is not needed any more.
        der.zeroize();
        Ok(CertificateCredential { key: key?, cert })
    }

    fn from_pkcs12(data: &[u8], password: &str, path: &str) -> Result<Self, AssertionError> {
        let err = |detail: String| AssertionError::Pkcs12 {
            path: path.to_string(),
            detail,
        };
        let store = p12_keystore::KeyStore::from_pkcs12(
            data,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| match e {
            // The MAC is keyed by the password: a mismatch means the password is not this
            // file's (p12-keystore says only "MAC tag mismatch").
            p12_keystore::error::Error::MacError(_) => err(MAC_MISMATCH.into()),
            other => err(other.to_string()),
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| err("no private key inside".into()))?;
        let cert = chain
            .certs()
            .first()
            .ok_or_else(|| AssertionError::NoCertificate {
                path: path.to_string(),
            })?;
        let key =
            RsaKeyPair::from_pkcs8(chain.key().as_der()).map_err(|e| AssertionError::BadKey {
                path: path.to_string(),
                detail: e.to_string(),
            })?;
        Ok(CertificateCredential {
            key,
            cert: CertificateDer::from(cert.as_der().to_vec()),
        })
    }

    /// The certificate's not-after, in seconds since the epoch; `None` when it cannot be read
    /// (the key still signs; Entra then judges the certificate).
    pub fn not_after(&self) -> Option<i64> {
        let (_, parsed) = x509_parser::parse_x509_certificate(&self.cert).ok()?;
        Some(parsed.validity().not_after.timestamp())
    }

    /// How the certificate stands at `now`: expired (an error: Entra refuses an assertion
    /// signed with it, AADSTS700027), expiring within [`EXPIRY_WARN_SECS`] (a warning, so the
    /// admin uploads a new one before every app using it stops), or fine.
    pub fn expiry(&self, now: i64) -> Result<Option<String>, AssertionError> {
        let Some(not_after) = self.not_after() else {
            return Ok(None);
        };
        let when = crate::transport::util::rfc3339(not_after);
        let thumbprint = self.thumbprint_hex();
        if not_after <= now {
            return Err(AssertionError::Expired { thumbprint, when });
        }
        Ok((not_after - now <= EXPIRY_WARN_SECS).then(|| {
            format!(
                "the client certificate (thumbprint {thumbprint}) expires at {when}, in {} \
                 days: upload a new certificate to the app registration (Certificates & \
                 secrets) and switch --certificate to it before then",
                (not_after - now) / 86_400
            )
        }))
    }

    /// base64url SHA-1 of the certificate: what Entra calls the thumbprint.
    pub fn x5t(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert);
        B64URL.encode(digest.as_ref())
    }

    pub fn x5t_s256(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.cert);
        B64URL.encode(digest.as_ref())
    }

    /// The thumbprint as the Entra portal shows it (upper-case hex SHA-1).
    pub fn thumbprint_hex(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert);
        digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// A signed assertion for `client_id` at `audience` (the token endpoint URL), valid from `now`.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<Secret<String>, AssertionError> {
        let rng = SystemRandom::new();
        let mut jti = [0u8; 16];
        rng.fill(&mut jti).map_err(|_| AssertionError::Random)?;
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": self.x5t(),
            "x5t#S256": self.x5t_s256(),
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid_like(&jti),
            "nbf": now,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| AssertionError::Sign)?;
        // Appended in place: a bearer credential for ten minutes, so no unwiped temporary.
        let mut jwt = String::with_capacity(signing_input.len() + 1 + signature.len() * 4 / 3 + 4);
        jwt.push_str(&signing_input);
        jwt.push('.');
        B64URL.encode_string(&signature, &mut jwt);
        Ok(Secret::new(jwt))
    }
}

fn uuid_like(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("mock-server/fixtures")
            .join(name)
    }

    fn pem_with_cert_and_key() -> tempfile::NamedTempFile {
        let mut pem = std::fs::read(fixture("app-cert.pem")).unwrap();
        pem.extend(std::fs::read(fixture("app-key.pem")).unwrap());
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), pem).unwrap();
        f
    }

    /// The fixture's key in a certificate valid until `not_after` (seconds since the epoch).
    fn credential_until(not_after: i64) -> CertificateCredential {
        let key_pem = std::fs::read_to_string(fixture("app-key.pem")).unwrap();
        let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = x509_parser::time::ASN1Time::from_timestamp(not_after)
            .unwrap()
            .to_datetime();
        let cert = params.self_signed(&key).unwrap();
        let pem = format!("{}{key_pem}", cert.pem());
        CertificateCredential::from_pem(pem.as_bytes(), "test").unwrap()
    }

    #[test]
    fn an_expiring_certificate_is_warned_and_an_expired_one_refused() {
        let now = 1_795_456_629;
        let fine = credential_until(now + 31 * 86_400);
        assert_eq!(fine.not_after(), Some(now + 31 * 86_400));
        assert_eq!(fine.expiry(now).unwrap(), None);
        let soon = credential_until(now + 10 * 86_400 + 60)
            .expiry(now)
            .unwrap()
            .unwrap();
        assert!(soon.contains("in 10 days"), "{soon}");
        assert!(soon.contains("upload a new certificate"), "{soon}");
        let expired = credential_until(now - 86_400).expiry(now).unwrap_err();
        assert!(
            matches!(expired, AssertionError::Expired { .. }),
            "{expired}"
        );
        assert!(
            expired.to_string().contains("expired at 2026-11-22T"),
            "{expired}"
        );
        assert!(expired.fix().contains("upload it to the app registration"));
        // The fixture (valid until 2126) is fine.
        let file = pem_with_cert_and_key();
        let cred = CertificateCredential::load(file.path(), None).unwrap();
        assert_eq!(cred.expiry(now).unwrap(), None);
    }

    #[test]
    fn signs_a_verifiable_assertion_with_both_thumbprints() {
        let file = pem_with_cert_and_key();
        let cred = CertificateCredential::load(file.path(), None).unwrap();
        let jwt = cred
            .assertion(
                "client-1",
                "https://login.example/t/oauth2/v2.0/token",
                1_000,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], cred.x5t());
        assert_eq!(header["x5t#S256"], cred.x5t_s256());
        let claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(
            (claims["iss"].clone(), claims["sub"].clone()),
            ("client-1".into(), "client-1".into())
        );
        assert_eq!(
            (claims["nbf"].as_i64(), claims["exp"].as_i64()),
            (Some(1_000), Some(1_600))
        );
        assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
        // The signature verifies with the certificate's public key.
        let cert_pem = std::fs::read(fixture("app-cert.pem")).unwrap();
        let cert = CertificateDer::from_pem_slice(&cert_pem).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
        let spki = parsed.public_key().subject_public_key.data.to_vec();
        let sig = B64URL.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .expect("signature verifies");
        // Two assertions never share a jti.
        let again = cred.assertion("client-1", "aud", 1_000).unwrap();
        assert_ne!(again.expose().split('.').nth(1), Some(parts[1]));
    }

    #[test]
    fn pkcs12_gives_the_same_credential_as_pem() {
        let pem = CertificateCredential::load(pem_with_cert_and_key().path(), None).unwrap();
        let p12 = CertificateCredential::load(
            &fixture("app.p12"),
            Some(&Secret::new("xoauth".to_string())),
        )
        .unwrap();
        assert_eq!(pem.x5t(), p12.x5t());
        assert_eq!(pem.thumbprint_hex().len(), 40);
        let wrong =
            CertificateCredential::load(&fixture("app.p12"), Some(&Secret::new("nope".into())));
        assert!(matches!(
            wrong,
            Err(AssertionError::Pkcs12WrongPassword { .. })
        ));
        let none = CertificateCredential::load(&fixture("app.p12"), None).unwrap_err();
        assert!(
            matches!(none, AssertionError::Pkcs12PasswordNeeded { .. }),
            "{none}"
        );
        assert!(none.to_string().contains("--certificate-password-env"));
        assert!(!none.to_string().contains("MAC"), "{none}");
        assert!(none.fix().contains("--certificate-password-env VAR"));
        let garbage = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(garbage.path(), [0x30, 0x03, 0x02, 0x01, 0x03]).unwrap();
        assert!(matches!(
            CertificateCredential::load(garbage.path(), None),
            Err(AssertionError::Pkcs12 { .. })
        ));
    }

    #[test]
    fn clear_errors_and_no_key_in_debug() {
        let cert_only = CertificateCredential::load(&fixture("app-cert.pem"), None);
        assert!(matches!(cert_only, Err(AssertionError::NoKey { .. })));
        let key_only = CertificateCredential::load(&fixture("app-key.pem"), None);
        assert!(matches!(
            key_only,
            Err(AssertionError::NoCertificate { .. })
        ));
        let missing = CertificateCredential::load(Path::new("/nonexistent.pem"), None);
        assert!(matches!(missing, Err(AssertionError::Read { .. })));
        let cred = CertificateCredential::load(pem_with_cert_and_key().path(), None).unwrap();
        assert!(format!("{cred:?}").contains("<redacted>"));
    }
}
