//! What the token layer is asked to do: how to obtain a token (flow, credential, scopes, cache
//! rules), or where a given one is. Owned here, composed by the plan, so that the OAuth code
//! can be read, tested and reused without the plan above it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// How to obtain a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Authorization code with PKCE and a loopback redirect (a browser on this machine).
    Interactive,
    /// RFC 8628: a code to enter on any device.
    DeviceCode,
    /// App-only, with a client secret or a certificate.
    ClientCredentials,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Interactive => "interactive",
            Flow::DeviceCode => "device-code",
            Flow::ClientCredentials => "client-credentials",
        }
    }
}

/// Where a client secret or a certificate password comes from; never a command-line argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
    /// Asked for on the terminal, without echo.
    Prompt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredential {
    Secret(SecretSource),
    /// A PEM file with certificate and key, or a PKCS#12 file with its password.
    Certificate {
        path: PathBuf,
        password: Option<SecretSource>,
    },
    /// PEM bytes (certificate and key) already in memory: library callers, the demo.
    CertificatePem(crate::secret::Secret<Vec<u8>>),
}

/// Obtaining a token from an identity provider.
#[derive(Debug, Clone)]
pub struct OAuthPlan {
    pub authority: super::provider::Authority,
    /// For the cache key and reports; empty for providers without tenants.
    pub tenant: String,
    pub client_id: String,
    pub flow: Flow,
    pub scopes: Vec<String>,
    pub credential: Option<ClientCredential>,
    /// The account to sign in as (login_hint; also part of the cache key). `None` for client
    /// credentials: an app-only token has no user.
    pub login_hint: Option<String>,
    /// Use the OS keyring cache.
    pub cache: bool,
    /// Get a new token even when the cache has one (nor use its refresh token), and cache it.
    pub refresh: bool,
    /// Try to open the sign-in page in a browser (the URL is always printed too).
    pub open_browser: bool,
    /// Longest wait for the user to sign in or approve a device code.
    pub user_wait: Duration,
    /// The interactive flow's loopback redirect as registered at the provider (host and
    /// path kept, port chosen at run time unless given); `None` is `http://localhost:PORT`.
    pub redirect_uri: Option<super::redirect::LoopbackRedirect>,
    /// Read the endpoints from this issuer's discovery document before the first request.
    pub discovery: Option<super::discovery::Discovery>,
    /// The command line that runs the same check with the device-code flow, offered when the
    /// interactive flow finds no browser; `None` for library callers, who get the flag only.
    pub device_code_command: Option<String>,
}

/// The token: given, or obtained by a flow.
#[derive(Debug, Clone)]
pub enum TokenPlan {
    Given(super::TokenSource),
    OAuth(Box<OAuthPlan>),
}
