//! A cached refresh token the identity provider refused for good (expired, revoked): which
//! rule ended it, in words an admin can act on, and the command that signs in again. Such an
//! entry is dropped from the cache, so no later run tries it again.

use super::input::{Flow, OAuthPlan};
use crate::outcome::{Failure, FailureKind};

/// Why the refresh token is finished, when `f` (the refresh's failure) says it is: Entra's
/// `invalid_grant` with its AADSTS code, or Google's `invalid_grant`. `None` for anything that
/// may pass on a retry (a network fault, a throttled or misconfigured request).
pub fn why(p: &OAuthPlan, f: &Failure) -> Option<String> {
    if f.kind != FailureKind::TokenRejected
        || !f.server_reply.iter().any(|l| l == "error: invalid_grant")
    {
        return None;
    }
    let codes = f
        .provider_ids
        .as_ref()
        .map(|ids| ids.error_codes.clone())
        .unwrap_or_default();
    let known = codes.iter().find_map(|code| {
        Some(match code {
            700082 => {
                "the refresh token expired because it was not used for too long (90 days \
                 by default; AADSTS700082, inactivity)"
            }
            70043 => {
                "the refresh token expired under the tenant's Conditional Access \
                      sign-in frequency, which asks for a new sign-in after a set time \
                      (AADSTS70043)"
            }
            50173 => {
                "the grant expired because the user's password was changed or their \
                      sessions were revoked (AADSTS50173)"
            }
            _ => return None,
        })
    });
    Some(match (known, codes.first()) {
        (Some(words), _) => words.to_string(),
        (None, Some(code)) => format!(
            "the identity provider refused the refresh token as expired or revoked \
             (invalid_grant, AADSTS{code})"
        ),
        (None, None) if p.authority.name == "google" => {
            "Google refused the refresh token (invalid_grant): it was revoked, the password was \
             changed, or the app's OAuth consent screen is in \"Testing\" publishing status, \
             whose refresh tokens expire after 7 days (publish the app \"In production\" to \
             keep them)"
                .to_string()
        }
        (None, None) => "the identity provider refused the refresh token as expired or \
                         revoked (invalid_grant)"
            .to_string(),
    })
}

/// The command that signs in again ahead of a run, with the flags that pick this sign-in
/// (no secret: a refresh token only exists for public clients).
pub fn sign_in_again(p: &OAuthPlan) -> String {
    let flow = match p.flow {
        // A refresh token comes from a delegated flow; client credentials keep none.
        Flow::ClientCredentials | Flow::DeviceCode => Flow::DeviceCode,
        Flow::Interactive => Flow::Interactive,
    };
    let mut cmd = format!(
        "xoauth token --provider {} --client-id {}",
        p.authority.name, p.client_id
    );
    if !p.tenant.is_empty() {
        cmd.push_str(&format!(" --tenant {}", p.tenant));
    }
    if let Some(user) = &p.login_hint {
        cmd.push_str(&format!(" --user {user}"));
    }
    cmd.push_str(&format!(" --flow {} --refresh", flow.name()));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ProviderIds, Stage};
    use crate::service::Provider;
    use crate::token::provider::{Authority, CustomUrls};

    fn plan(provider: Provider) -> OAuthPlan {
        OAuthPlan {
            authority: Authority::resolve(
                provider,
                Some("contoso.example"),
                None,
                &CustomUrls::default(),
            )
            .unwrap(),
            tenant: "contoso.example".into(),
            client_id: "app".into(),
            flow: Flow::Interactive,
            scopes: Vec::new(),
            credential: None,
            login_hint: Some("alice@contoso.example".into()),
            cache: true,
            refresh: false,
            open_browser: false,
            user_wait: std::time::Duration::from_secs(1),
            redirect_uri: None,
            discovery: None,
            device_code_command: None,
        }
    }

    fn refused(error: &str, codes: &[u64]) -> Failure {
        Failure::new(Stage::Token, FailureKind::TokenRejected, "refused")
            .with_reply(vec![format!("error: {error}")])
            .with_provider_ids(ProviderIds {
                error_codes: codes.to_vec(),
                ..ProviderIds::default()
            })
    }

    #[test]
    fn each_end_of_a_refresh_token_is_named() {
        let ms = plan(Provider::Microsoft);
        for (code, words) in [
            (700082, "not used for too long"),
            (70043, "sign-in frequency"),
            (50173, "password was changed"),
            (9999999, "AADSTS9999999"),
        ] {
            let why = why(&ms, &refused("invalid_grant", &[code])).unwrap();
            assert!(why.contains(words), "{code}: {why}");
        }
        let google = why(&plan(Provider::Google), &refused("invalid_grant", &[])).unwrap();
        assert!(google.contains("\"Testing\" publishing status"), "{google}");
        assert!(google.contains("7 days"), "{google}");
        // Not a finished grant: kept, and tried again next time.
        assert_eq!(why(&ms, &refused("invalid_client", &[7000215])), None);
        assert_eq!(
            why(
                &ms,
                &Failure::new(Stage::Token, FailureKind::TokenEndpointUnreachable, "x")
            ),
            None
        );
        assert_eq!(
            sign_in_again(&ms),
            "xoauth token --provider microsoft --client-id app --tenant contoso.example \
             --user alice@contoso.example --flow interactive --refresh"
        );
    }
}
