//! One row per failure kind: the cause and fix when no fact settled it, with candidates in
//! order of likelihood where the evidence cannot tell causes apart.

use super::{
    Evidence, Explanation, aadsts, exchange_smtp_not_on_465, fixes, one, rejected,
    smtp_implicit_tls_at_exchange, tls,
};
use crate::outcome::FailureKind;
use crate::powershell::{Kind, is_valid, quote};
use crate::service::Protocol;
use crate::token::claims::Claims;

pub(super) fn by_kind(e: &Evidence<'_>) -> Explanation {
    use FailureKind::*;
    let proto = e.label();
    let shared = !e.user.eq_ignore_ascii_case(e.mailbox);
    match e.kind {
        TokenRejected => token_rejected(e),
        SignInIncomplete => one(
            "the sign-in was not completed (declined, expired or not finished in time)",
            Some(
                "run again and complete the sign-in; raise --login-wait if it needs longer".into(),
            ),
        ),
        TokenEndpointUnreachable => one(
            "the identity provider's token endpoint could not be reached",
            Some("check the network path to the login host, a proxy, or --authority".into()),
        ),
        CredentialUnusable => one(
            "the client credential (secret or certificate) could not be read or used",
            Some("check the file, variable or password named in the message".into()),
        ),
        TokenUnusable => one(
            "the access token cannot be placed in a SASL message as given",
            Some("pass the bare access token (no 'Bearer ' prefix, no line breaks)".into()),
        ),
        ConnectFailed => one(
            "the server could not be reached (name resolution or TCP connect failed)",
            Some("check the host name and port, and that a firewall allows the connection".into()),
        ),
        Timeout if smtp_implicit_tls_at_exchange(e) => exchange_smtp_not_on_465(),
        Timeout => one(
            "the server did not answer in time",
            Some("check the port (implicit TLS vs STARTTLS), firewalls, or raise --timeout".into()),
        ),
        ConnectionClosed => one(
            "the server closed the connection unexpectedly",
            Some("run again with -v to see the last lines exchanged".into()),
        ),
        TlsUntrusted => one(
            "the server's certificate chain does not lead to a trusted root",
            Some("if this is a private or on-premises CA, pass it with --ca-file FILE.pem".into()),
        ),
        TlsNameMismatch => one(
            "the certificate was issued for another name than the host connected to",
            Some("connect with the host name the certificate names (see SANs)".into()),
        ),
        TlsExpired => one(
            "the server's certificate has expired (or is not valid yet)",
            Some(
                "the server's administrator must renew the certificate; check this machine's \
                 clock too (xoauth never skips verification)"
                    .into(),
            ),
        ),
        TlsFailed => tls::old_version(e).unwrap_or_else(|| {
            one(
                "the TLS handshake failed",
                Some(
                    "check that the port speaks TLS from the first byte (993, 995, 465) or use \
                     --starttls on 143, 110 or 587; the server must offer TLS 1.2 or 1.3"
                        .into(),
                ),
            )
        }),
        StarttlsNotOffered => one(
            "the server does not offer STARTTLS on this port, so the session cannot be \
             encrypted; xoauth never authenticates in plaintext",
            Some(match e.protocol {
                Some(Protocol::Pop) => {
                    "use the implicit-TLS port (POP3 995) without --starttls".into()
                }
                Some(Protocol::Smtp) => {
                    "use the implicit-TLS port (465) with --implicit-tls".into()
                }
                _ => "use the implicit-TLS port (IMAP 993) without --starttls".into(),
            }),
        ),
        StarttlsRefused => one(
            "the server refused the STARTTLS command",
            Some(
                "use the implicit-TLS port (IMAP 993, POP3 995, SMTP 465 with --implicit-tls), \
                 or ask the server's administrator to enable STARTTLS"
                    .into(),
            ),
        ),
        PlaintextPort => tls::plaintext_port(e),
        ImplicitTlsPort => tls::implicit_tls_port(e),
        WrongProtocolPort => tls::wrong_protocol_port(e),
        DataBeforeTls => one(
            "the server sent data between agreeing to STARTTLS and the TLS handshake; this is \
             how STARTTLS response injection works, so the session was abandoned",
            Some(
                "do not use this network path until it is explained: try the implicit-TLS port, \
                 and report it to the server's or the network's administrator"
                    .into(),
            ),
        ),
        ServerTooVerbose => one(
            "the server sent more than xoauth accepts in one line or session",
            Some(
                "check that the host and port are the mail server's (not a web or other \
                 service); run again with -v to see what it sent"
                    .into(),
            ),
        ),
        GreetingRejected => one(
            "the server refused the connection in its greeting",
            Some(
                "read the greeting in the server's reply: it may refuse this client address or \
                 be at its connection limit; try again later or from another address"
                    .into(),
            ),
        ),
        ProtocolError => one(
            format!("the server's reply does not follow the {proto} protocol"),
            Some(format!(
                "check that the port speaks {proto} (and TLS or STARTTLS as chosen); run again \
                 with -v to see the exchange"
            )),
        ),
        MechanismNotOffered => one(
            "the server does not advertise an OAuth SASL mechanism (XOAUTH2 or OAUTHBEARER)",
            Some(
                "check that OAuth is enabled on the server; Exchange Online always offers \
                 XOAUTH2 over TLS"
                    .into(),
            ),
        ),
        AuthRejected => rejected::auth_rejected(e, proto),
        AuthenticatedNotConnected => not_connected(e, proto, shared),
        Throttled => throttled(e),
        ListFailed => one(
            "the folder list was refused",
            Some("read the server's reply above; run again with -v to see the exchange".into()),
        ),
        ServerTemporaryFailure => one(
            "the server could not check the token just now (a temporary failure on its side: \
             its token validation or user lookup failed)",
            Some(
                "read the server's log; Dovecot's oauth2 passdb answers this way when the token \
                 lacks the claim it takes the user name from (username_attribute)"
                    .into(),
            ),
        ),
        StatFailed => one(
            "the maildrop could not be read after authentication",
            Some(format!(
                "check Get-CASMailbox -Identity {} | Format-List PopEnabled",
                quote(e.mailbox)
            )),
        ),
        SmtpAuthDisabled => smtp_auth_disabled(e.mailbox, e.server_reply),
        AuthBlockedByPolicy => auth_blocked(e.server_reply),
        SendAsDenied => send_as_denied(e.mailbox, e.server_reply),
        SendRejected => one(
            "the server accepted the token but refused the test message",
            Some("read the server's reply above; it names the reason".into()),
        ),
        ExamineFailed => one(
            "the folder could not be opened read-only (it may not exist)",
            Some("check the folder name against the list above".into()),
        ),
    }
}

/// Exchange says how long to wait; say it in minutes.
pub(super) fn throttled(e: &Evidence<'_>) -> Explanation {
    let text = e.server_reply.join(" ");
    let backoff_ms: Option<u64> = text
        .split("Suggested Backoff Time:")
        .nth(1)
        .and_then(|rest| {
            rest.split_whitespace()
                .next()
                .and_then(|n| n.trim_end_matches('.').parse().ok())
        });
    if let Some(ms) = backoff_ms {
        // Rounded up: waiting a little less than asked only earns another backoff.
        return one(
            format!(
                "Exchange is throttling this mailbox or client and asks to wait {} s (about {} min)",
                ms.div_ceil(1000),
                ms.div_ceil(60_000).max(1)
            ),
            Some("wait that long, then open fewer connections per minute".into()),
        );
    }
    if text.contains("sender thread limit exceeded") {
        return one(
            "more than 3 SMTP connections at once for this mailbox (Exchange Online's limit)",
            Some("send over fewer concurrent connections".into()),
        );
    }
    one(
        "the server is throttling this mailbox or client",
        Some("wait for the suggested backoff time and reduce connection churn".into()),
    )
}

/// A misspelled or deleted mailbox: Exchange answers for it exactly as for a mailbox the
/// principal may not open, so it is a candidate wherever that is, with the command that settles
/// it (an address of the wrong shape is quoted all the same).
pub(super) fn no_such_mailbox(mailbox: &str) -> String {
    format!(
        "the mailbox {mailbox} does not exist (check the spelling: Get-Mailbox -Identity {})",
        quote(mailbox)
    )
}

/// Who needs the permission: the user, or for an app-only token its service principal (the
/// token's `oid`, which is the Enterprise Application's object id).
fn grantee(e: &Evidence<'_>) -> String {
    match e.claims {
        Some(c) if c.is_app_only() => c
            .oid
            .as_deref()
            .map_or_else(|| "<service principal object id>".into(), quote),
        _ => quote(e.user),
    }
}

/// Authenticated, but the mailbox stays shut. Who needs FullAccess depends on whose token it
/// is; a user never needs it on their own mailbox, so that is never the fix.
fn not_connected(e: &Evidence<'_>, proto: &str, shared: bool) -> Explanation {
    let mbx = quote(e.mailbox);
    let check = format!("Get-CASMailbox -Identity {mbx} | Format-List ImapEnabled,PopEnabled");
    let app_only = e.claims.is_some_and(Claims::is_app_only);
    let needs_grant = shared || app_only;
    let fix = if needs_grant {
        format!(
            "{}; check {check}",
            fixes::full_access(e.mailbox, &grantee(e))
        )
    } else {
        format!(
            "check {check} (Set-CASMailbox -Identity {mbx} -{}Enabled $true if it is off); for \
             an app-only token: Add-MailboxPermission -Identity {mbx} -User <service principal \
             object id> -AccessRights FullAccess",
            if e.protocol == Some(Protocol::Pop) {
                "Pop"
            } else {
                "Imap"
            }
        )
    };
    Explanation {
        cause: format!(
            "the token is valid (AUTHENTICATE succeeded) but its principal may not open the \
             mailbox {}",
            e.mailbox
        ),
        candidates: vec![
            if shared {
                format!("{} has no FullAccess permission on {}", e.user, e.mailbox)
            } else {
                "an app-only token whose service principal has no FullAccess on the mailbox"
                    .to_string()
            },
            no_such_mailbox(e.mailbox),
            format!(
                "the mailbox {} is not licensed for Exchange Online",
                e.mailbox
            ),
            format!("{proto} is disabled for the mailbox"),
            "too many connections in a short time (Exchange throttles chatty clients)".into(),
        ],
        fix: Some(fix),
        evidence: Vec::new(),
    }
}

/// Token-endpoint errors (reference E1), with the app id filled in where known.
fn token_rejected(e: &Evidence<'_>) -> Explanation {
    let app = e.client_id.unwrap_or("<application id>");
    let error = e
        .server_reply
        .first()
        .and_then(|l| l.strip_prefix("error: "))
        .unwrap_or("");
    let (cause, fix) = match (aadsts::code(e.server_reply), e.protocol) {
        // The check says which permission its protocol needs; Entra's message names none.
        (Some(aadsts::NO_CONSENT), Some(p)) => {
            let scope = p.exchange_delegated_scope_uri();
            (
                format!(
                    "nobody has consented to the delegated permissions of {app}: {} needs {scope}",
                    p.label()
                ),
                format!(
                    "grant admin consent for {scope} (App registrations → {app} → API permissions \
                     → Add a permission → {} (delegated) → Grant admin consent), or sign in once \
                     interactively and accept",
                    p.exchange_delegated_scope()
                ),
            )
        }
        (Some(code), _) => match aadsts::row(code) {
            Some(row) => (row.cause(app), row.fix(app)),
            None => (
                format!("the identity platform refused the request (AADSTS{code})"),
                format!("see https://login.microsoftonline.com/error?code={code}"),
            ),
        },
        (None, _) => (
            format!(
                "the identity provider refused the request ({})",
                if error.is_empty() {
                    "no error code"
                } else {
                    error
                }
            ),
            "read error_description in the reply above; compare --client-id, --tenant and \
             --scope with the app's registration"
                .into(),
        ),
    };
    one(cause, Some(fix))
}

/// Exchange refused the test message's sender: the authenticated mailbox may not send as the
/// address the server names.
pub(super) fn send_as_denied(mailbox: &str, reply: &[String]) -> Explanation {
    // Exchange names the address: "<mailbox> not allowed to send as <from>;".
    let text = reply.join(" ");
    // The address comes from the server: quoted like any value, placeholder left bare.
    let named = text
        .split("send as ")
        .nth(1)
        .and_then(|rest| rest.split([';', ' ']).next())
        .filter(|a| a.contains('@'));
    let from = named.unwrap_or("<from address>");
    let from_arg = named.map_or_else(|| from.to_string(), quote);
    let mut ex = one(
        format!("{} may not send as {from} (no SendAs permission)", mailbox),
        Some(format!(
            "send as the authenticated mailbox, or grant it: {}",
            fixes::send_as(&from_arg, mailbox)
        )),
    );
    if named.is_some_and(|a| !is_valid(Kind::Address, a)) {
        ex.candidates.push(format!(
            "the sender address the server named, {from:?}, is unusual; check it before \
             granting anything"
        ));
    }
    ex
}

pub(super) fn smtp_auth_disabled(mailbox: &str, reply: &[String]) -> Explanation {
    let text = reply.join(" ");
    let tenant = text.contains("for the Tenant");
    let mailbox_fix = fixes::enable(mailbox, Protocol::Smtp);
    if tenant {
        one(
            "SMTP AUTH is disabled for the whole tenant (the default for tenants created after \
             January 2020); OAuth does not bypass it",
            Some(format!(
                "enable it for this mailbox only: {mailbox_fix} (a mailbox setting overrides the \
                 tenant's), or for all: Set-TransportConfig -SmtpClientAuthenticationDisabled $false"
            )),
        )
    } else {
        one(
            format!("SMTP AUTH is disabled for the mailbox {}", mailbox),
            Some(mailbox_fix),
        )
    }
}

pub(super) fn auth_blocked(reply: &[String]) -> Explanation {
    let text = reply.join(" ");
    if text.contains("5.7.30") {
        basic_auth_retired()
    } else if text.contains("security defaults") {
        one(
            "Security Defaults are on for the tenant, and they block SMTP AUTH",
            Some(
                "turn Security Defaults off (Entra admin center → Properties → Manage security \
                 defaults) and enforce MFA with Conditional Access instead"
                    .into(),
            ),
        )
    } else if text.contains("did not meet the criteria") {
        one(
            "a Conditional Access policy blocked the sign-in",
            Some(
                "check the Entra sign-in log for this user and app; exclude or satisfy the policy"
                    .into(),
            ),
        )
    } else {
        one(
            "an authentication policy blocked the sign-in",
            Some("check the tenant's authentication policies for SMTP".into()),
        )
    }
}

/// `550 5.7.30 Basic authentication is not supported for Client Submission`: Exchange Online
/// took the sign-in for Basic (a password) after Basic was turned off for SMTP AUTH — off by
/// default for existing tenants from the end of December 2026 (docs/exchange-2026.md). xoauth
/// itself only sends OAuth, so seeing it here means the server did not read the exchange as
/// OAuth; for the printers and scripts that meet it, the way out is OAuth or HVE.
fn basic_auth_retired() -> Explanation {
    Explanation {
        cause: "Exchange Online refused Basic authentication for SMTP client submission (5.7.30): \
                Basic is off by default for existing tenants from the end of December 2026 and \
                unavailable to tenants created after it; OAuth is what it accepts"
            .into(),
        candidates: vec![
            "the sign-in used a password (AUTH LOGIN or PLAIN), not an OAuth token".into(),
            "the XOAUTH2 exchange was not read as OAuth (run with -v and check the mechanism \
             and that the token is an Exchange Online access token)"
                .into(),
        ],
        fix: Some(
            "move each sender that uses a password (printers, scripts, apps) to OAuth and prove \
             it with xoauth smtp; for mail to internal recipients only, High Volume Email \
             (--provider microsoft-hve) is the other supported path. Admins can still turn \
             Basic back on for a while (Microsoft's message center post MC786329); the final \
             removal date is to be announced in the second half of 2027"
                .into(),
        ),
        evidence: Vec::new(),
    }
}
