//! The facts that settle a cause before the failure kind's row is consulted: what the token's
//! claims prove (expired, wrong audience, missing scope or role, someone else's token), an
//! app-only token Exchange refused despite its role, an own mailbox Exchange will not open, and
//! the server's own throttling words.

use super::fixes;
use super::kinds::{no_such_mailbox, throttled};
use super::{
    Evidence, Explanation, Finding, exchange_smtp_not_on_465, one, rejected,
    smtp_implicit_tls_at_exchange, token,
};
use crate::outcome::FailureKind;
use crate::powershell::quote;
use crate::service::Protocol;
use crate::token::claims::Claims;

/// The facts that settle a cause, or `None` to fall back to the row of the failure kind.
pub(super) fn from_facts(e: &Evidence<'_>) -> Option<Explanation> {
    use FailureKind::*;
    let proto = e.label();
    match e.kind {
        AuthRejected | AuthenticatedNotConnected | StatFailed => {
            let Some(c) = e.claims else {
                // Exchange's tokens are JWTs; a token without claims is not one of them.
                return e
                    .token_note
                    .filter(|_| e.exchange_online)
                    .map(|note| rejected::not_a_jwt(e, note));
            };
            let findings = token::findings(e.checked(), c, e.user, e.mailbox, e.now);
            let findings = if e.hve {
                super::hve::without_role_findings(findings)
            } else {
                findings
            };
            let blocking: Vec<Finding> = findings.into_iter().filter(|f| f.blocking).collect();
            if let Some(first) = blocking.first() {
                let all: Vec<&str> = blocking.iter().map(|f| f.message.as_str()).collect();
                return Some(one(
                    format!("the token cannot work for {proto}: {}", all.join("; ")),
                    first.fix.clone(),
                ));
            }
            if let Some(ex) = someone_elses_token(e, c) {
                return Some(ex);
            }
            // HVE has its own permission model (an allow-list per account): its module explains.
            if e.hve {
                return None;
            }
            // Exchange's permission model (service principals, CAS switches) only explains an
            // Exchange server's refusal; Dovecot or Gmail refuse for their own reasons.
            if !token::is_microsoft(c) || !e.exchange_online {
                return None;
            }
            if c.is_app_only() {
                return Some(app_only_refused(e, c, proto));
            }
            let own = c.user().is_some_and(|u| u.eq_ignore_ascii_case(e.mailbox));
            let pop = e.protocol == Some(Protocol::Pop);
            let protocol = if pop { Protocol::Pop } else { Protocol::Imap };
            if own && (e.kind == AuthenticatedNotConnected || pop) {
                let switch = if pop { "PopEnabled" } else { "ImapEnabled" };
                return Some(Explanation {
                    cause: format!(
                        "the token is valid for {proto} (audience, scope and expiry checked) and {} is opening its own mailbox, so {proto} is most likely disabled for it",
                        e.mailbox
                    ),
                    candidates: vec![
                        format!("{proto} is disabled for {} ({switch} is $false)", e.mailbox),
                        format!(
                            "the mailbox {} is not licensed for Exchange Online",
                            e.mailbox
                        ),
                        "too many connections in a short time (Exchange throttles chatty clients)"
                            .into(),
                    ],
                    fix: Some(fixes::enable(e.mailbox, protocol)),
                    evidence: Vec::new(),
                });
            }
            None
        }
        Throttled => Some(throttled(e)),
        ConnectFailed if smtp_implicit_tls_at_exchange(e) => Some(exchange_smtp_not_on_465()),
        _ => None,
    }
}

/// A delegated token whose user is not `--user`: the most common mix-up (bob's token, alice's
/// name). Exchange reads it as bob opening alice's mailbox, which only FullAccess allows; the
/// fix is never a permission for the wrong principal.
fn someone_elses_token(e: &Evidence<'_>, c: &Claims) -> Option<Explanation> {
    if !token::is_microsoft(c) || c.is_app_only() {
        return None;
    }
    let owner = c.user().filter(|u| !u.eq_ignore_ascii_case(e.user))?;
    let user = e.user;
    let mailbox = e.mailbox;
    let (cause, candidates, fix) = if e.exchange_online {
        (
            format!(
                "the token is {owner}'s, not {user}'s (--user {user}): Exchange reads this as \
                 {owner} opening {mailbox} as a shared mailbox, which needs FullAccess"
            ),
            vec![
                format!(
                    "the token was obtained signed in as {owner} (a cached or remembered sign-in)"
                ),
                format!("{owner} is meant to open {mailbox} but has no FullAccess on it"),
            ],
            format!(
                "to check {user}'s own mailbox, obtain {user}'s token (sign in as {user}; xoauth \
                 cache clear forgets a cached sign-in); to open {mailbox} with {owner}'s token, \
                 run with --user {owner} --mailbox {mailbox} after Add-MailboxPermission \
                 -Identity {} -User {} -AccessRights FullAccess",
                quote(mailbox),
                quote(owner)
            ),
        )
    } else {
        (
            format!("the token is {owner}'s, not {user}'s (--user {user})"),
            Vec::new(),
            format!("obtain {user}'s token (sign in as {user}), or run with --user {owner}"),
        )
    };
    Some(Explanation {
        cause,
        candidates,
        fix: Some(fix),
        evidence: Vec::new(),
    })
}

/// An app-only token with the right role that Exchange still refused: the service principal.
fn app_only_refused(e: &Evidence<'_>, c: &Claims, proto: &str) -> Explanation {
    let app_id = c.app_id().or(e.client_id);
    let app = app_id.unwrap_or("<application id>");
    let oid = c
        .oid
        .as_deref()
        .unwrap_or("<Enterprise Application object id>");
    // In commands: the ids quoted, a placeholder left bare so that pasting it fails.
    let app_arg = app_id.map_or_else(|| app.to_string(), quote);
    let oid_arg = c.oid.as_deref().map_or_else(|| oid.to_string(), quote);
    let role = e.checked().exchange_app_role();
    let mut candidates = Vec::new();
    let not_connected = e.kind == FailureKind::AuthenticatedNotConnected;
    if not_connected {
        candidates.push(format!(
            "the service principal {oid} has no FullAccess on {}",
            e.mailbox
        ));
        // The app got in; what it was sent to open may simply not be there.
        candidates.push(no_such_mailbox(e.mailbox));
    }
    candidates.push(format!(
        "the app's service principal is not registered in Exchange Online (New-ServicePrincipal was never run for {app})"
    ));
    candidates.push(format!(
        "it was registered with the App Registration's object id instead of the Enterprise Application's ({oid}, the token's oid)"
    ));
    if !not_connected && e.protocol != Some(Protocol::Imap) {
        candidates.push(format!(
            "the service principal has no FullAccess on {} ({proto} checks it at AUTH)",
            e.mailbox
        ));
    }
    if !not_connected {
        candidates.push(no_such_mailbox(e.mailbox));
    }
    candidates.push(format!("{proto} is disabled for the mailbox {}", e.mailbox));
    let register = fixes::register_service_principal(&app_arg, &oid_arg);
    let grant = fixes::full_access(e.mailbox, &oid_arg);
    // A grant on a misspelled address fails too, and says why: the last step is the check.
    let exists = fixes::must_exist(e.mailbox);
    let fix = if not_connected {
        format!("{grant}; if that exists already: {register}; {exists}")
    } else {
        format!("{register}; then {grant}; {exists}")
    };
    Explanation {
        cause: if not_connected {
            format!(
                "the app authenticated (its token has {role}) but may not open {}",
                e.mailbox
            )
        } else {
            format!(
                "Exchange refused an app-only token that does have {role}: the app's service principal is not (correctly) registered in Exchange, or lacks the mailbox"
            )
        },
        candidates,
        fix: Some(fix),
        evidence: Vec::new(),
    }
}
