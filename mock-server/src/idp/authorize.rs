//! The authorization endpoint with auto-consent: a valid request is answered at once with a
//! redirect carrying a one-time code, as if the user had signed in and agreed. I/O-free.
//!
//! ```text
//! GET /{tenant}/oauth2/v2.0/authorize?client_id=…&response_type=code&redirect_uri=…&scope=…
//!     &state=…&code_challenge=…&code_challenge_method=S256[&login_hint=…][&prompt=…]
//!   → 302 Location: {redirect_uri}?code=…&state=…
//!   → 302 Location: {redirect_uri}?error=consent_required&error_description=AADSTS65001…&state=…
//!   → 400 text/html "AADSTS50011: …"  (tenant, client or redirect URI wrong: no redirect)
//! ```
//! Redirect URIs match as Entra does for public clients: a registered `http://localhost`
//! accepts `http://localhost:<port>` and `http://127.0.0.1:<port>` (path equal, `/` = empty);
//! a registered loopback IP literal (`http://127.0.0.1/callback`, `http://[::1]/cb`) accepts
//! any port on the same address, as RFC 8252 §7.3 asks of every provider (path equal);
//! anything else must be equal. A wrong path is AADSTS50011, as a standards-following provider
//! answers 400 to it.

use super::Idp;
use super::errors::{self, AadError, ErrorIds};
use super::params::{self, Params};
use super::pkce::Method;
use super::scopes::{Requested, ScopeError};

/// Lifetime of an authorization code.
pub(crate) const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub user: String,
    pub challenge: Option<(String, Method)>,
    pub expires_ms: i64,
    pub redeemed: bool,
}

/// The endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 302 to this URL.
    Redirect(String),
    /// 400 with the error page.
    Page(AadError),
}

/// Handles one authorization request.
pub(crate) fn authorize(
    idp: &Idp,
    tenant: &str,
    params: &Params,
    now_ms: i64,
    ids: &ErrorIds,
) -> Outcome {
    if idp.tenant(tenant).is_none() {
        return Outcome::Page(errors::tenant_not_found(tenant));
    }
    let directory = &idp.ctx.directory;
    let Some(client_id) = params.non_empty("client_id") else {
        return Outcome::Page(errors::missing_parameter("client_id"));
    };
    let Some(app) = directory.app(client_id) else {
        return Outcome::Page(errors::app_not_found(
            client_id,
            &idp.directory_name(tenant),
        ));
    };
    let Some(redirect_uri) = params.non_empty("redirect_uri") else {
        return Outcome::Page(errors::missing_parameter("redirect_uri"));
    };
    if !app
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(r, redirect_uri))
    {
        return Outcome::Page(errors::redirect_uri_mismatch(redirect_uri, &app.client_id));
    }

    // From here on, errors go back to the (valid) redirect URI.
    let state = params.get("state");
    let fail = |error: &str, e: AadError| {
        let description = e.description(ids);
        let mut pairs = vec![
            ("error", error),
            ("error_description", description.as_str()),
        ];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        Outcome::Redirect(with_query(redirect_uri, &params::encode(&pairs)))
    };

    let response_type = params.get("response_type").unwrap_or_default();
    if response_type != "code" {
        return fail(
            "unsupported_response_type",
            errors::unsupported_response_type(response_type),
        );
    }
    let scope = params.get("scope").unwrap_or_default();
    let requested = match Requested::parse(scope) {
        Ok(r) => r,
        Err(e) => {
            let e = scope_error(e, scope, &idp.directory_name(tenant));
            return fail(e.error, e);
        }
    };
    let challenge = match params.non_empty("code_challenge") {
        None if app.public_client => return fail("invalid_request", errors::pkce_required()),
        None => None,
        Some(challenge) => match Method::parse(params.get("code_challenge_method")) {
            Some(Method::Plain) if app.public_client => {
                return fail("invalid_request", errors::pkce_required());
            }
            Some(method) => Some((challenge.to_owned(), method)),
            None => return fail("invalid_request", errors::pkce_required()),
        },
    };
    let user = match params.non_empty("login_hint") {
        Some(hint) => match directory.user(hint) {
            Some(u) => u.address.clone(),
            None => {
                return fail(
                    "invalid_request",
                    errors::user_not_found(hint, &idp.directory_name(tenant)),
                );
            }
        },
        None => {
            let default = idp
                .ctx
                .idp
                .default_user
                .as_deref()
                .and_then(|u| directory.user(u));
            match default.or_else(|| directory.first_user()) {
                Some(u) => u.address.clone(),
                None => return fail("login_required", errors::no_user_signed_in()),
            }
        }
    };
    if !requested.unconsented(&app.delegated_consent).is_empty() {
        return fail(
            "consent_required",
            errors::consent_required(&app.client_id, &app.name),
        );
    }

    let code = crate::ids::opaque("1.AXoAVSoMjx5bLEydOgwfLj1KWw.");
    idp.store_code(
        code.clone(),
        AuthCode {
            client_id: app.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.to_owned(),
            user,
            challenge,
            expires_ms: now_ms + CODE_LIFETIME_MS,
            redeemed: false,
        },
        now_ms,
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    Outcome::Redirect(with_query(redirect_uri, &params::encode(&pairs)))
}

/// The AADSTS error for a bad `scope` parameter.
pub(crate) fn scope_error(e: ScopeError, scope: &str, tenant_name: &str) -> AadError {
    match e {
        ScopeError::Empty => errors::missing_parameter("scope"),
        ScopeError::Invalid(_) => errors::invalid_scope(scope),
        ScopeError::MultipleResources => errors::multiple_resources(scope),
        ScopeError::UnknownResource(r) => errors::resource_not_found(&r, tenant_name),
    }
}

/// Appends `query` with `?` or `&`.
fn with_query(uri: &str, query: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// Whether `requested` may be used for the registered redirect URI `registered`.
pub(crate) fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Some(reg), Some(req)) = (split_http(registered), split_http(requested)) else {
        return false;
    };
    let loopback = |host: &str| host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1";
    let hosts_match = if reg.host.eq_ignore_ascii_case("localhost") {
        loopback(req.host)
    } else {
        (reg.host == "127.0.0.1" || reg.host == "[::1]") && reg.host == req.host
    };
    reg.scheme == "http"
        && req.scheme == "http"
        && hosts_match
        && reg.path.trim_end_matches('/') == req.path.trim_end_matches('/')
}

struct HttpUri<'a> {
    scheme: &'a str,
    host: &'a str,
    path: &'a str,
}

/// `http://host[:port][/path]` → parts; the port must be digits.
fn split_http(uri: &str) -> Option<HttpUri<'_>> {
    let (scheme, rest) = uri.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // `[::1]:8080`: the port follows the bracket.
    let port_from = authority.rfind(']').unwrap_or(0);
    let host = match authority[port_from..].rfind(':').map(|i| port_from + i) {
        Some(i) => {
            let port = &authority[i + 1..];
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            &authority[..i]
        }
        None => authority,
    };
    if host.is_empty() || path.contains(['?', '#']) {
        return None;
    }
    Some(HttpUri { scheme, host, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_matches_any_port() {
        let r = "http://localhost";
        assert!(redirect_matches(r, "http://localhost"));
        assert!(redirect_matches(r, "http://localhost:53682"));
        assert!(redirect_matches(r, "http://localhost:53682/"));
        assert!(redirect_matches(r, "http://127.0.0.1:40000"));
        assert!(redirect_matches(r, "http://LOCALHOST:1/"));
        assert!(!redirect_matches(r, "http://localhost:53682/callback"));
        assert!(!redirect_matches(r, "https://localhost:53682"));
        assert!(!redirect_matches(r, "http://localhost.evil.example:1"));
        assert!(!redirect_matches(r, "http://[::1]:1"));
        assert!(!redirect_matches(r, "http://localhost:x"));
        let cb = "http://localhost/callback";
        assert!(redirect_matches(cb, "http://127.0.0.1:9/callback"));
        assert!(!redirect_matches(cb, "http://127.0.0.1:9/"));
        // RFC 8252 §7.3: a loopback IP literal, any port, the same address and path.
        let ip = "http://127.0.0.1/callback";
        assert!(redirect_matches(ip, "http://127.0.0.1:53682/callback"));
        assert!(redirect_matches(ip, "http://127.0.0.1/callback"));
        assert!(!redirect_matches(ip, "http://127.0.0.1:53682"));
        assert!(!redirect_matches(ip, "http://127.0.0.1:53682/other"));
        assert!(!redirect_matches(ip, "http://localhost:53682/callback"));
        assert!(!redirect_matches(ip, "http://[::1]:53682/callback"));
        let v6 = "http://[::1]/x";
        assert!(redirect_matches(v6, "http://[::1]:9/x"));
        assert!(!redirect_matches(v6, "http://127.0.0.1:9/x"));
        assert!(!redirect_matches(v6, "http://[::1]:x/x"));
        let exact = "https://app.example/cb";
        assert!(redirect_matches(exact, "https://app.example/cb"));
        assert!(!redirect_matches(exact, "https://app.example:444/cb"));
        assert!(!redirect_matches(exact, "https://app.example/cb2"));
    }

    #[test]
    fn query_is_appended() {
        assert_eq!(
            with_query("http://localhost:1", "code=x"),
            "http://localhost:1?code=x"
        );
        assert_eq!(
            with_query("http://x/?a=1", "code=x"),
            "http://x/?a=1&code=x"
        );
    }
}
