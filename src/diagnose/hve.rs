//! High Volume Email's own failure causes (docs/exchange-2026.md): an HVE account sends only
//! to its own tenant, only for apps on its allow-list, and is not governed by the
//! `SmtpClientAuthenticationDisabled` switches that explain a refusal at smtp.office365.com —
//! so the submission rows would send an admin to the wrong setting.

use super::{Evidence, Explanation, Finding, one};
use crate::outcome::FailureKind;
use crate::powershell::quote;
use crate::service::Protocol;
use crate::token::claims::Claims;

/// The explanation for a failure at an HVE endpoint, or `None` when HVE changes nothing.
pub(super) fn explain(e: &Evidence<'_>) -> Option<Explanation> {
    let text = e.server_reply.join(" ");
    match e.kind {
        FailureKind::SendRejected
            if text.contains("5.5.105") || text.contains("External sending") =>
        {
            Some(one(
                "High Volume Email delivers only to recipients in the tenant; the test message \
                 went to an external address",
                Some(
                    "send to an internal recipient (--to ADDRESS in the tenant); mail to \
                     outside addresses goes through Azure Communication Services Email or \
                     ordinary submission instead"
                        .into(),
                ),
            ))
        }
        FailureKind::AuthRejected => Some(not_allowed(e, e.claims)),
        FailureKind::AuthBlockedByPolicy if !text.contains("5.7.30") => Some(one(
            "a tenant policy blocked the HVE account's sign-in (Security Defaults or an \
             authentication policy)",
            Some(
                "Microsoft's HVE troubleshooting: turn Security Defaults off (Entra admin center \
                 → Properties → Manage security defaults), and make sure the authentication \
                 policy applied to the HVE account allows SMTP (AllowBasicAuthSmtp)"
                    .into(),
            ),
        )),
        // HVE ignores SmtpClientAuthenticationDisabled; a refusal naming it is not HVE's.
        _ => None,
    }
}

/// The token findings that hold at HVE: all but the missing-`SMTP.SendAsApp` one.
pub(super) fn without_role_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let role = Protocol::Smtp.exchange_app_role();
    findings
        .into_iter()
        .filter(|f| !f.message.contains(role))
        .collect()
}

/// 535 at HVE: the app is not allowed to send as this HVE account (or it is not one).
fn not_allowed(e: &Evidence<'_>, claims: Option<&Claims>) -> Explanation {
    let app_id = claims.and_then(Claims::app_id).or(e.client_id);
    let app_arg = app_id.map_or_else(|| "<application id>".to_string(), quote);
    let account = quote(e.mailbox);
    let mut candidates = vec![
        format!(
            "the app {} is not on the Allowed Apps list of the HVE account {} (up to ten apps \
             per account)",
            app_id.unwrap_or("<application id>"),
            e.mailbox
        ),
        "the app was added less than 5 minutes ago (changes take up to 5 minutes)".to_string(),
        format!(
            "{} is not an HVE account (HVE sends only as mail users created as HVE accounts)",
            e.mailbox
        ),
    ];
    if claims.is_some_and(|c| !c.is_app_only()) {
        candidates.push(
            "the token is a user's (delegated); HVE's OAuth is for apps: use the client \
             credentials flow (--flow client-credentials)"
                .to_string(),
        );
    }
    Explanation {
        cause: format!(
            "High Volume Email refused the token for {}: HVE accepts OAuth only from apps on the \
             account's Allowed Apps list",
            e.mailbox
        ),
        candidates,
        fix: Some(format!(
            "Add-HVEAppAccess -Identity {account} -AppIds {app_arg}; then wait 5 minutes and \
             check again ((Get-HVEAccountSettings -Identity {account}).AllowedApps lists them)"
        )),
        evidence: Vec::new(),
    }
}
