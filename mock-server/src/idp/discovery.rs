//! The OpenID Connect discovery document (OpenID Connect Discovery 1.0 §4, RFC 8414), where
//! Entra serves it, with Entra's quirk kept: the `issuer` names the tenant id whatever name the
//! URL used (and a literal `{tenantid}` for `common` / `organizations`), so a client that
//! checks the issuer as the specification says refuses a document fetched by domain name.
//! I/O-free.
//!
//! ```text
//! GET /{tenant}/v2.0/.well-known/openid-configuration
//!   → {"issuer":"{base}/{tenant id}/v2.0","authorization_endpoint":…,"token_endpoint":…,
//!      "device_authorization_endpoint":…, …}
//!   → 400 AADSTS90002 JSON for an unknown tenant
//! ```

use serde_json::json;

use super::errors::{self, AadError};
use super::{Idp, TenantRef};

/// The document for `tenant`.
pub(crate) fn document(idp: &Idp, tenant: &str) -> Result<String, AadError> {
    let id = match idp.tenant(tenant) {
        None => return Err(errors::tenant_not_found(tenant)),
        Some(TenantRef::Own) => idp.ctx.idp.tenant_id.clone(),
        Some(TenantRef::Multi) => "{tenantid}".to_owned(),
    };
    // Endpoints keep the segment as asked, as Entra's do.
    let endpoint = |name: &str| format!("{}/{tenant}/oauth2/v2.0/{name}", idp.base_url);
    Ok(json!({
        "issuer": format!("{}/{id}/v2.0", idp.base_url),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "device_authorization_endpoint": endpoint("devicecode"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "code_challenge_methods_supported": ["S256", "plain"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string())
}
