//! The OAuth 2.0 flows, with the oauth2 crate doing the protocol work:
//!
//! - client credentials (RFC 6749 §4.4) with a secret, or with a certificate assertion
//!   (RFC 7523; oauth2 has no private_key_jwt, so the assertion goes in as extra parameters);
//! - device code (RFC 8628), polling at the server's interval and honouring `slow_down`;
//! - authorization code with PKCE S256 (RFC 7636) and a loopback redirect (RFC 8252 §7.3);
//! - refresh (RFC 6749 §6).
//!
//! Every failure becomes a report failure that carries the provider's own words (the `error`
//! and the `AADSTSnnnn:` description), which `diagnose` turns into a cause and a fix.

use std::time::Duration;

use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    DeviceAuthorizationUrl, DeviceCodeErrorResponse, DeviceCodeErrorResponseType, HttpClientError,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, StandardErrorResponse, TokenResponse, TokenUrl,
};

use super::Origin;
use super::assertion::AssertionError;
use super::input::{Flow, OAuthPlan};
use crate::outcome::{Failure, FailureKind, Stage};
use crate::secret::Secret;
use crate::transport::util::escape;

pub mod browser;
mod credential;
// Public so the `fuzz/` crate can feed the lenient reply readers arbitrary provider JSON.
pub mod device_reply;
mod loopback;
pub mod reply;

pub use credential::Credential;
// oauth2's basic client with a lenient token reply in place of `BasicTokenResponse`.
use reply::{Client as BasicClient, ErrorReply, TokenReply};

/// What a flow produced.
pub struct Obtained {
    pub access: Secret<String>,
    /// From `expires_in` (possibly already past: a zero or negative one); `None` when the
    /// provider did not say.
    pub expires_at: Option<i64>,
    pub refresh: Option<Secret<String>>,
}

pub fn origin(flow: Flow) -> Origin {
    match flow {
        Flow::Interactive => Origin::Interactive,
        Flow::DeviceCode => Origin::DeviceCode,
        Flow::ClientCredentials => Origin::ClientCredentials,
    }
}

/// Runs the plan's flow; `credential` is the plan's, loaded by [`Credential::load`].
pub async fn run(
    p: &OAuthPlan,
    http: &reqwest::Client,
    credential: Option<&Credential>,
    progress: bool,
    on_device_code: Option<&super::DeviceCodeHook<'_>>,
) -> Result<Obtained, Failure> {
    // A plan that names an issuer has no endpoints until its document is read.
    let resolved;
    let p = match p.discovery {
        Some(_) => {
            resolved = super::discovery::resolve(p, http).await?;
            &resolved
        }
        None => p,
    };
    match p.flow {
        Flow::ClientCredentials => client_credentials(p, http, credential).await,
        Flow::DeviceCode => device_code(p, http, progress, on_device_code).await,
        Flow::Interactive => interactive(p, http).await,
    }
}

fn failure(kind: FailureKind, message: impl Into<String>) -> Failure {
    Failure::new(Stage::Token, kind, message)
}

fn scopes(p: &OAuthPlan) -> Vec<Scope> {
    p.scopes.iter().cloned().map(Scope::new).collect()
}

fn token_url(p: &OAuthPlan) -> TokenUrl {
    TokenUrl::from_url(p.authority.token_url.clone())
}

fn obtained(resp: &TokenReply) -> Obtained {
    Obtained {
        access: Secret::new(resp.access_token().secret().clone()),
        expires_at: resp
            .expires_in_secs()
            .map(|s| super::now().saturating_add(s)),
        refresh: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
    }
}

/// A certificate credential that cannot be used, with the fix its error names.
pub(super) fn certificate_failure(e: &AssertionError) -> Failure {
    failure(FailureKind::CredentialUnusable, e.to_string()).with_advice(
        "the certificate credential (--certificate) could not be used",
        Some(e.fix()),
    )
}

async fn client_credentials(
    p: &OAuthPlan,
    http: &reqwest::Client,
    credential: Option<&Credential>,
) -> Result<Obtained, Failure> {
    let client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url(p));
    let certificate = match credential {
        Some(Credential::Secret(secret)) => {
            return client
                .set_client_secret(ClientSecret::new(secret.expose().clone()))
                .exchange_client_credentials()
                .add_scopes(scopes(p))
                .request_async(http)
                .await
                .map(|r| obtained(&r))
                .map_err(|e| endpoint_failure("client-credentials token request", e));
        }
        Some(Credential::Certificate(certificate)) => certificate,
        None => {
            return Err(failure(
                FailureKind::CredentialUnusable,
                "client credentials need --client-secret-env, --client-secret-file, \
                 --client-secret-prompt or --certificate",
            ));
        }
    };
    let assertion = certificate
        .assertion(&p.client_id, p.authority.token_url.as_str(), super::now())
        .map_err(|e| certificate_failure(&e))?;
    client
        .exchange_client_credentials()
        .add_scopes(scopes(p))
        .add_extra_param(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .add_extra_param("client_assertion", assertion.expose().clone())
        .request_async(http)
        .await
        .map(|r| obtained(&r))
        .map_err(|e| endpoint_failure("client-credentials token request", e))
}

async fn device_code(
    p: &OAuthPlan,
    http: &reqwest::Client,
    progress: bool,
    on_device_code: Option<&super::DeviceCodeHook<'_>>,
) -> Result<Obtained, Failure> {
    let device_url = p.authority.device_url.clone().ok_or_else(|| {
        failure(
            FailureKind::CredentialUnusable,
            "this provider has no device-code endpoint (--device-url)",
        )
        .with_advice(
            "the device-code flow needs the provider's device authorization endpoint",
            Some("give it with --device-url, or use --flow interactive".into()),
        )
    })?;
    let client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url))
        .set_token_uri(token_url(p));
    // The reply's times are read leniently (a string, zero, negative, missing).
    // The HTTP client closure owns what it uses: borrowing them into oauth2's
    // `AsyncHttpClient` impl made the flow's future `Send` only for one lifetime, so no audit
    // row (which may renew the token) could be spawned on the multi-thread runtime.
    let said = std::sync::Arc::new(std::sync::OnceLock::new());
    let (said_own, wait, http_own) = (said.clone(), p.user_wait, http.clone());
    let lenient = move |request| {
        let (said, http) = (said_own.clone(), http_own.clone());
        async move { device_reply::call(&http, request, wait, &said).await }
    };
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes(p))
        .request_async(&lenient)
        .await
        .map_err(|e| endpoint_failure("device-code request", e))?;
    let lifetime = said
        .get()
        .map_or(Some(details.expires_in()), |t| t.lifetime);
    eprintln!(
        "{}",
        device_reply::prompt(
            details.verification_uri().as_str(),
            details.user_code().secret(),
            details
                .verification_uri_complete()
                .map(|c| escape(c.secret().as_bytes()))
                .as_deref(),
            lifetime,
            p.user_wait,
        )
    );
    if let Some(hook) = on_device_code {
        hook(details.user_code().secret());
    }
    let started = std::time::Instant::now();
    let sleep = |d: Duration| async move {
        if progress {
            eprint!(
                "\rwaiting for approval ... {} s      ",
                started.elapsed().as_secs()
            );
        }
        tokio::time::sleep(d).await;
    };
    // The wait is ours to bound. Given a limit, oauth2 stops polling with a made-up
    // `expired_token` "from the server"; so it gets a limit past the code's lifetime and the
    // timer below ends the wait first, saying which of the two ran out. Past the lifetime
    // the server gets a grace period to say `expired_token` itself. A code of unknown
    // lifetime is waited for as long as --login-wait says.
    let window = match lifetime {
        Some(lifetime) if lifetime <= p.user_wait => lifetime.saturating_add(DEVICE_CODE_GRACE),
        _ => p.user_wait,
    };
    let poll = client.exchange_device_access_token(&details).request_async(
        http,
        sleep,
        Some(window.saturating_add(DEVICE_CODE_GRACE)),
    );
    let result = tokio::time::timeout(window, poll).await;
    if progress {
        eprintln!();
    }
    match result {
        Ok(result) => result.map(|r| obtained(&r)).map_err(device_failure),
        Err(_) => Err(device_wait_ended(p.user_wait, lifetime)),
    }
}

/// How long past a device code's lifetime the server may take to say `expired_token`.
const DEVICE_CODE_GRACE: Duration = Duration::from_secs(30);

/// Nobody approved the code while xoauth polled: either `--login-wait` ended first, or the
/// code's own lifetime (`expires_in`) did. The server said nothing either way.
fn device_wait_ended(login_wait: Duration, lifetime: Option<Duration>) -> Failure {
    let wait = login_wait.as_secs_f64();
    let Some(lifetime) = lifetime else {
        return failure(
            FailureKind::SignInIncomplete,
            format!(
                "nobody approved the device code within --login-wait ({wait} s); xoauth \
                 stopped waiting (the provider did not say how long the code stays valid)"
            ),
        )
        .with_advice(
            format!("the wait for approval (--login-wait {wait} s) ended before anyone signed in"),
            Some("run again and enter the code sooner, or raise --login-wait".into()),
        );
    };
    let life = lifetime.as_secs();
    if login_wait < lifetime {
        failure(
            FailureKind::SignInIncomplete,
            format!(
                "nobody approved the device code within --login-wait ({wait} s); xoauth \
                 stopped waiting, although the code stayed valid for {life} s"
            ),
        )
        .with_advice(
            format!("the wait for approval (--login-wait {wait} s) ended before anyone signed in"),
            Some(format!(
                "run again and enter the code sooner, or raise --login-wait (up to the code's \
                 lifetime of {life} s)"
            )),
        )
    } else {
        failure(
            FailureKind::SignInIncomplete,
            format!(
                "the device code expired: nobody approved it within its lifetime of {life} s \
                 (expires_in of the device-code response)"
            ),
        )
        .with_advice(
            format!("the device code expired ({life} s) before anyone signed in"),
            Some("run again and enter the code before it expires".into()),
        )
    }
}

async fn interactive(p: &OAuthPlan, http: &reqwest::Client) -> Result<Obtained, Failure> {
    let authorize = p.authority.authorize_url.clone().ok_or_else(|| {
        failure(
            FailureKind::CredentialUnusable,
            "this provider has no authorize endpoint (--authorize-url)",
        )
        .with_advice(
            "the interactive flow needs the provider's authorization endpoint",
            Some("give it with --authorize-url, or use --flow device-code".into()),
        )
    })?;
    let default_redirect = super::redirect::LoopbackRedirect::entra_default();
    let listener = loopback::Listener::bind(p.redirect_uri.as_ref().unwrap_or(&default_redirect))
        .await
        .map_err(|e| e.into_failure())?;
    let redirect = RedirectUrl::new(listener.redirect_uri())
        .map_err(|e| failure(FailureKind::CredentialUnusable, e.to_string()))?;
    let client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::from_url(authorize))
        .set_token_uri(token_url(p))
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes(p))
        .set_pkce_challenge(challenge);
    if let Some(hint) = &p.login_hint {
        request = request.add_extra_param("login_hint", hint.clone());
    }
    let (url, state) = request.url();
    // Where no browser can run, waiting for its redirect would only end in the timeout: say
    // so first, with the device-code command, and still print the page for a port forward.
    let headless = p.open_browser.then(browser::headless_here).flatten();
    let no_browser = match headless {
        Some(why) => Some(why.to_string()),
        None => {
            eprintln!("To sign in, open this page in a browser on this machine:\n  {url}");
            match p.open_browser {
                true => browser::open(url.as_str())
                    .await
                    .err()
                    .map(|e| format!("the system's browser opener failed ({e})")),
                false => None,
            }
        }
    };
    if let Some(why) = &no_browser {
        eprintln!(
            "{}",
            browser::advice(
                why,
                &listener.redirect_uri(),
                listener.port(),
                p.device_code_command.as_deref(),
                p.authority.device_url.is_some(),
                p.user_wait.as_secs_f64(),
            )
        );
        if headless.is_some() {
            eprintln!("The sign-in page:\n  {url}");
        }
    }
    let code = listener
        .wait(state.secret(), p.user_wait)
        .await
        .map_err(|e| match (&no_browser, e) {
            (Some(why), loopback::LoopbackError::TimedOut { wait, stray: 0 }) => {
                no_browser_timeout(p, why, wait)
            }
            (_, e) => e.into_failure(),
        })?;
    let resp = client
        .exchange_code(AuthorizationCode::new(code.expose().clone()))
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(|e| endpoint_failure("authorization-code redemption", e))?;
    Ok(obtained(&resp))
}

/// The wait for a redirect ended where no browser could open: the fix is the device-code flow.
fn no_browser_timeout(p: &OAuthPlan, why: &str, wait: Duration) -> Failure {
    let fix = match (&p.device_code_command, p.authority.device_url.is_some()) {
        (Some(command), true) => format!("sign in with a code on any device instead: {command}"),
        (None, true) => "sign in with a code on any device instead: run again with --flow \
                         device-code"
            .to_string(),
        (_, false) => "run xoauth on a machine with a browser, or forward the redirect's port \
                       (ssh -L) to one"
            .to_string(),
    };
    failure(
        FailureKind::SignInIncomplete,
        format!(
            "nobody completed this sign-in within --login-wait ({} s): no browser could be \
             opened here ({why})",
            wait.as_secs_f64()
        ),
    )
    .with_advice(
        format!(
            "no browser could show the sign-in page here ({why}), so its redirect to this \
             machine never came"
        ),
        Some(fix),
    )
}

/// Exchanges a refresh token; public clients only (a confidential client's credentials are
/// not kept between runs).
pub async fn refresh(
    p: &OAuthPlan,
    http: &reqwest::Client,
    refresh: &Secret<String>,
) -> Result<Obtained, Failure> {
    let client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url(p));
    let rt = RefreshToken::new(refresh.expose().clone());
    let resp = client
        .exchange_refresh_token(&rt)
        .add_scopes(scopes(p))
        .request_async(http)
        .await
        .map_err(|e| endpoint_failure("refresh", e))?;
    let mut out = obtained(&resp);
    // Some providers do not rotate refresh tokens; keep the one that worked.
    if out.refresh.is_none() {
        out.refresh = Some(refresh.clone());
    }
    Ok(out)
}

/// The provider's words, one line each: `error`, the description (Entra puts the AADSTS code
/// and text first, then trace ids), and the error URI.
fn provider_reply<T: oauth2::ErrorResponseType + AsRef<str>>(
    e: &StandardErrorResponse<T>,
) -> Vec<String> {
    let mut lines = vec![format!("error: {}", e.error().as_ref())];
    if let Some(d) = e.error_description() {
        lines.extend(
            d.split(['\r', '\n'])
                .filter(|l| !l.trim().is_empty())
                .take(8)
                .map(|l| escape(l.as_bytes())),
        );
    }
    if let Some(uri) = e.error_uri() {
        lines.push(escape(uri.as_bytes()));
    }
    lines
}

pub(crate) fn transport_error(what: &str, e: HttpClientError<reqwest::Error>) -> Failure {
    let detail = match &e {
        HttpClientError::Reqwest(inner) => {
            let mut s = inner.to_string();
            let mut source = std::error::Error::source(inner.as_ref());
            while let Some(cause) = source {
                s.push_str(": ");
                s.push_str(&cause.to_string());
                source = cause.source();
            }
            s
        }
        other => other.to_string(),
    };
    let f = failure(
        FailureKind::TokenEndpointUnreachable,
        format!("the {what} did not reach the identity provider: {detail}"),
    );
    match tls_refusal(&detail) {
        Some((cause, fix)) => f.with_advice(cause, Some(fix)),
        None => f,
    }
}

/// The TLS failures that are no network fault, told by rustls' words in the error chain
/// (reqwest keeps no typed error for them): an untrusted certificate, most often a
/// TLS-inspecting proxy re-signing the connection, and a port that does not speak TLS.
fn tls_refusal(detail: &str) -> Option<(String, String)> {
    const CA_FIX: &str = "pass the CA that signed it (the proxy's, for a TLS-inspecting proxy) \
                          with --ca-file FILE.pem, which xoauth trusts for the identity \
                          provider as for the mail server, or have the proxy leave the login \
                          host alone";
    if let Some(why) = detail
        .split("invalid peer certificate: ")
        .nth(1)
        .map(|rest| rest.split(':').next().unwrap_or(rest).trim())
    {
        let cause = match why {
            "UnknownIssuer" | "BadSignature" => "the identity provider's certificate is not \
                trusted: its issuer is not among the trusted roots. A TLS-inspecting proxy \
                (a corporate firewall) does this: it re-signs every HTTPS connection with its \
                own CA"
                .to_string(),
            "Expired" | "NotValidYet" => format!(
                "the identity provider's certificate is not valid now ({why}); a \
                 TLS-inspecting proxy or a wrong system clock does this"
            ),
            other => format!(
                "the identity provider's certificate was refused ({other}); a TLS-inspecting \
                 proxy does this"
            ),
        };
        return Some((cause, CA_FIX.to_string()));
    }
    if detail.contains("InvalidContentType") || detail.contains("corrupt message") {
        return Some((
            "the identity provider's address does not speak HTTPS: something else (plain \
             HTTP, or another protocol) answered the TLS handshake"
                .to_string(),
            "check the host and port in --authority (or --token-url): https:// needs a TLS \
             port; http:// is only for a plain-HTTP test server on a loopback address"
                .to_string(),
        ));
    }
    None
}

/// A reply that could not be parsed. It is quoted only when it cannot hold a token: a success
/// response the parser rejected (one without `token_type`, say) contains the access token.
fn parse_failure(what: &str, err: impl std::fmt::Display, body: &[u8]) -> Failure {
    let text = String::from_utf8_lossy(body);
    let mut f = failure(
        FailureKind::TokenRejected,
        format!(
            "the identity provider's answer to the {what} is not a valid OAuth response: {err}"
        ),
    );
    if !text.contains("access_token") && !text.contains("refresh_token") {
        f.server_reply = vec![escape(&body[..body.len().min(600)])];
    }
    // No JSON object at all: not an OAuth endpoint (an HTML page, a 404 text), so there is no
    // error_description to read; most often --authority carries a path (the tenant twice).
    let json = serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object());
    if !json {
        let what_came = if body.is_empty() {
            "an empty reply"
        } else if text.trim_start().starts_with('<') {
            "an HTML page"
        } else {
            "text that is not JSON"
        };
        f = f.with_advice(
            format!(
                "the URL the {what} went to is not an OAuth token endpoint: it answered with \
                 {what_came}, not an OAuth JSON reply"
            ),
            Some(
                "check --authority: the login host only, e.g. \
                 https://login.microsoftonline.com, without the tenant (it goes in --tenant); \
                 or --token-url / --device-url"
                    .to_string(),
            ),
        );
    }
    f
}

fn endpoint_failure(
    what: &str,
    e: RequestTokenError<HttpClientError<reqwest::Error>, ErrorReply>,
) -> Failure {
    match e {
        RequestTokenError::ServerResponse(r) => failure(
            FailureKind::TokenRejected,
            format!(
                "the identity provider refused the {what}: {}",
                r.standard.error().as_ref()
            ),
        )
        .with_reply(provider_reply(&r.standard))
        .with_provider_ids(r.ids()),
        RequestTokenError::Request(e) => transport_error(what, e),
        RequestTokenError::Parse(err, body) => parse_failure(what, err, &body),
        RequestTokenError::Other(s) => failure(FailureKind::TokenRejected, format!("{what}: {s}")),
    }
}

fn device_failure(
    e: RequestTokenError<HttpClientError<reqwest::Error>, DeviceCodeErrorResponse>,
) -> Failure {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let (kind, message) = match r.error() {
                DeviceCodeErrorResponseType::AccessDenied => (
                    FailureKind::SignInIncomplete,
                    "the sign-in was declined".to_string(),
                ),
                DeviceCodeErrorResponseType::ExpiredToken => (
                    FailureKind::SignInIncomplete,
                    "the device code expired before anyone approved it".to_string(),
                ),
                DeviceCodeErrorResponseType::Basic(b) if b.as_ref() == "authorization_declined" => {
                    (
                        FailureKind::SignInIncomplete,
                        "the sign-in was declined".to_string(),
                    )
                }
                other => (
                    FailureKind::TokenRejected,
                    format!(
                        "the identity provider refused the device code: {}",
                        other.as_ref()
                    ),
                ),
            };
            let ids = r
                .error_description()
                .map(|d| crate::outcome::ProviderIds::from_description(d))
                .unwrap_or_default();
            failure(kind, message)
                .with_reply(provider_reply(&r))
                .with_provider_ids(ids)
        }
        RequestTokenError::Request(e) => transport_error("device-code poll", e),
        RequestTokenError::Parse(err, body) => parse_failure("device-code poll", err, &body),
        RequestTokenError::Other(s) => failure(
            FailureKind::SignInIncomplete,
            format!("nobody approved the device code in time ({s})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_that_ends_says_which_limit_ran_out() {
        let wait = Duration::from_secs(20);
        let login = device_wait_ended(wait, Some(Duration::from_secs(900)));
        assert!(login.message.contains("--login-wait (20 s)"), "{login:?}");
        assert!(
            login.message.contains("stayed valid for 900 s"),
            "{login:?}"
        );
        let expired = device_wait_ended(wait, Some(Duration::from_secs(10)));
        assert!(expired.message.contains("lifetime of 10 s"), "{expired:?}");
        // The provider gave no lifetime: none is made up.
        let unknown = device_wait_ended(wait, None);
        assert!(
            unknown.message.contains("--login-wait (20 s)"),
            "{unknown:?}"
        );
        assert!(unknown.message.contains("did not say"), "{unknown:?}");
        assert!(!unknown.message.contains("lifetime of"), "{unknown:?}");
    }
}
