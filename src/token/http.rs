//! The HTTP client for identity-provider endpoints: rustls with webpki roots plus the CAs the
//! user trusts (`--ca-file`), no redirects (oauth2 requires it: a redirected token request could
//! carry credentials elsewhere), and a timeout on every request.

use std::time::Duration;

use rustls_pki_types::CertificateDer;

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTPS client: {0}")]
pub struct HttpSetupError(String);

pub fn client(
    extra_roots: &[CertificateDer<'static>],
    timeout: Duration,
) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(false) // loopback http is allowed; provider::endpoint enforces the rule
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("xoauth/", env!("CARGO_PKG_VERSION")));
    for cert in extra_roots {
        let cert = reqwest::Certificate::from_der(cert.as_ref())
            .map_err(|e| HttpSetupError(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| HttpSetupError(e.to_string()))
}
