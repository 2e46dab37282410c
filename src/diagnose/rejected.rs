//! A refusal that names no reason (Exchange's `NO AUTHENTICATE failed.`, `-ERR Authentication
//! failure`, `535 5.7.3`; a bare error challenge elsewhere): the candidates that the token's
//! claims leave standing, most likely first, and the next step that tells them apart.
//!
//! What the claims settle is not offered as a cause: a token valid for another hour did not
//! expire, a token for outlook.office.com is not a Graph token, alice's token opening alice's
//! mailbox is no user= mix-up. What remains is said, with what ruled the rest out.

use super::fixes;
use super::kinds::no_such_mailbox;
use super::token::{EXCHANGE_AUDIENCES, is_microsoft};
use super::{Evidence, Explanation};
use crate::powershell::quote;
use crate::service::{EXCHANGE_DELEGATED_RESOURCE, Protocol};

/// What a candidate cause is about, so the claims can rule it out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum About {
    Expiry,
    Audience,
    DelegatedScope,
    AppOnly,
    UserMismatch,
    Other,
}

/// Why the claims rule out causes about `about`, or `None` when they cannot.
fn ruled_out(about: About, e: &Evidence<'_>) -> Option<String> {
    let c = e.claims?;
    let microsoft = is_microsoft(c);
    match about {
        About::Expiry => c
            .exp
            .filter(|&exp| exp > e.now)
            .map(|exp| format!("expiry (valid for {} more min)", (exp - e.now) / 60)),
        About::Audience if microsoft => c
            .aud
            .as_deref()
            .filter(|a| EXCHANGE_AUDIENCES.contains(a))
            .map(|a| format!("another audience (it is for {a})")),
        About::DelegatedScope if microsoft && c.is_app_only() => {
            Some("a missing delegated scope (it is an app-only token)".into())
        }
        About::DelegatedScope if microsoft => {
            let scope = e.checked().exchange_delegated_scope();
            c.scopes()
                .iter()
                .any(|s| *s == scope || s.ends_with(&format!("/{scope}")))
                .then(|| format!("a missing scope (it has {scope})"))
        }
        About::AppOnly if microsoft && !c.is_app_only() => {
            Some("app-only causes (it is a delegated token)".into())
        }
        About::UserMismatch if microsoft => c
            .user()
            .filter(|u| u.eq_ignore_ascii_case(e.mailbox))
            .map(|u| format!("a user= mix-up (it is {u}'s token, opening {u}'s mailbox)")),
        _ => None,
    }
}

/// Keeps the candidates the claims leave standing, in their order; names what was ruled out.
fn sift(candidates: Vec<(About, String)>, e: &Evidence<'_>) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut out = Vec::new();
    for (about, text) in candidates {
        match ruled_out(about, e) {
            Some(why) if !out.contains(&why) => out.push(why),
            Some(_) => {}
            None => kept.push(text),
        }
    }
    (kept, out)
}

/// "the token's claims rule out expiry (...) and another audience (...)", or nothing.
fn ruled_out_sentence(out: &[String]) -> String {
    match out {
        [] => String::new(),
        [one] => format!("; the token's claims rule out {one}"),
        [init @ .., last] => format!(
            "; the token's claims rule out {} and {last}",
            init.join(", ")
        ),
    }
}

/// The token has no claims on an Exchange server: it is not one of Exchange Online's access
/// tokens, which are always JWTs from the Microsoft identity platform.
pub(super) fn not_a_jwt(e: &Evidence<'_>, note: &str) -> Explanation {
    Explanation {
        cause: format!(
            "this is not an Exchange Online access token: {}. Exchange Online (work or \
             school accounts) accepts only JWT access tokens from the Microsoft identity platform",
            note.trim_end_matches('.')
        ),
        candidates: vec![
            "a refresh token, ID token or authorization code was passed instead of the access \
             token"
                .into(),
            "a token from another provider (Google's begin with ya29.)".into(),
            "a personal Microsoft account (Outlook.com) token, which is opaque and cannot open \
             a work or school mailbox"
                .into(),
            "the token was cut or wrapped when it was copied".into(),
            // Nothing can be ruled out in a token that cannot be read.
            format!(
                "if it is an access token after all (one xoauth cannot read): it has expired, it \
                 is for another audience, or it lacks {}",
                e.checked().exchange_delegated_scope()
            ),
        ],
        fix: Some(format!(
            "pass the access_token value of the token response (three dot-separated parts, \
             starting eyJ), or let xoauth obtain one for {}: --client-id APP --tenant TENANT",
            e.user
        )),
        evidence: Vec::new(),
    }
}

/// The token-side causes a refusal by a server other than Exchange leaves open, most likely
/// first, whether it came with an error challenge or bare (Exchange sends no challenge).
fn token_side(e: &Evidence<'_>) -> Vec<(About, String)> {
    vec![
        (About::Expiry, "the token has expired".into()),
        (
            About::UserMismatch,
            format!("user={} is not the user the token was issued to", e.mailbox),
        ),
        (
            About::Other,
            "the token was issued for another audience or by an issuer this server does not \
             trust"
                .into(),
        ),
    ]
}

pub(super) fn auth_rejected(e: &Evidence<'_>, proto: &str) -> Explanation {
    if let Some(c) = e.challenge {
        let status = c.status().unwrap_or("unknown");
        let scope = c
            .scope()
            .map(|s| format!(", scope {s:?}"))
            .unwrap_or_default();
        let (candidates, out) = sift(token_side(e), e);
        return Explanation {
            cause: format!(
                "the server rejected the token; its error challenge says status \
                 {status}{scope}{}",
                ruled_out_sentence(&out)
            ),
            candidates,
            fix: Some(
                "obtain a fresh token for the same user as user=, from the issuer and for the \
                 audience the server is configured for"
                    .into(),
            ),
            evidence: Vec::new(),
        };
    }
    if !e.exchange_online {
        let mut candidates = token_side(e);
        candidates.push((About::Other, format!("the account may not use {proto}")));
        let (candidates, out) = sift(candidates, e);
        return Explanation {
            cause: format!(
                "the server rejected the token without giving a reason{}",
                ruled_out_sentence(&out)
            ),
            candidates,
            fix: Some(
                "read the server's log for this login: it records why the token was refused \
                 (issuer, audience, expiry or user name)"
                    .into(),
            ),
            evidence: Vec::new(),
        };
    }
    exchange(e, proto)
}

/// Exchange never says why; the claims say what it was not.
fn exchange(e: &Evidence<'_>, proto: &str) -> Explanation {
    let scope = e.checked().exchange_delegated_scope();
    let role = e.checked().exchange_app_role();
    let mbx = quote(e.mailbox);
    let switch = e.checked().exchange_mailbox_switch();
    let mut candidates: Vec<(About, String)> = vec![
        (
            About::Expiry,
            "the token has expired (they live 60-90 minutes)".into(),
        ),
        (
            About::Audience,
            format!(
                "the token is for another audience, e.g. Microsoft Graph: request \
                 {EXCHANGE_DELEGATED_RESOURCE}{scope} (delegated) or \
                 https://outlook.office365.com/.default (app-only)"
            ),
        ),
        (
            About::DelegatedScope,
            format!("a delegated token without the {scope} scope"),
        ),
        (
            About::AppOnly,
            format!(
                "an app-only token whose app lacks {role}, or whose service principal is not \
                 registered in Exchange (New-ServicePrincipal, with the Enterprise Application's \
                 object id)"
            ),
        ),
        (
            About::UserMismatch,
            format!(
                "user={} does not match the user the delegated token was issued to",
                e.mailbox
            ),
        ),
    ];
    // A delegated token opening another mailbox (--mailbox): FullAccess decides, first of all.
    let shared_user = e
        .claims
        .filter(|c| is_microsoft(c) && !c.is_app_only())
        .and_then(|c| c.user())
        .filter(|u| !u.eq_ignore_ascii_case(e.mailbox));
    if let Some(u) = shared_user {
        candidates.retain(|(about, _)| *about != About::UserMismatch);
        candidates.insert(
            0,
            (
                About::Other,
                format!(
                    "{u} has no FullAccess on {} (opened as a shared mailbox)",
                    e.mailbox
                ),
            ),
        );
    }
    if e.protocol == Some(Protocol::Pop) {
        // POP opens the mailbox at AUTH, so what IMAP reports after login shows up here.
        candidates.insert(
            1,
            (
                About::Other,
                format!(
                    "{} may not open {} (no FullAccess), or POP is disabled for it \
                     (Get-CASMailbox -Identity {mbx} | Format-List PopEnabled)",
                    e.user, e.mailbox
                ),
            ),
        );
    }
    // What no claim can show: the mailbox's existence and switches, the account's state, the
    // signature. A misspelled mailbox is refused like one the principal may not open.
    candidates.push((About::Other, no_such_mailbox(e.mailbox)));
    candidates.push((
        About::Other,
        format!(
            "{proto} is disabled for {} or the mailbox is not licensed (Exchange may refuse at \
             AUTH)",
            e.mailbox
        ),
    ));
    candidates.push((
        About::Other,
        "the account is disabled or blocked from sign-in, or its sessions were revoked after \
         the token was issued"
            .into(),
    ));
    candidates.push((
        About::Other,
        "the token was issued by another tenant or cloud, or its signature does not verify \
         (minted by a test tool, or altered)"
            .into(),
    ));
    let (candidates, out) = sift(candidates, e);
    let token_side_ruled_out = e.claims.is_some() && out.len() >= 3;
    let check_mailbox = fixes::show_switches(e.mailbox, switch);
    let fix = if let Some(u) = shared_user {
        format!(
            "{}; if it has that already: {check_mailbox}",
            fixes::full_access(e.mailbox, &quote(u))
        )
    } else if token_side_ruled_out {
        format!(
            "the token looks right, so check the mailbox and the account: {check_mailbox}; \
             then the user's or app's sign-in log in the Entra admin center; then obtain a \
             fresh token and run again"
        )
    } else if e.claims.is_none() {
        format!(
            "let xoauth obtain the token (--client-id APP --tenant TENANT) or check it with \
             xoauth token, so its claims can rule causes out; meanwhile {check_mailbox}"
        )
    } else {
        format!(
            "obtain a fresh token (xoauth obtains and refreshes it with --client-id) and run \
             again; if it still fails, {check_mailbox}"
        )
    };
    Explanation {
        cause: format!(
            "the server rejected the token without giving a reason (Exchange Online never \
             does){}; the likely causes, most likely first:",
            ruled_out_sentence(&out)
        ),
        candidates,
        fix: Some(fix),
        evidence: Vec::new(),
    }
}
