//! What a token's claims prove about a protocol before any server is asked (reference B):
//! an expired token, one for another audience (Microsoft Graph), a delegated token without the
//! protocol's scope, an app token without the protocol's role. These are facts, not guesses, so
//! they become the cause when the server then refuses; a token whose user is not `--user`, or a
//! user= that differs from the token's user, is only a warning (FullAccess may cover it).
//!
//! Only tokens issued by the Microsoft identity platform are judged: other issuers use other
//! audiences and scopes.

use super::fixes;
use crate::outcome::Finding;
use crate::powershell::quote;
use crate::service::{EXCHANGE_DELEGATED_RESOURCE, Protocol};
use crate::token::claims::Claims;

/// The audiences Exchange Online accepts (reference B, A5b).
pub(super) const EXCHANGE_AUDIENCES: &[&str] = &[
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://ps.outlook.com",
    "00000002-0000-0ff1-ce00-000000000000",
    "https://outlook.office365.us",
    "https://partner.outlook.cn",
];

/// Whether the token comes from the Microsoft identity platform.
pub fn is_microsoft(c: &Claims) -> bool {
    let iss = c.iss.as_deref().unwrap_or("");
    iss.contains("sts.windows.net")
        || iss.contains("login.microsoftonline")
        || iss.contains("login.partner.microsoftonline.cn")
        || c.tid.is_some()
            && c.aud
                .as_deref()
                .is_some_and(|a| EXCHANGE_AUDIENCES.contains(&a))
}

fn minutes(secs: i64) -> String {
    format!("{} min", secs.abs() / 60)
}

/// Everything the claims say about using this token for `protocol` as `user` (`--user`) on
/// `mailbox` (user=).
pub fn findings(
    protocol: Protocol,
    c: &Claims,
    user: &str,
    mailbox: &str,
    now: i64,
) -> Vec<Finding> {
    if !is_microsoft(c) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let scope = protocol.exchange_delegated_scope();
    let role = protocol.exchange_app_role();
    if let Some(exp) = c.exp.filter(|&exp| exp <= now) {
        out.push(Finding {
            blocking: true,
            message: format!(
                "the token expired at {} ({} ago)",
                crate::transport::util::rfc3339(exp),
                minutes(now - exp)
            ),
            fix: Some(
                "obtain a fresh token; with --client-id xoauth obtains and refreshes it".into(),
            ),
        });
    }
    match c.aud.as_deref() {
        Some(aud) if !EXCHANGE_AUDIENCES.contains(&aud) => out.push(Finding {
            blocking: true,
            message: format!("the token is for {aud}, not Exchange Online"),
            fix: Some(format!(
                "request {EXCHANGE_DELEGATED_RESOURCE}{scope} (delegated) or \
                 https://outlook.office365.com/.default (app-only); a bare {scope} scope \
                 gets a Microsoft Graph token"
            )),
        }),
        _ => {}
    }
    if c.is_app_only() {
        if !c.roles.iter().any(|r| r == role) {
            let app = c.app_id().unwrap_or("<application id>");
            let has = if c.roles.is_empty() {
                "none".to_string()
            } else {
                c.roles.join(", ")
            };
            out.push(Finding {
                blocking: true,
                message: format!("the app-only token has no {role} role (it has: {has})"),
                fix: Some(fixes::add_app_role(app, role)),
            });
        }
    } else {
        let scopes = c.scopes();
        let has_scope = scopes
            .iter()
            .any(|s| *s == scope || s.ends_with(&format!("/{scope}")));
        if !has_scope {
            out.push(Finding {
                blocking: true,
                message: format!(
                    "the delegated token's scopes ({}) do not include {scope}",
                    if scopes.is_empty() {
                        "none".to_string()
                    } else {
                        scopes.join(" ")
                    }
                ),
                fix: Some(fixes::request_scope(scope)),
            });
        }
        let grant = |owner: &str| fixes::full_access(mailbox, &quote(owner));
        match c.user() {
            // The token is someone else's than --user says: a mix-up far more often than not.
            Some(owner) if !user.is_empty() && !owner.eq_ignore_ascii_case(user) => {
                out.push(Finding {
                blocking: false,
                message: format!(
                    "the token is {owner}'s, not {user}'s (--user {user}); to open {mailbox} \
                     with it as a shared mailbox use --user {owner} --mailbox {mailbox} ({owner} \
                     needs FullAccess on it), or obtain {user}'s token"
                ),
                fix: Some(format!(
                    "obtain {user}'s token, or run with --user {owner} --mailbox {mailbox} after {}",
                    grant(owner)
                )),
                })
            }
            Some(owner) if !owner.eq_ignore_ascii_case(mailbox) => out.push(Finding {
                blocking: false,
                message: format!(
                    "user={mailbox} is not the token's user ({owner}); this works only if \
                     {owner} has FullAccess on {mailbox}"
                ),
                fix: Some(grant(owner)),
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delegated() -> Claims {
        Claims {
            iss: Some("https://sts.windows.net/t/".into()),
            tid: Some("t".into()),
            aud: Some("https://outlook.office.com".into()),
            scp: Some("IMAP.AccessAsUser.All SMTP.Send".into()),
            upn: Some("alice@contoso.example".into()),
            exp: Some(10_000),
            ..Claims::default()
        }
    }

    fn app() -> Claims {
        Claims {
            iss: Some("https://sts.windows.net/t/".into()),
            tid: Some("t".into()),
            aud: Some("https://outlook.office365.com".into()),
            roles: vec!["IMAP.AccessAsApp".into()],
            idtyp: Some("app".into()),
            appid: Some("app-1".into()),
            exp: Some(10_000),
            ..Claims::default()
        }
    }

    #[test]
    fn a_good_token_has_no_findings() {
        assert!(
            findings(
                Protocol::Imap,
                &delegated(),
                "alice@contoso.example",
                "alice@contoso.example",
                0
            )
            .is_empty()
        );
        assert!(
            findings(
                Protocol::Imap,
                &app(),
                "sales@contoso.example",
                "sales@contoso.example",
                0
            )
            .is_empty()
        );
    }

    #[test]
    fn expiry_audience_scope_and_role_are_blocking() {
        let f = findings(
            Protocol::Imap,
            &delegated(),
            "alice@contoso.example",
            "alice@contoso.example",
            20_000,
        );
        assert!(
            f[0].blocking
                && f[0].message.contains("expired")
                && f[0].message.contains("166 min ago")
        );
        let graph = Claims {
            aud: Some("https://graph.microsoft.com".into()),
            ..delegated()
        };
        let f = findings(
            Protocol::Imap,
            &graph,
            "alice@contoso.example",
            "alice@contoso.example",
            0,
        );
        assert!(f[0].blocking && f[0].message.contains("https://graph.microsoft.com"));
        assert!(
            f[0].fix
                .as_deref()
                .unwrap()
                .contains("https://outlook.office.com/IMAP.AccessAsUser.All")
        );
        let f = findings(
            Protocol::Pop,
            &delegated(),
            "alice@contoso.example",
            "alice@contoso.example",
            0,
        );
        assert!(f[0].blocking && f[0].message.contains("do not include POP.AccessAsUser.All"));
        let f = findings(
            Protocol::Pop,
            &app(),
            "sales@contoso.example",
            "sales@contoso.example",
            0,
        );
        assert!(
            f[0].message
                .contains("no POP.AccessAsApp role (it has: IMAP.AccessAsApp)")
        );
        assert!(f[0].fix.as_deref().unwrap().contains("app-1"));
    }

    #[test]
    fn another_mailbox_is_a_warning_and_full_scope_uris_count() {
        let c = Claims {
            scp: Some("https://outlook.office.com/IMAP.AccessAsUser.All".into()),
            ..delegated()
        };
        let f = findings(
            Protocol::Imap,
            &c,
            "alice@contoso.example",
            "sales@contoso.example",
            0,
        );
        assert_eq!(f.len(), 1);
        assert!(!f[0].blocking && f[0].message.contains("FullAccess"));
    }

    #[test]
    fn other_issuers_are_not_judged() {
        let google = Claims {
            iss: Some("https://accounts.google.com".into()),
            aud: Some("x".into()),
            ..Claims::default()
        };
        assert!(findings(Protocol::Imap, &google, "a@b", "a@b", 0).is_empty());
    }
}
