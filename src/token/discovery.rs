//! `--issuer`: the provider's endpoints read from its discovery document (OpenID Connect
//! Discovery 1.0 §4, RFC 8414 §3), so that an admin of any standards-following provider names
//! one URL instead of three. Fetched only when a token must be obtained (a cached one needs no
//! endpoint), over the same HTTPS client and timeout as the token requests, size-capped.
//!
//! ```text
//! C: GET {issuer}/.well-known/openid-configuration
//! S: {"issuer":"{issuer}","authorization_endpoint":"…","token_endpoint":"…",
//! S:  "device_authorization_endpoint":"…", …}
//! ```
//! The document's `issuer` must be the one asked for (OIDC Discovery §4.3: otherwise the
//! document may be another provider's); a trailing `/` on either side is not a difference.
//! Endpoints given on the command line win over the document's.

use oauth2::HttpClientError;
use url::Url;

use super::input::OAuthPlan;
use super::provider::{self, ProviderError};
use crate::outcome::{Failure, FailureKind, Stage};
use crate::transport::util::escape;

/// Largest discovery document read (real ones are a few KiB).
const MAX_DOCUMENT: usize = 256 * 1024;

/// Where to read the endpoints from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: Url,
    /// `--token-url` was given too and wins over the document's.
    pub token_url_given: bool,
}

impl Discovery {
    /// `{issuer}/.well-known/openid-configuration`, appended to the issuer's path as OIDC
    /// Discovery §4 says (Entra, Keycloak and others put a path in the issuer).
    pub fn document_url(&self) -> Url {
        let mut url = self.issuer.clone();
        let path = format!(
            "{}/.well-known/openid-configuration",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url
    }
}

/// The endpoints a discovery document names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: Option<Url>,
    pub token: Url,
    pub device: Option<Url>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscoveryError {
    #[error("the discovery document is not a JSON object")]
    NotJson,
    #[error("the discovery document has no {0} (a string)")]
    Missing(&'static str),
    #[error("the discovery document's {field}: {error}")]
    BadEndpoint {
        field: &'static str,
        error: ProviderError,
    },
    #[error(
        "the discovery document names the issuer {got:?}, not {asked:?} as asked: it may be \
         another provider's"
    )]
    IssuerMismatch { asked: String, got: String },
    #[error("the discovery URL answered HTTP {0}, not a discovery document")]
    Status(u16),
    #[error("the discovery document is larger than {} KiB", MAX_DOCUMENT / 1024)]
    TooLarge,
}

/// Reads a discovery document; pure.
pub fn parse(body: &[u8], issuer: &Url) -> Result<Endpoints, DiscoveryError> {
    let serde_json::Value::Object(doc) =
        serde_json::from_slice(body).map_err(|_| DiscoveryError::NotJson)?
    else {
        return Err(DiscoveryError::NotJson);
    };
    let text = |field: &'static str| doc.get(field).and_then(|v| v.as_str());
    let got = text("issuer").ok_or(DiscoveryError::Missing("issuer"))?;
    let asked = issuer.as_str();
    if got.trim_end_matches('/') != asked.trim_end_matches('/') {
        return Err(DiscoveryError::IssuerMismatch {
            asked: asked.to_string(),
            got: escape(got.as_bytes()),
        });
    }
    let url = |field: &'static str| -> Result<Option<Url>, DiscoveryError> {
        match doc.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => provider::endpoint(field, s)
                .map(Some)
                .map_err(|error| DiscoveryError::BadEndpoint { field, error }),
            Some(_) => Err(DiscoveryError::Missing(field)),
        }
    };
    Ok(Endpoints {
        authorize: url("authorization_endpoint")?,
        token: url("token_endpoint")?.ok_or(DiscoveryError::Missing("token_endpoint"))?,
        device: url("device_authorization_endpoint")?,
    })
}

fn failure(url: &Url, e: &DiscoveryError) -> Failure {
    Failure::new(
        Stage::Token,
        FailureKind::TokenRejected,
        format!("--issuer: {url}: {e}"),
    )
    .with_advice(
        "the identity provider's endpoints could not be read from its discovery document",
        Some(
            "check --issuer: the issuer URL exactly as the provider states it (its discovery \
             document's \"issuer\"), e.g. https://idp.example/realms/mail; or give \
             --authorize-url, --token-url and --device-url instead"
                .to_string(),
        ),
    )
}

/// Fetches and reads the document at `url`, at most [`MAX_DOCUMENT`] bytes.
async fn fetch(http: &reqwest::Client, url: &Url, issuer: &Url) -> Result<Endpoints, Failure> {
    let unreachable = |e: reqwest::Error| {
        super::flow::transport_error("discovery request", HttpClientError::Reqwest(Box::new(e)))
    };
    let mut response = http
        .get(url.clone())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(failure(
            url,
            &DiscoveryError::Status(response.status().as_u16()),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT {
            return Err(failure(url, &DiscoveryError::TooLarge));
        }
    }
    parse(&body, issuer).map_err(|e| {
        let mut f = failure(url, &e);
        if e == DiscoveryError::NotJson {
            f.server_reply = vec![escape(&body[..body.len().min(300)])];
        }
        f
    })
}

/// The plan with its endpoints read from the discovery document, when it names an issuer;
/// endpoints given on the command line are kept.
pub async fn resolve(p: &OAuthPlan, http: &reqwest::Client) -> Result<OAuthPlan, Failure> {
    let mut resolved = p.clone();
    let Some(discovery) = resolved.discovery.take() else {
        return Ok(resolved);
    };
    let found = fetch(http, &discovery.document_url(), &discovery.issuer).await?;
    let a = &mut resolved.authority;
    a.authorize_url = a.authorize_url.take().or(found.authorize);
    a.device_url = a.device_url.take().or(found.device);
    if !discovery.token_url_given {
        a.token_url = found.token;
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Url {
        Url::parse("https://idp.example/realms/mail").unwrap()
    }

    #[test]
    fn the_document_sits_under_the_issuer_path() {
        let d = |i: &str| Discovery {
            issuer: Url::parse(i).unwrap(),
            token_url_given: false,
        };
        assert_eq!(
            d("https://idp.example/realms/mail").document_url().as_str(),
            "https://idp.example/realms/mail/.well-known/openid-configuration"
        );
        assert_eq!(
            d("https://idp.example/").document_url().as_str(),
            "https://idp.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn endpoints_are_read_and_checked() {
        let doc = br#"{"issuer":"https://idp.example/realms/mail/",
            "authorization_endpoint":"https://idp.example/auth",
            "token_endpoint":"https://idp.example/token",
            "device_authorization_endpoint":"https://idp.example/device",
            "jwks_uri":"https://idp.example/certs"}"#;
        let e = parse(doc, &issuer()).unwrap();
        assert_eq!(e.token.as_str(), "https://idp.example/token");
        assert_eq!(e.authorize.unwrap().as_str(), "https://idp.example/auth");
        assert_eq!(e.device.unwrap().as_str(), "https://idp.example/device");
        // No device endpoint is no error: the device-code flow says so when asked for.
        let doc = br#"{"issuer":"https://idp.example/realms/mail","token_endpoint":"https://idp.example/t"}"#;
        let e = parse(doc, &issuer()).unwrap();
        assert_eq!((e.authorize, e.device), (None, None));
    }

    #[test]
    fn a_bad_document_is_refused_saying_why() {
        use DiscoveryError::*;
        let cases: [(&[u8], DiscoveryError); 7] = [
            (b"<html>not found</html>", NotJson),
            (b"[1,2]", NotJson),
            (br#"{"token_endpoint":"https://idp.example/t"}"#, Missing("issuer")),
            (br#"{"issuer":"https://idp.example/realms/mail"}"#, Missing("token_endpoint")),
            (
                br#"{"issuer":"https://idp.example/realms/mail","token_endpoint":42}"#,
                Missing("token_endpoint"),
            ),
            (
                br#"{"issuer":"https://evil.example/realms/mail","token_endpoint":"https://evil.example/t"}"#,
                IssuerMismatch {
                    asked: "https://idp.example/realms/mail".into(),
                    got: "https://evil.example/realms/mail".into(),
                },
            ),
            (
                br#"{"issuer":"https://idp.example/realms/mail","token_endpoint":"http://idp.example/t"}"#,
                BadEndpoint {
                    field: "token_endpoint",
                    error: ProviderError::NotHttps {
                        what: "token_endpoint",
                        url: "http://idp.example/t".into(),
                    },
                },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse(body, &issuer()),
                Err(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
