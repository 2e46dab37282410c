//! The token endpoint: one function per grant type, each answering with the success JSON or
//! an AADSTS error. I/O-free apart from the shared grant stores; times are Unix ms.
//!
//! ```text
//! POST /{tenant}/oauth2/v2.0/token   (application/x-www-form-urlencoded)
//!   grant_type=authorization_code  code, redirect_uri, code_verifier      (+ client auth)
//!   grant_type=urn:ietf:params:oauth:grant-type:device_code  device_code
//!   grant_type=client_credentials  scope=<resource>/.default              (secret | assertion)
//!   grant_type=refresh_token       refresh_token [, scope]
//! → {"token_type":"Bearer","scope":…,"expires_in":3599,"ext_expires_in":3599,
//!    "access_token":…[,"refresh_token":…][,"id_token":…]}
//! ```
//! Order of checks: tenant, grant type, client (700016), credential, then the grant, then
//! the injected `[[faults.token_error]]` refusals (`faults.rs`).

use serde_json::Value;

use super::authorize::scope_error;
use super::client_auth::{self, Authenticated, Presented};
use super::device::Poll;
use super::errors::{self, AadError};
use super::faults::{self, Grant, Redemption};
use super::mint::{self, Issue, Subject};
use super::params::Params;
use super::pkce;
use super::scopes::Requested;
use super::{Idp, TenantRef};
use crate::keys;

pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A refresh token's grant.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub user: String,
    /// The scope of the grant, as requested.
    pub scope: String,
}

/// One token request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRequest<'a> {
    /// `{tenant}` of the path.
    pub tenant: &'a str,
    pub params: &'a Params,
    pub now_ms: i64,
}

/// Answers a token request: the JSON success body, or an error.
pub(crate) fn token(
    idp: &Idp,
    req: &TokenRequest<'_>,
    presented: &Presented,
) -> Result<String, AadError> {
    let Some(tenant) = idp.tenant(req.tenant) else {
        return Err(errors::tenant_not_found(req.tenant));
    };
    let grant_type = req
        .params
        .non_empty("grant_type")
        .ok_or_else(|| errors::missing_parameter("grant_type"))?;
    let known = [
        "authorization_code",
        DEVICE_CODE_GRANT,
        "client_credentials",
        "refresh_token",
    ];
    if !known.contains(&grant_type) {
        return Err(errors::unsupported_grant_type(grant_type));
    }
    if grant_type == "client_credentials" && tenant == TenantRef::Multi {
        return Err(errors::no_tenant_for_app_only());
    }
    let now = req.now_ms / 1000;
    let client = client_auth::authenticate(
        presented,
        &idp.ctx.directory,
        &idp.directory_name(req.tenant),
        &idp.assertion_audiences(req.tenant),
        now,
    )?;
    match grant_type {
        "authorization_code" => authorization_code(idp, req, &client),
        "client_credentials" => client_credentials(idp, req, &client),
        "refresh_token" => refresh_token(idp, req, &client),
        _ => device_code(idp, req, &client),
    }
}

fn authorization_code(
    idp: &Idp,
    req: &TokenRequest<'_>,
    client: &Authenticated<'_>,
) -> Result<String, AadError> {
    let params = req.params;
    let code = params
        .non_empty("code")
        .ok_or_else(|| errors::missing_parameter("code"))?;
    let redeemed = idp.redeem_code(code).ok_or_else(errors::invalid_code)?;
    if redeemed.redeemed {
        return Err(errors::code_already_redeemed());
    }
    if redeemed.expires_ms <= req.now_ms {
        return Err(errors::code_expired());
    }
    if !redeemed
        .client_id
        .eq_ignore_ascii_case(&client.app.client_id)
    {
        return Err(errors::grant_for_other_client());
    }
    let redirect_uri = params.get("redirect_uri").unwrap_or_default();
    if redirect_uri != redeemed.redirect_uri {
        return Err(errors::redirect_uri_differs(
            redirect_uri,
            &redeemed.redirect_uri,
        ));
    }
    if let Some((challenge, method)) = &redeemed.challenge {
        let verifier = params.get("code_verifier").unwrap_or_default();
        if !pkce::verify(challenge, *method, verifier) {
            return Err(errors::code_verifier_mismatch());
        }
    }
    delegated(
        idp,
        req,
        client,
        Grant::AuthorizationCode,
        &redeemed.user,
        &redeemed.scope,
    )
}

fn device_code(
    idp: &Idp,
    req: &TokenRequest<'_>,
    client: &Authenticated<'_>,
) -> Result<String, AadError> {
    let device_code = req
        .params
        .non_empty("device_code")
        .ok_or_else(|| errors::missing_parameter("device_code"))?;
    match idp.poll_device_code(device_code, &client.app.client_id, req.now_ms) {
        Poll::Refused(e) => Err(e),
        Poll::Approved { user, scope } => {
            let requested = Requested::parse(&scope)
                .map_err(|e| scope_error(e, &scope, &idp.directory_name(req.tenant)))?;
            if !requested
                .unconsented(&client.app.delegated_consent)
                .is_empty()
            {
                return Err(errors::consent_required(
                    &client.app.client_id,
                    &client.app.name,
                ));
            }
            delegated(idp, req, client, Grant::DeviceCode, &user, &scope)
        }
    }
}

fn refresh_token(
    idp: &Idp,
    req: &TokenRequest<'_>,
    client: &Authenticated<'_>,
) -> Result<String, AadError> {
    let token = req
        .params
        .non_empty("refresh_token")
        .ok_or_else(|| errors::missing_parameter("refresh_token"))?;
    let grant = idp
        .refresh_grant(token)
        .ok_or_else(errors::refresh_token_invalid)?;
    if !grant.client_id.eq_ignore_ascii_case(&client.app.client_id) {
        return Err(errors::grant_for_other_client());
    }
    let scope = match req.params.non_empty("scope") {
        Some(scope) => {
            let requested = Requested::parse(scope)
                .map_err(|e| scope_error(e, scope, &idp.directory_name(req.tenant)))?;
            if !requested
                .unconsented(&client.app.delegated_consent)
                .is_empty()
            {
                return Err(errors::consent_required(
                    &client.app.client_id,
                    &client.app.name,
                ));
            }
            scope.to_owned()
        }
        None => grant.scope.clone(),
    };
    // A refresh always returns a new refresh token (the old one stays valid, as with Entra).
    let mut with_offline = scope.clone();
    if !scope
        .split_whitespace()
        .any(|s| s.eq_ignore_ascii_case("offline_access"))
    {
        with_offline.push_str(" offline_access");
    }
    delegated(
        idp,
        req,
        client,
        Grant::RefreshToken,
        &grant.user,
        &with_offline,
    )
}

fn client_credentials(
    idp: &Idp,
    req: &TokenRequest<'_>,
    client: &Authenticated<'_>,
) -> Result<String, AadError> {
    let scope = req
        .params
        .non_empty("scope")
        .ok_or_else(|| errors::missing_parameter("scope"))?;
    let items: Vec<&str> = scope.split_whitespace().collect();
    let single_default = items.len() == 1 && items[0].to_ascii_lowercase().ends_with("/.default");
    if !single_default {
        return Err(errors::client_credentials_scope(scope));
    }
    let requested = Requested::parse(scope)
        .map_err(|e| scope_error(e, scope, &idp.directory_name(req.tenant)))?;
    let injected = faults::refusal(
        &idp.ctx.faults,
        &Redemption {
            grant: Grant::ClientCredentials,
            client_id: &client.app.client_id,
            user: None,
            requested: &requested,
            tenant_name: &idp.directory_name(req.tenant),
            now: req.now_ms / 1000,
        },
    );
    if let Some(e) = injected {
        return Err(e);
    }
    let subject = Subject::App {
        client_id: client.app.client_id.clone(),
    };
    let access = idp.sign_access(&subject, &requested, client.appidacr, req.now_ms)?;
    Ok(success_json(scope, idp.lifetime(), &access, None, None))
}

/// Issues a delegated grant's tokens for `user` with `scope`.
fn delegated(
    idp: &Idp,
    req: &TokenRequest<'_>,
    client: &Authenticated<'_>,
    grant: Grant,
    user: &str,
    scope: &str,
) -> Result<String, AadError> {
    let tenant_name = idp.directory_name(req.tenant);
    let requested = Requested::parse(scope).map_err(|e| scope_error(e, scope, &tenant_name))?;
    let injected = faults::refusal(
        &idp.ctx.faults,
        &Redemption {
            grant,
            client_id: &client.app.client_id,
            user: Some(user),
            requested: &requested,
            tenant_name: &tenant_name,
            now: req.now_ms / 1000,
        },
    );
    if let Some(e) = injected {
        return Err(e);
    }
    let subject = Subject::User {
        address: user.to_owned(),
        client_id: client.app.client_id.clone(),
    };
    let access = idp.sign_access(&subject, &requested, client.appidacr, req.now_ms)?;
    let refresh = requested.offline_access.then(|| {
        idp.store_refresh(RefreshGrant {
            client_id: client.app.client_id.clone(),
            user: user.to_owned(),
            scope: scope.to_owned(),
        })
    });
    let id_token = if requested.openid {
        let key = keys::idp_signing_key().map_err(|e| errors::server_error(&e.to_string()))?;
        let token = mint::id_token(
            &idp.ctx.directory,
            &idp.ctx.idp.tenant_id,
            key,
            user,
            &client.app.client_id,
            req.now_ms / 1000,
            idp.lifetime(),
        )
        .map_err(|e| errors::server_error(&e.to_string()))?;
        Some(token)
    } else {
        None
    };
    let granted = requested.granted_delegated(&client.app.delegated_consent);
    Ok(success_json(
        &granted,
        idp.lifetime(),
        &access,
        refresh.as_deref(),
        id_token.as_deref(),
    ))
}

/// The success body, members in Entra's order; `expires_in` is a number.
pub(crate) fn success_json(
    scope: &str,
    expires_in: i64,
    access_token: &str,
    refresh_token: Option<&str>,
    id_token: Option<&str>,
) -> String {
    let s = |text: &str| Value::from(text).to_string();
    let mut body = format!(
        "{{\"token_type\":\"Bearer\",\"scope\":{},\"expires_in\":{expires_in},\"ext_expires_in\":{expires_in},\"access_token\":{}",
        s(scope),
        s(access_token)
    );
    if let Some(refresh) = refresh_token {
        body.push_str(&format!(",\"refresh_token\":{}", s(refresh)));
    }
    if let Some(id) = id_token {
        body.push_str(&format!(",\"id_token\":{}", s(id)));
    }
    body.push('}');
    body
}

/// Helper so `Issue` stays in one place.
pub(crate) fn issue<'a>(
    subject: &'a Subject,
    requested: &'a Requested,
    appidacr: &'static str,
    lifetime_secs: i64,
    now: i64,
) -> Issue<'a> {
    Issue {
        subject,
        requested,
        appidacr,
        lifetime_secs,
        now,
        delegated_audience: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::command_log::CommandLog;
    use crate::config::Config;
    use crate::context::Context;
    use crate::idp::authorize::{self, Outcome};
    use crate::idp::errors::ErrorIds;

    const PUBLIC: &str = "11111111-2222-3333-4444-555555555555";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn ids() -> ErrorIds {
        ErrorIds {
            trace_id: "t".to_owned(),
            correlation_id: "c".to_owned(),
            timestamp: "2026-11-23 18:22:00Z".to_owned(),
        }
    }

    /// Authorizes at `now_ms` and returns the code.
    fn code(idp: &Idp, now_ms: i64) -> String {
        let query = format!(
            "client_id={PUBLIC}&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A1\
             &scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        let params = Params::parse(query.as_bytes());
        match authorize::authorize(idp, "common", &params, now_ms, &ids()) {
            Outcome::Redirect(location) => {
                let q = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
                Params::parse(q.as_bytes())
                    .get("code")
                    .unwrap_or_default()
                    .to_owned()
            }
            Outcome::Page(e) => panic!("authorize failed: {e:?}"),
        }
    }

    fn redeem(idp: &Idp, code: &str, now_ms: i64) -> Result<String, u32> {
        let body = format!(
            "grant_type=authorization_code&client_id={PUBLIC}&code={code}\
             &redirect_uri=http%3A%2F%2Flocalhost%3A1&code_verifier={VERIFIER}"
        );
        let params = Params::parse(body.as_bytes());
        let presented = client_auth::presented(&params, None);
        let req = TokenRequest {
            tenant: "organizations",
            params: &params,
            now_ms,
        };
        token(idp, &req, &presented).map_err(|e| e.code)
    }

    #[test]
    fn codes_expire_after_ten_minutes() {
        let ctx = Context::new(&Config::demo(), CommandLog::default());
        let idp = Idp::new(Arc::new(ctx), "https://127.0.0.1:1".to_owned());
        let now = crate::clock::now_ms();
        let fresh = code(&idp, now);
        assert!(redeem(&idp, &fresh, now + 9 * 60 * 1000).is_ok());
        let stale = code(&idp, now);
        assert_eq!(redeem(&idp, &stale, now + 10 * 60 * 1000), Err(70008));
        assert_eq!(redeem(&idp, "unknown", now), Err(70000));
    }

    #[test]
    fn success_body_shape() {
        let body = success_json(
            "https://outlook.office365.com/.default",
            3599,
            "a.b.c",
            None,
            None,
        );
        assert_eq!(
            body,
            "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office365.com/.default\",\
             \"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"a.b.c\"}"
        );
        let body = success_json("x", 10, "t", Some("r"), Some("i"));
        let v: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["expires_in"], 10);
        assert_eq!(v["refresh_token"], "r");
        assert_eq!(v["id_token"], "i");
    }
}
