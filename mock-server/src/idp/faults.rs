//! `[[faults.token_error]]` at the token endpoint: whether this grant, for this user and
//! app, is refused with an injected AADSTS error (Conditional Access, security defaults,
//! MFA, a missing resource, an expired refresh token). Checked after the client and the
//! grant itself were found valid, just before tokens would be issued; for device code that
//! is when the approved code is redeemed. Pure.

use super::errors::{self, AadError};
use super::scopes::{GRAPH, Requested};
use crate::bearer::EXCHANGE_AUDIENCES;
use crate::faults::FaultsConfig;

/// The app id of Exchange Online's resource principal.
const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The app id of Microsoft Graph's resource principal.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// How old the refresh token of an injected AADSTS700082 claims to be.
const INACTIVE_SECS: i64 = 91 * 86_400;
/// The sign-in frequency an injected AADSTS70043 claims the tenant enforces.
const SIGN_IN_FREQUENCY_SECS: i64 = 8 * 3_600;

/// The grant being redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    AuthorizationCode,
    DeviceCode,
    RefreshToken,
    ClientCredentials,
}

/// What is being asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redemption<'a> {
    pub grant: Grant,
    pub client_id: &'a str,
    /// The signed-in user (delegated grants).
    pub user: Option<&'a str>,
    pub requested: &'a Requested,
    /// How error texts name the tenant.
    pub tenant_name: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// The injected refusal for this redemption, if any. AADSTS700082 only refuses refresh
/// tokens (a fresh sign-in still works); the other codes refuse every grant.
pub(crate) fn refusal(faults: &FaultsConfig, r: &Redemption<'_>) -> Option<AadError> {
    let code = faults.token_error(r.client_id, r.user)?;
    match code {
        53003 => Some(errors::blocked_by_conditional_access()),
        530035 => Some(errors::blocked_by_security_defaults()),
        50076 => Some(errors::mfa_required(resource_app_id(r.requested.audience))),
        500011 => Some(errors::resource_not_found(
            r.requested.audience,
            r.tenant_name,
        )),
        700082 if r.grant == Grant::RefreshToken => Some(errors::refresh_token_expired(
            &crate::clock::iso_timestamp(r.now - INACTIVE_SECS),
        )),
        70043 if r.grant == Grant::RefreshToken => Some(errors::sign_in_frequency(
            &crate::clock::iso_timestamp(r.now - SIGN_IN_FREQUENCY_SECS - 60),
        )),
        50173 if r.grant == Grant::RefreshToken => Some(errors::grant_revoked(
            &crate::clock::iso_timestamp(r.now - 3_600),
            &crate::clock::iso_timestamp(r.now - 60),
        )),
        _ => None,
    }
}

/// The resource principal's app id, as AADSTS50076 names it.
fn resource_app_id(audience: &str) -> &str {
    if EXCHANGE_AUDIENCES.contains(&audience) {
        EXCHANGE_APP_ID
    } else if audience == GRAPH {
        GRAPH_APP_ID
    } else {
        audience
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn faults(rules: &str) -> FaultsConfig {
        let toml = format!(
            "[[mailbox]]\naddress = \"a@b.c\"\n[[app]]\n\
             client_id = \"11111111-2222-3333-4444-000000000000\"\nname = \"x\"\n{rules}"
        );
        Config::from_toml_str(&toml).expect("valid").faults
    }

    fn code(faults: &FaultsConfig, grant: Grant, user: Option<&str>, scope: &str) -> Option<u32> {
        let requested = Requested::parse(scope).expect("scope");
        let r = Redemption {
            grant,
            client_id: "11111111-2222-3333-4444-000000000000",
            user,
            requested: &requested,
            tenant_name: "b.c",
            now: 1_795_458_120,
        };
        refusal(faults, &r).map(|e| e.code)
    }

    #[test]
    fn user_and_app_rules() {
        let imap = "https://outlook.office.com/IMAP.AccessAsUser.All";
        let f = faults("[[faults.token_error]]\nuser = \"a@b.c\"\ncode = 50076\n");
        assert_eq!(
            code(&f, Grant::AuthorizationCode, Some("A@B.C"), imap),
            Some(50076)
        );
        assert_eq!(code(&f, Grant::ClientCredentials, None, imap), None);
        let requested = Requested::parse(imap).expect("scope");
        let r = Redemption {
            grant: Grant::DeviceCode,
            client_id: "x",
            user: Some("a@b.c"),
            requested: &requested,
            tenant_name: "b.c",
            now: 0,
        };
        assert!(
            refusal(&f, &r)
                .expect("refused")
                .message
                .ends_with("to access '00000002-0000-0ff1-ce00-000000000000'.")
        );

        let f = faults(
            "[[faults.token_error]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\n\
             code = 700082\n",
        );
        assert_eq!(
            code(&f, Grant::AuthorizationCode, Some("a@b.c"), imap),
            None
        );
        assert_eq!(
            code(&f, Grant::RefreshToken, Some("a@b.c"), imap),
            Some(700082)
        );
        // The sign-in frequency and revoked-grant refusals, like 700082, end refresh tokens
        // only, with Entra's words.
        for (rule, words) in [
            (
                70043,
                "due to sign-in frequency checks by conditional access",
            ),
            (50173, "The user might have changed or reset their password"),
        ] {
            let f = faults(&format!(
                "[[faults.token_error]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\n\
                 code = {rule}\n"
            ));
            assert_eq!(
                code(&f, Grant::AuthorizationCode, Some("a@b.c"), imap),
                None
            );
            assert_eq!(
                code(&f, Grant::RefreshToken, Some("a@b.c"), imap),
                Some(rule)
            );
            let requested = Requested::parse(imap).expect("scope");
            let r = Redemption {
                grant: Grant::RefreshToken,
                client_id: "11111111-2222-3333-4444-000000000000",
                user: Some("a@b.c"),
                requested: &requested,
                tenant_name: "b.c",
                now: 1_795_458_120,
            };
            let refused = refusal(&f, &r).expect("refused");
            assert_eq!(refused.error, "invalid_grant");
            assert!(refused.message.contains(words), "{}", refused.message);
        }
        let f = faults(
            "[[faults.token_error]]\nclient_id = \"11111111-2222-3333-4444-000000000000\"\n\
             code = 500011\n",
        );
        let default = "https://outlook.office365.com/.default";
        assert_eq!(
            code(&f, Grant::ClientCredentials, None, default),
            Some(500011)
        );
    }
}
