//! The identity platform's errors: the AADSTS catalogue the mock emits and Microsoft's
//! two renderings of one — the token endpoint's JSON and the sign-in page's HTML.
//!
//! ```text
//! HTTP/1.1 401 Unauthorized            (invalid_client; every other error is 400)
//! {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret
//!  provided. …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: 2026-11-23 18:22:00Z",
//!  "error_codes":[7000215],"timestamp":"2026-11-23 18:22:00Z","trace_id":"…",
//!  "correlation_id":"…","error_uri":"https://login.microsoftonline.com/error?code=7000215"}
//! ```
//! Texts marked "reference E1" are verbatim from observed Entra responses; the others are
//! the mock's best honest wording (UNCONFIRMED) and say so in a comment.

use serde_json::Value;

/// One AADSTS error: the OAuth `error` value, the number and the message after
/// `AADSTSnnnn: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AadError {
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

/// Per-response ids and time of an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorIds {
    pub trace_id: String,
    pub correlation_id: String,
    /// `2026-11-23 18:22:00Z`.
    pub timestamp: String,
}

impl AadError {
    fn new(error: &'static str, code: u32, message: impl Into<String>) -> AadError {
        AadError {
            error,
            code,
            message: message.into(),
        }
    }

    /// 401 for `invalid_client` (RFC 6749 §5.2), 500 for the mock's own failures, 400
    /// otherwise.
    pub fn status(&self) -> u16 {
        match self.error {
            "invalid_client" => 401,
            "server_error" => 500,
            _ => 400,
        }
    }

    /// `AADSTSnnnn: message`.
    pub fn line(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }

    /// `error_description`: the line, then trace id, correlation id and timestamp.
    pub fn description(&self, ids: &ErrorIds) -> String {
        format!(
            "{}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.line(),
            ids.trace_id,
            ids.correlation_id,
            ids.timestamp
        )
    }

    /// The token endpoint's JSON error body, members in Microsoft's order.
    pub fn to_json(&self, ids: &ErrorIds) -> String {
        let s = |text: &str| Value::from(text).to_string();
        format!(
            "{{\"error\":{},\"error_description\":{},\"error_codes\":[{}],\"timestamp\":{},\
             \"trace_id\":{},\"correlation_id\":{},\"error_uri\":{}}}",
            s(self.error),
            s(&self.description(ids)),
            self.code,
            s(&ids.timestamp),
            s(&ids.trace_id),
            s(&ids.correlation_id),
            s(&format!(
                "https://login.microsoftonline.com/error?code={}",
                self.code
            ))
        )
    }

    /// The sign-in page shown instead of a redirect (bad tenant, client or redirect URI).
    pub fn to_html(&self, ids: &ErrorIds) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\n\
             <body><h1>Sorry, but we're having trouble signing you in.</h1>\n<p>{}</p>\n\
             <p>Request Id: {}<br>Correlation Id: {}<br>Timestamp: {}</p></body></html>\n",
            html_escape(&self.line()),
            html_escape(&ids.trace_id),
            html_escape(&ids.correlation_id),
            html_escape(&ids.timestamp)
        )
    }
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---- tenant, client, request shape -------------------------------------------------------

/// Reference E1 (azure-cli#22145).
pub(crate) fn tenant_not_found(tenant: &str) -> AadError {
    AadError::new(
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are \
             signing into the correct cloud. Check with your subscription administrator, this may \
             happen if there are no active subscriptions for the tenant."
        ),
    )
}

/// UNCONFIRMED text: client credentials on `/common` or `/organizations`.
pub(crate) fn no_tenant_for_app_only() -> AadError {
    AadError::new(
        "invalid_request",
        50059,
        "No tenant-identifying information found in either the request or implied by any \
         provided credentials.",
    )
}

/// Reference E1 (azure-docs#21690).
pub(crate) fn app_not_found(client_id: &str, directory: &str) -> AadError {
    AadError::new(
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory \
             '{directory}'. This can happen if the application has not been installed by the \
             administrator of the tenant or consented to by any user in the tenant. You may have \
             sent your authentication request to the wrong tenant."
        ),
    )
}

/// UNCONFIRMED wording of the well-known AADSTS900144 pattern.
pub(crate) fn missing_parameter(name: &str) -> AadError {
    AadError::new(
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// UNCONFIRMED text.
pub(crate) fn unsupported_grant_type(grant_type: &str) -> AadError {
    AadError::new(
        "unsupported_grant_type",
        70003,
        format!("The app requested an unsupported grant type '{grant_type}'."),
    )
}

/// UNCONFIRMED text (authorize with `response_type` other than `code`).
pub(crate) fn unsupported_response_type(response_type: &str) -> AadError {
    AadError::new(
        "unsupported_response_type",
        700054,
        format!(
            "response_type '{response_type}' is not enabled for the application. This mock \
             supports response_type=code only."
        ),
    )
}

/// The mock could not sign a token (its key is unusable); never expected.
pub(crate) fn server_error(detail: &str) -> AadError {
    AadError::new(
        "server_error",
        50000,
        format!("There was an error issuing a token: {detail}"),
    )
}

// ---- client authentication ---------------------------------------------------------------

/// Reference E1 (microsoft-365-agents-toolkit#8621).
pub(crate) fn invalid_secret(client_id: &str) -> AadError {
    AadError::new(
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the \
             client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    )
}

/// Reference E1 (dotnet/sign#849).
pub(crate) fn expired_secret(client_id: &str) -> AadError {
    AadError::new(
        "invalid_client",
        7000222,
        format!(
            "The provided client secret keys for app '{client_id}' are expired. Visit the Azure \
             portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider \
             using certificate credentials for added security: https://aka.ms/certCreds."
        ),
    )
}

/// Reference E1 ([AADSTS] table).
pub(crate) fn public_client_with_credential() -> AadError {
    AadError::new(
        "invalid_client",
        700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    )
}

/// Reference E1 ([AADSTS] table).
pub(crate) fn credential_required() -> AadError {
    AadError::new(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or \
         'client_secret'.",
    )
}

/// UNCONFIRMED text: `client_assertion_type` is not jwt-bearer.
pub(crate) fn bad_assertion_type() -> AadError {
    AadError::new(
        "invalid_request",
        7000219,
        "'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    )
}

/// `detail` after "Invalid JWT token. ". The no-thumbprint text is reference E1
/// (MSAL.NET#124); the others are UNCONFIRMED.
pub(crate) fn invalid_assertion(detail: &str) -> AadError {
    AadError::new(
        "invalid_request",
        50027,
        format!("Invalid JWT token. {detail}"),
    )
}

/// UNCONFIRMED text.
pub(crate) fn unsupported_assertion_alg(alg: &str) -> AadError {
    AadError::new(
        "invalid_request",
        5002738,
        format!(
            "Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing \
             algorithms are: 'RS256, PS256'"
        ),
    )
}

/// Reference E1 (MSAL-js#8339; the part after "app Id" is shortened, UNCONFIRMED).
pub(crate) fn certificate_not_registered(thumbprint_hex: &str, client_id: &str) -> AadError {
    AadError::new(
        "invalid_client",
        700027,
        format!(
            "The certificate with identifier used to sign the client assertion is not registered \
             on application. [Reason - The key was not found., Thumbprint of key used by client: \
             '{thumbprint_hex}', Please visit the Azure Portal, Graph Explorer or directly use MS \
             Graph to see configured keys for app Id '{client_id}'.]"
        ),
    )
}

/// Reference E1 (azure-sdk-for-java#25109); dates as `MM/DD/YYYY hh:mm:ss`.
pub(crate) fn bad_assertion_signature(thumbprint_hex: &str, start: &str, end: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        50013,
        format!(
            "Assertion failed signature validation. [Reason - The provided signature value did \
             not match the expected signature value., Thumbprint of key used by client: \
             '{thumbprint_hex}', Found key 'Start={start}, End={end}']"
        ),
    )
}

/// Reference E1 ([AADSTS] table).
pub(crate) fn subject_mismatch() -> AadError {
    AadError::new(
        "invalid_client",
        50048,
        "Subject mismatches Issuer claim in the client assertion.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn assertion_client_mismatch() -> AadError {
    AadError::new(
        "invalid_client",
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn assertion_audience(expected: &str) -> AadError {
    AadError::new(
        "invalid_client",
        700023,
        format!(
            "Client assertion audience claim does not match Realm issuer. Expected audience \
             '{expected}'."
        ),
    )
}

/// UNCONFIRMED text.
pub(crate) fn assertion_time(now: &str, nbf: &str, exp: &str) -> AadError {
    AadError::new(
        "invalid_client",
        700024,
        format!(
            "Client assertion is not within its valid time range. Current time: {now}, assertion \
             valid from {nbf}, expiry time of assertion {exp}."
        ),
    )
}

// ---- scopes and consent ------------------------------------------------------------------

/// Reference E1 (msgraph-sdk-python#181).
pub(crate) fn client_credentials_scope(scope: &str) -> AadError {
    AadError::new(
        "invalid_scope",
        1002012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have \
             a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}

/// Reference E1 ([AADSTS] sample).
pub(crate) fn invalid_scope(scope: &str) -> AadError {
    AadError::new(
        "invalid_scope",
        70011,
        format!(
            "The provided value for the input parameter 'scope' isn't valid. The scope {scope} \
             isn't valid."
        ),
    )
}

/// UNCONFIRMED text.
pub(crate) fn multiple_resources(scope: &str) -> AadError {
    AadError::new(
        "invalid_scope",
        28000,
        format!(
            "Provided value for the input parameter scope is not valid because it contains more \
             than one resource. Scope {scope} is not valid."
        ),
    )
}

/// Reference E1 (pnp/sp-starter-kit#428).
pub(crate) fn resource_not_found(resource: &str, tenant: &str) -> AadError {
    AadError::new(
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. \
             This can happen if the application has not been installed by the administrator of the \
             tenant or consented to by any user in the tenant. You might have sent your \
             authentication request to the wrong tenant."
        ),
    )
}

/// Reference E1 (CIPP#1716).
pub(crate) fn consent_required(client_id: &str, name: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID \
             '{client_id}' named '{name}'. Send an interactive authorization request for this \
             user and resource."
        ),
    )
}

// ---- authorization code ------------------------------------------------------------------

/// UNCONFIRMED text (the usual Entra wording).
pub(crate) fn redirect_uri_mismatch(redirect_uri: &str, client_id: &str) -> AadError {
    AadError::new(
        "invalid_request",
        50011,
        format!(
            "The redirect URI '{redirect_uri}' specified in the request does not match the \
             redirect URIs configured for the application '{client_id}'. Make sure the redirect \
             URI sent in the request matches one added to your application in the Azure portal. \
             Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix \
             this."
        ),
    )
}

/// The first sentence is Entra's (SPA) text; the second says what the mock requires.
pub(crate) fn pkce_required() -> AadError {
    AadError::new(
        "invalid_request",
        9002325,
        "Proof Key for Code Exchange is required for cross-origin authorization code redemption. \
         This mock requires code_challenge with code_challenge_method=S256 from public clients.",
    )
}

/// UNCONFIRMED text: `login_hint` names no user.
pub(crate) fn user_not_found(user: &str, tenant: &str) -> AadError {
    AadError::new(
        "invalid_request",
        50034,
        format!(
            "The user account {user} does not exist in the '{tenant}' directory. To sign into this \
             application, the account must be added to the directory."
        ),
    )
}

/// UNCONFIRMED text: no `login_hint`, no default user.
pub(crate) fn no_user_signed_in() -> AadError {
    AadError::new(
        "login_required",
        50058,
        "A silent sign-in request was sent but no user is signed in.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn invalid_code() -> AadError {
    AadError::new(
        "invalid_grant",
        70000,
        "The provided value for the 'code' parameter is not valid.",
    )
}

/// [AADSTS] table wording.
pub(crate) fn code_already_redeemed() -> AadError {
    AadError::new(
        "invalid_grant",
        54005,
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use \
         an existing refresh token.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn code_expired() -> AadError {
    AadError::new(
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity. Send a \
         new interactive authorization request for this user and resource.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn redirect_uri_differs(redeemed: &str, authorized: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        500112,
        format!(
            "The reply address '{redeemed}' does not match the reply address '{authorized}' \
             provided when requesting Authorization code."
        ),
    )
}

/// Text as given by the brief (Entra's AADSTS501481).
pub(crate) fn code_verifier_mismatch() -> AadError {
    AadError::new(
        "invalid_grant",
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    )
}

// ---- refresh tokens ----------------------------------------------------------------------

/// [AADSTS] table wording (AADSTS700082).
pub(crate) fn refresh_token_invalid() -> AadError {
    AadError::new(
        "invalid_grant",
        700082,
        "The refresh token has expired due to inactivity. The token was issued on an unknown date \
         or has been revoked; sign in again.",
    )
}

/// UNCONFIRMED text.
pub(crate) fn grant_for_other_client() -> AadError {
    AadError::new(
        "invalid_grant",
        70000,
        "Provided grant is invalid or malformed: it was issued to a different client.",
    )
}

// ---- policy refusals ([faults] token_error) -----------------------------------------------

/// Reference E1 ([AADSTS] table, BlockedByConditionalAccess); `error` as given by the brief.
pub(crate) fn blocked_by_conditional_access() -> AadError {
    AadError::new(
        "invalid_grant",
        53003,
        "Access has been blocked by Conditional Access policies. The access policy does not \
         allow token issuance.",
    )
}

/// Reference E1 ([AADSTS] table, BlockedBySecurityDefaults). The `error` value is
/// UNCONFIRMED (the table has none); `invalid_grant` like the other policy refusals.
pub(crate) fn blocked_by_security_defaults() -> AadError {
    AadError::new(
        "invalid_grant",
        530035,
        "Access has been blocked by security defaults. This is due to the request using legacy \
         auth or being deemed unsafe by security defaults policies.",
    )
}

/// Entra's AADSTS50076 text (as given by the brief); `resource` is the resource's app id,
/// e.g. `00000002-0000-0ff1-ce00-000000000000` for Exchange Online.
pub(crate) fn mfa_required(resource: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        50076,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to a \
             new location, you must use multi-factor authentication to access '{resource}'."
        ),
    )
}

/// Entra's usual AADSTS700082 wording (UNCONFIRMED verbatim); `issued` like
/// `2026-02-20T18:22:00.0000000Z`.
pub(crate) fn refresh_token_expired(issued: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        700082,
        format!(
            "The refresh token has expired due to inactivity. The token was issued on {issued} \
             and was inactive for 90.00:00:00."
        ),
    )
}

/// Entra's AADSTS70043 wording as Microsoft Q&A quotes it (placeholders filled in):
/// Conditional Access sign-in frequency ended the refresh token.
pub(crate) fn sign_in_frequency(issued: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        70043,
        format!(
            "The refresh token has expired or is invalid due to sign-in frequency checks by \
             conditional access. The token was issued on {issued} and the maximum allowed \
             lifetime for this request is 28800."
        ),
    )
}

/// Entra's AADSTS50173 wording (learn.microsoft.com troubleshooting article): the grant was
/// revoked, most often by a password change or reset.
pub(crate) fn grant_revoked(issued: &str, valid_from: &str) -> AadError {
    AadError::new(
        "invalid_grant",
        50173,
        format!(
            "The provided grant has expired due to it being revoked, a fresh auth token is \
             needed. The user might have changed or reset their password. The grant was issued \
             on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for \
             this user is '{valid_from}'."
        ),
    )
}

// ---- device code -------------------------------------------------------------------------

/// Reference A2 (learn.microsoft.com answers 981553).
pub(crate) fn authorization_pending() -> AadError {
    AadError::new(
        "authorization_pending",
        70016,
        "The provided request has not yet been authorized by the user. The user must input their \
         code.",
    )
}

/// UNCONFIRMED: Entra's device-code doc does not list slow_down; RFC 8628 §3.5 does.
pub(crate) fn slow_down(interval_secs: u64) -> AadError {
    AadError::new(
        "slow_down",
        70016,
        format!(
            "The client is polling too frequently. Wait at least {interval_secs} seconds between \
             token requests (RFC 8628 slow_down)."
        ),
    )
}

/// UNCONFIRMED pairing of `authorization_declined` with AADSTS65004's text.
pub(crate) fn authorization_declined() -> AadError {
    AadError::new(
        "authorization_declined",
        65004,
        "User declined to consent to access the app.",
    )
}

/// [AADSTS] table: 70019 CodeExpired.
pub(crate) fn device_code_expired() -> AadError {
    AadError::new(
        "expired_token",
        70019,
        "Verification code expired. The user did not enter the code in time; request a new \
         device code.",
    )
}

/// [AADSTS] table: 70018 BadVerificationCode (wording adapted, UNCONFIRMED).
pub(crate) fn bad_device_code() -> AadError {
    AadError::new(
        "bad_verification_code",
        70018,
        "Invalid verification code. The device_code was not recognized (unknown, already \
         redeemed, or issued to another client).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> ErrorIds {
        ErrorIds {
            trace_id: "0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
            correlation_id: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a".to_owned(),
            timestamp: "2026-11-23 18:22:00Z".to_owned(),
        }
    }

    #[test]
    fn json_has_microsofts_shape() {
        let e = invalid_secret("66666666-7777-8888-9999-000000000000");
        assert_eq!(e.status(), 401);
        let body = e.to_json(&ids());
        assert_eq!(
            body,
            "{\"error\":\"invalid_client\",\
             \"error_description\":\"AADSTS7000215: Invalid client secret provided. Ensure the secret \
             being sent in the request is the client secret value, not the client secret ID, for a \
             secret added to app '66666666-7777-8888-9999-000000000000'.\\r\\nTrace ID: \
             0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b\\r\\nCorrelation ID: \
             9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\\r\\nTimestamp: 2026-11-23 18:22:00Z\",\
             \"error_codes\":[7000215],\
             \"timestamp\":\"2026-11-23 18:22:00Z\",\
             \"trace_id\":\"0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b\",\
             \"correlation_id\":\"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\",\
             \"error_uri\":\"https://login.microsoftonline.com/error?code=7000215\"}"
        );
        let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["error_codes"][0], 7000215);
        assert_eq!(authorization_pending().status(), 400);
        assert_eq!(tenant_not_found("x").status(), 400);
        assert_eq!(app_not_found("a", "b").error, "unauthorized_client");
    }

    #[test]
    fn html_page_escapes() {
        let page = redirect_uri_mismatch("http://x/<script>", "id").to_html(&ids());
        assert!(page.contains("AADSTS50011: The redirect URI &#39;http://x/&lt;script&gt;&#39;"));
        assert!(!page.contains("<script>"));
    }
}
