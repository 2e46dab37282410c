//! From the evidence of a failure to a cause and a fix (reference E1, E2).
//!
//! Two layers. Facts first: what the token's claims prove (`token`: expired, wrong audience,
//! missing scope or role) overrides every guess, and so does evidence that rules causes out
//! (own mailbox, app-only token, the server's throttling words). Then one row per failure kind;
//! where the evidence cannot tell causes apart the row lists candidates in order of likelihood
//! rather than pretending to know. Every explanation carries the evidence it rests on, and a
//! fix: the command that repairs it, or the next step that tells the candidates apart.
//!
//! Every value placed in a PowerShell command goes through [`crate::powershell::quote`]: the
//! mailbox comes from the command line, but the token's ids and the server's words do not.
//!
//! Here: the evidence, the entry points and the evidence lines. The facts are in `facts` (with
//! `token` for the claims and `rejected` for a refusal without a reason), the rows per kind in
//! `kinds` (with `tls` for the wrong port or a refused certificate), the AADSTS codes in `aadsts`.

mod aadsts;
pub mod combination;
mod facts;
mod fixes;
mod hve;
mod kinds;
mod rejected;
pub mod tls;
pub mod token;

pub use crate::outcome::{Explanation, Finding};
pub use aadsts::code as aadsts_code;

use crate::outcome::FailureKind;
use crate::powershell::{Kind, is_valid};
use crate::sasl::ErrorChallenge;
use crate::service::Protocol;
use crate::token::claims::Claims;

/// What is known when a check fails.
pub struct Evidence<'a> {
    pub kind: FailureKind,
    /// The check's protocol; `None` when obtaining the token failed, before any check.
    pub protocol: Option<Protocol>,
    /// The identity the token is for.
    pub user: &'a str,
    /// The mailbox named in `user=`.
    pub mailbox: &'a str,
    pub server_reply: &'a [String],
    pub challenge: Option<&'a ErrorChallenge>,
    /// The token's decoded claims, when it had any.
    pub claims: Option<&'a Claims>,
    /// Why a token has no claims (it is not a JWT), when there was a token without claims.
    pub token_note: Option<&'a str>,
    /// The app the token was requested for, when xoauth obtained it.
    pub client_id: Option<&'a str>,
    /// The server is Exchange (by host name, or by its own greeting), so Exchange's known
    /// behaviour and permission model apply.
    pub exchange_online: bool,
    /// The server is High Volume Email's SMTP endpoint, whose rules differ from submission's.
    pub hve: bool,
    pub implicit_tls: bool,
    /// Seconds since the epoch, for judging `exp`.
    pub now: i64,
}

impl Evidence<'_> {
    /// The protocol whose permissions and switches a row names. Only a check's evidence reaches
    /// those rows (the token step fails with the token kinds, which name none), so the token
    /// step's reads as IMAP's, as it always has.
    fn checked(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::Imap)
    }

    /// `IMAP`, `POP`, `SMTP` in sentences; empty before a check.
    fn label(&self) -> &'static str {
        self.protocol.map_or("", Protocol::label)
    }
}

fn one(cause: impl Into<String>, fix: Option<String>) -> Explanation {
    Explanation {
        cause: cause.into(),
        candidates: Vec::new(),
        fix,
        evidence: Vec::new(),
    }
}

/// Exchange Online offers SMTP submission only with STARTTLS on 587; implicit TLS on 465 is
/// refused or never answered. One wording for the warning before a check and the cause after.
pub const EXCHANGE_SMTP_NOT_ON_465: &str =
    "Exchange Online does not offer SMTP with implicit TLS (port 465)";
const USE_587: &str = "use port 587 with STARTTLS";

/// The warning for a check about to try SMTP with implicit TLS at Exchange Online.
pub fn exchange_smtp_not_on_465_warning() -> String {
    format!("{EXCHANGE_SMTP_NOT_ON_465}; {USE_587}")
}

fn smtp_implicit_tls_at_exchange(e: &Evidence<'_>) -> bool {
    e.protocol == Some(Protocol::Smtp) && e.implicit_tls && e.exchange_online
}

fn exchange_smtp_not_on_465() -> Explanation {
    one(
        EXCHANGE_SMTP_NOT_ON_465,
        Some(format!("{USE_587} (the default for smtp)")),
    )
}

/// What the claims say about using the token for `protocol` as `user` on `mailbox`, before
/// connecting.
pub fn preflight(
    protocol: Protocol,
    claims: &Claims,
    user: &str,
    mailbox: &str,
    now: i64,
) -> Vec<Finding> {
    token::findings(protocol, claims, user, mailbox, now)
}

/// High Volume Email delivers only inside the tenant, and an outside recipient is not refused
/// at RCPT: the message is accepted and bounces (550 5.5.105) later, where a check never looks.
/// So recipients outside the sender's domain get a warning before anything is sent. The
/// tenant may own more domains than the sender's; the warning says so rather than guess.
pub fn hve_external_recipients(from: &str, to: &[String]) -> Option<String> {
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    let own = domain(from)?;
    let outside: Vec<&str> = to
        .iter()
        .filter(|t| domain(t).is_some_and(|d| d != own))
        .map(String::as_str)
        .collect();
    (!outside.is_empty()).then(|| {
        format!(
            "High Volume Email delivers only to recipients in the tenant: {} is outside \
             {own}; unless that domain is also the tenant's, the server accepts the message and \
             it bounces later (550 5.5.105 External sending is not supported)",
            outside.join(", ")
        )
    })
}

/// [`preflight`] for High Volume Email, which authorises apps by its own allow-list and the
/// `Mail.Send` application permission rather than `SMTP.SendAsApp`: a finding about that role
/// would send the admin to the wrong permission.
pub fn preflight_hve(claims: &Claims, user: &str, mailbox: &str, now: i64) -> Vec<Finding> {
    hve::without_role_findings(token::findings(Protocol::Smtp, claims, user, mailbox, now))
}

/// The cause, candidates and fix for a failure, with the evidence they rest on.
pub fn explain(e: &Evidence<'_>) -> Explanation {
    let mut ex = facts::from_facts(e)
        .or_else(|| e.hve.then(|| hve::explain(e)).flatten())
        .unwrap_or_else(|| kinds::by_kind(e));
    ex.evidence = gather(e);
    ex
}

/// The facts behind an explanation, in the order an admin reads them.
fn gather(e: &Evidence<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = e.server_reply.first() {
        out.push(format!("server said: {first}"));
    }
    if let Some(c) = e.challenge {
        out.push(format!(
            "error challenge: {}",
            c.decoded.as_deref().unwrap_or(&c.raw)
        ));
    }
    if let Some(c) = e.claims {
        out.push(format!("token: {}", c.summary(e.now)));
    }
    if !e.mailbox.is_empty() {
        out.push(format!("mailbox (user=): {}", e.mailbox));
    }
    out.extend(unusual(e));
    out
}

/// Values a fix names that do not have the shape they should: they are quoted in every command
/// anyway, but an admin should look at them before running one.
fn unusual(e: &Evidence<'_>) -> Vec<String> {
    let mut values: Vec<(&str, Kind, &str)> = Vec::new();
    if !e.mailbox.is_empty() {
        values.push(("the mailbox", Kind::Address, e.mailbox));
    }
    if let Some(c) = e.claims.filter(|c| token::is_microsoft(c)) {
        if let Some(u) = c.user() {
            values.push(("the token's user", Kind::Address, u));
        }
        if let Some(oid) = &c.oid {
            values.push(("the token's oid", Kind::Guid, oid));
        }
        if let Some(app) = c.app_id() {
            values.push(("the token's app id", Kind::Guid, app));
        }
    }
    values
        .into_iter()
        .filter(|(_, kind, v)| !is_valid(*kind, v))
        .map(|(what, kind, v)| {
            let shape = match kind {
                Kind::Address => "an address",
                Kind::Guid => "a GUID",
                Kind::Tenant => "a tenant id or domain",
            };
            format!(
                "unusual value: {what} {v:?} is not {shape}; check it before running a command \
                 that names it"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
