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

mod rejected;
pub mod tls;
pub mod token;

pub use crate::outcome::{Explanation, Finding};

use crate::outcome::FailureKind;
use crate::powershell::{Kind, is_valid, quote};
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

/// The cause, candidates and fix for a failure, with the evidence they rest on.
pub fn explain(e: &Evidence<'_>) -> Explanation {
    let mut ex = from_facts(e).unwrap_or_else(|| by_kind(e));
    ex.evidence = gather(e);
    ex
}

/// The facts that settle a cause, or `None` to fall back to the row of the failure kind.
fn from_facts(e: &Evidence<'_>) -> Option<Explanation> {
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
            let blocking: Vec<Finding> = token::findings(e.checked(), c, e.user, e.mailbox, e.now)
                .into_iter()
                .filter(|f| f.blocking)
                .collect();
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
                    fix: Some(format!(
                        "Set-CASMailbox -Identity {} -{switch} $true",
                        quote(e.mailbox)
                    )),
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
    candidates.push(format!("{proto} is disabled for the mailbox {}", e.mailbox));
    let register = format!(
        "New-ServicePrincipal -AppId {app_arg} -ObjectId {oid_arg} (if Get-ServicePrincipal -Identity {app_arg} shows another ObjectId, Remove-ServicePrincipal it first)"
    );
    let grant = format!(
        "Add-MailboxPermission -Identity {} -User {oid_arg} -AccessRights FullAccess",
        quote(e.mailbox)
    );
    let fix = if not_connected {
        format!("{grant}; if that exists already: {register}")
    } else {
        format!("{register}; then {grant}")
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

/// Exchange says how long to wait; say it in minutes.
fn throttled(e: &Evidence<'_>) -> Explanation {
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

fn by_kind(e: &Evidence<'_>) -> Explanation {
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
        TlsFailed => one(
            "the TLS handshake failed",
            Some(
                "check that the port speaks TLS from the first byte (993, 995, 465) or use \
                 --starttls on 143, 110 or 587; the server must offer TLS 1.2 or 1.3"
                    .into(),
            ),
        ),
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
        SmtpAuthDisabled => smtp_auth_disabled(e),
        AuthBlockedByPolicy => auth_blocked(e),
        SendAsDenied => {
            // Exchange names the address: "<mailbox> not allowed to send as <from>;".
            let text = e.server_reply.join(" ");
            // The address comes from the server: quoted like any value, placeholder left bare.
            let named = text
                .split("send as ")
                .nth(1)
                .and_then(|rest| rest.split([';', ' ']).next())
                .filter(|a| a.contains('@'));
            let from = named.unwrap_or("<from address>");
            let from_arg = named.map_or_else(|| from.to_string(), quote);
            let mut ex = one(
                format!(
                    "{} may not send as {from} (no SendAs permission)",
                    e.mailbox
                ),
                Some(format!(
                    "send as the authenticated mailbox, or grant it: Add-RecipientPermission \
                     -Identity {from_arg} -Trustee {} -AccessRights SendAs",
                    quote(e.mailbox)
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
            "Add-MailboxPermission -Identity {mbx} -User {} -AccessRights FullAccess; check \
             {check}",
            grantee(e)
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
            format!(
                "the mailbox {} does not exist or is not licensed",
                e.mailbox
            ),
            format!("{proto} is disabled for the mailbox"),
            "too many connections in a short time (Exchange throttles chatty clients)".into(),
        ],
        fix: Some(fix),
        evidence: Vec::new(),
    }
}

/// The AADSTS number in the provider's reply, if any.
pub fn aadsts_code(reply: &[String]) -> Option<u32> {
    reply.iter().find_map(|line| {
        let at = line.find("AADSTS")?;
        let digits: String = line[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// Token-endpoint errors (reference E1), with the app id filled in where known.
fn token_rejected(e: &Evidence<'_>) -> Explanation {
    let app = e.client_id.unwrap_or("<application id>");
    let error = e
        .server_reply
        .first()
        .and_then(|l| l.strip_prefix("error: "))
        .unwrap_or("");
    let (cause, fix): (String, Option<String>) = match aadsts_code(e.server_reply) {
        Some(7000215) => (
            "the client secret is wrong; often the secret's ID was copied instead of its Value".into(),
            Some(format!("Entra admin center → App registrations → {app} → Certificates & secrets: create a new secret and copy its Value")),
        ),
        Some(7000222) => (
            "the client secret has expired".into(),
            Some(format!("create a new client secret for {app}, or move to a certificate credential")),
        ),
        Some(700027) => (
            "the certificate that signed the client assertion is not registered on the app (never uploaded, replaced, or expired)".into(),
            Some(format!("upload the certificate's public part to App registrations → {app} → Certificates & secrets, and compare thumbprints")),
        ),
        Some(50013) => (
            "the client assertion's signature does not verify: the private key does not belong to the registered certificate".into(),
            Some("use the private key that matches the uploaded certificate".into()),
        ),
        Some(700016) => (
            format!("no application with id {app} exists in this tenant: a wrong client id, a wrong tenant, or an app never consented there"),
            Some("compare the Application (client) ID and Directory (tenant) ID on the app's Overview page with --client-id and --tenant".into()),
        ),
        Some(90002) => (
            "the tenant does not exist in this cloud".into(),
            Some("check --tenant; a GCC High or 21Vianet tenant needs --provider microsoft-usgov or microsoft-china".into()),
        ),
        Some(65001) => match e.protocol {
            // The check says which permission its protocol needs; Entra's message names none.
            Some(p) => {
                let scope = p.exchange_delegated_scope_uri();
                (
                    format!("nobody has consented to the delegated permissions of {app}: {} needs {scope}", p.label()),
                    Some(format!("grant admin consent for {scope} (App registrations → {app} → API permissions → Add a permission → {} (delegated) → Grant admin consent), or sign in once interactively and accept", p.exchange_delegated_scope())),
                )
            }
            None => (
                format!("nobody has consented to the delegated permissions of {app}"),
                Some(format!("grant admin consent (App registrations → {app} → API permissions → Grant admin consent), or sign in once interactively and accept")),
            ),
        },
        Some(1002012) | Some(70011) => (
            "client credentials need a scope that ends in /.default".into(),
            Some("use --scope https://outlook.office365.com/.default (the default for --flow client-credentials)".into()),
        ),
        Some(700082 | 70008 | 50173 | 70043) => (
            "the refresh token has expired or was revoked".into(),
            Some("sign in again (xoauth cache clear removes the stale entry)".into()),
        ),
        Some(50011) => (
            "the redirect URI is not registered on the app".into(),
            Some(format!("add http://localhost as a 'Mobile and desktop applications' redirect URI of {app}")),
        ),
        Some(500011) => (
            "the resource in the scope was not found in the tenant (a typo in the scope, or no Exchange Online in this tenant)".into(),
            Some("request https://outlook.office.com/... (delegated) or https://outlook.office365.com/.default (app-only)".into()),
        ),
        Some(53003) => (
            "a Conditional Access policy blocked the token".into(),
            Some("check the Entra sign-in log for this app and user; exclude or satisfy the policy".into()),
        ),
        Some(530035) => (
            "Security Defaults blocked the sign-in".into(),
            Some("turn Security Defaults off and enforce MFA with Conditional Access instead".into()),
        ),
        Some(50076 | 50079) => (
            "multi-factor authentication is required".into(),
            Some("use --flow interactive or --flow device-code, which can complete MFA".into()),
        ),
        Some(700025) => (
            format!("{app} is a public client, so it must not present a secret or certificate"),
            Some("drop the secret (use --flow interactive or device-code), or use a confidential app for client credentials".into()),
        ),
        Some(7000218) => (
            format!("{app} is a confidential client and needs a credential"),
            Some("give --client-secret-env/-file/-prompt or --certificate, or enable 'Allow public client flows' on the app for device code".into()),
        ),
        Some(code) => (
            format!("the identity platform refused the request (AADSTS{code})"),
            Some(format!("see https://login.microsoftonline.com/error?code={code}")),
        ),
        None => (
            format!(
                "the identity provider refused the request ({})",
                if error.is_empty() { "no error code" } else { error }
            ),
            Some("read error_description in the reply above; compare --client-id, --tenant and --scope with the app's registration".into()),
        ),
    };
    one(cause, fix)
}

fn smtp_auth_disabled(e: &Evidence<'_>) -> Explanation {
    let text = e.server_reply.join(" ");
    let tenant = text.contains("for the Tenant");
    let mailbox_fix = format!(
        "Set-CASMailbox -Identity {} -SmtpClientAuthenticationDisabled $false",
        quote(e.mailbox)
    );
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
            format!("SMTP AUTH is disabled for the mailbox {}", e.mailbox),
            Some(mailbox_fix),
        )
    }
}

fn auth_blocked(e: &Evidence<'_>) -> Explanation {
    let text = e.server_reply.join(" ");
    if text.contains("security defaults") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::decode_error_challenge;

    fn evidence(kind: FailureKind) -> Evidence<'static> {
        Evidence {
            kind,
            protocol: Some(Protocol::Imap),
            user: "alice@contoso.example",
            mailbox: "payroll@contoso.example",
            server_reply: &[],
            challenge: None,
            claims: None,
            token_note: None,
            client_id: Some("66666666-7777-8888-9999-000000000000"),
            exchange_online: true,
            implicit_tls: true,
            now: 0,
        }
    }

    #[test]
    fn not_connected_names_the_mailbox_and_the_permission() {
        let ex = explain(&evidence(FailureKind::AuthenticatedNotConnected));
        assert!(ex.cause.contains("payroll@contoso.example"));
        assert!(ex.candidates[0].contains("FullAccess"));
        assert!(ex.fix.unwrap().contains(
            "Add-MailboxPermission -Identity 'payroll@contoso.example' -User 'alice@contoso.example'"
        ));
    }

    #[test]
    fn silent_rejection_lists_candidates_not_a_single_cause() {
        let ex = explain(&evidence(FailureKind::AuthRejected));
        assert!(ex.candidates.len() >= 4);
        assert!(
            ex.candidates
                .iter()
                .any(|c| c.contains("IMAP.AccessAsUser.All"))
        );
        // This used to assert that there was no fix at all: every failure now gets one, the
        // next step that tells the candidates apart (issue 9).
        assert!(ex.fix.is_some_and(|f| f.contains("Get-CASMailbox")));
    }

    #[test]
    fn smtp_auth_disabled_names_tenant_or_mailbox() {
        let tenant = ["535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.".to_string()];
        let mut e = evidence(FailureKind::SmtpAuthDisabled);
        e.protocol = Some(Protocol::Smtp);
        e.server_reply = &tenant;
        let ex = explain(&e);
        assert!(ex.cause.contains("whole tenant"));
        let fix = ex.fix.unwrap();
        assert!(fix.contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false"));
        assert!(fix.contains("Set-CASMailbox -Identity 'payroll@contoso.example' -SmtpClientAuthenticationDisabled $false"));
        let mailbox = ["535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.".to_string()];
        e.server_reply = &mailbox;
        let ex = explain(&e);
        assert!(ex.cause.contains("for the mailbox payroll@contoso.example"));
        assert!(!ex.fix.unwrap().contains("Set-TransportConfig"));
    }

    #[test]
    fn pop_rejection_names_the_mailbox_causes() {
        let mut e = evidence(FailureKind::AuthRejected);
        e.protocol = Some(Protocol::Pop);
        let ex = explain(&e);
        assert!(
            ex.candidates
                .iter()
                .any(|c| c.contains("PopEnabled") && c.contains("FullAccess"))
        );
        assert!(
            ex.candidates
                .iter()
                .any(|c| c.contains("POP.AccessAsUser.All"))
        );
    }

    #[test]
    fn port_465_against_exchange_is_named() {
        let mut e = evidence(FailureKind::Timeout);
        e.protocol = Some(Protocol::Smtp);
        assert!(explain(&e).cause.contains("465"));
        e.exchange_online = false;
        assert!(!explain(&e).cause.contains("465"));
    }

    #[test]
    fn security_defaults_and_send_as() {
        let reply = ["535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.".to_string()];
        let mut e = evidence(FailureKind::AuthBlockedByPolicy);
        e.server_reply = &reply;
        assert!(explain(&e).cause.contains("Security Defaults"));
        let ex = explain(&evidence(FailureKind::SendAsDenied));
        assert!(ex.fix.unwrap().contains("Add-RecipientPermission"));
    }

    #[test]
    fn aadsts_rows_name_the_app() {
        let reply = [
            "error: invalid_client".to_string(),
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '66666666-7777-8888-9999-000000000000'.".to_string(),
            "Trace ID: 1".to_string(),
        ];
        assert_eq!(aadsts_code(&reply), Some(7000215));
        let e = Evidence {
            server_reply: &reply,
            ..evidence(FailureKind::TokenRejected)
        };
        let ex = explain(&e);
        assert!(ex.cause.contains("secret's ID"));
        assert!(
            ex.fix
                .unwrap()
                .contains("66666666-7777-8888-9999-000000000000")
        );
        for (code, words) in [
            (7000222, "expired"),
            (700027, "certificate"),
            (700016, "no application"),
            (90002, "tenant does not exist"),
            (65001, "consented"),
            (1002012, "/.default"),
            (700082, "refresh token"),
            (53003, "Conditional Access"),
            (530035, "Security Defaults"),
            (50076, "multi-factor"),
            (50011, "redirect URI"),
            (500011, "resource"),
        ] {
            let reply = [format!("AADSTS{code}: text")];
            let e = Evidence {
                server_reply: &reply,
                ..evidence(FailureKind::TokenRejected)
            };
            assert!(
                explain(&e).cause.contains(words),
                "{code}: {}",
                explain(&e).cause
            );
        }
        let none: [String; 1] = ["error: invalid_grant".into()];
        let e = Evidence {
            server_reply: &none,
            ..evidence(FailureKind::TokenRejected)
        };
        assert!(explain(&e).cause.contains("invalid_grant"));
    }

    #[test]
    fn app_only_not_connected_grants_the_service_principal() {
        let claims = Claims {
            idtyp: Some("app".into()),
            oid: Some("sp-object-id".into()),
            roles: vec!["IMAP.AccessAsApp".into()],
            ..Claims::default()
        };
        let mut e = evidence(FailureKind::AuthenticatedNotConnected);
        e.claims = Some(&claims);
        assert!(
            explain(&e)
                .fix
                .unwrap()
                .contains("-User 'sp-object-id' -AccessRights FullAccess")
        );
    }

    fn app_claims() -> Claims {
        Claims {
            iss: Some("https://sts.windows.net/t/".into()),
            tid: Some("t".into()),
            aud: Some("https://outlook.office365.com".into()),
            roles: vec!["IMAP.AccessAsApp".into(), "POP.AccessAsApp".into()],
            idtyp: Some("app".into()),
            appid: Some("app-1".into()),
            oid: Some("sp-1".into()),
            exp: Some(10_000),
            ..Claims::default()
        }
    }

    #[test]
    fn claims_facts_override_the_generic_row() {
        let graph = Claims {
            aud: Some("https://graph.microsoft.com".into()),
            ..app_claims()
        };
        let e = Evidence {
            claims: Some(&graph),
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(
            ex.cause.starts_with("the token cannot work for IMAP"),
            "{}",
            ex.cause
        );
        assert!(ex.candidates.is_empty(), "a fact, not candidates");
        assert!(
            ex.evidence
                .iter()
                .any(|l| l.contains("aud https://graph.microsoft.com"))
        );
    }

    #[test]
    fn app_with_the_role_refused_points_at_the_service_principal_with_real_ids() {
        let c = app_claims();
        let reply = ["A1 NO AUTHENTICATE failed.".to_string()];
        let e = Evidence {
            claims: Some(&c),
            server_reply: &reply,
            mailbox: "sales@contoso.example",
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(ex.cause.contains("service principal"), "{}", ex.cause);
        // Ambiguous: registered or not, and with which object id, cannot be told apart.
        assert!(ex.candidates.len() >= 3);
        assert!(
            ex.candidates
                .iter()
                .any(|c| c.contains("App Registration's object id"))
        );
        assert!(
            ex.fix
                .unwrap()
                .starts_with("New-ServicePrincipal -AppId 'app-1' -ObjectId 'sp-1'")
        );
        assert_eq!(ex.evidence[0], "server said: A1 NO AUTHENTICATE failed.");
    }

    #[test]
    fn own_mailbox_not_connected_means_the_protocol_is_disabled() {
        let c = Claims {
            iss: Some("https://sts.windows.net/t/".into()),
            aud: Some("https://outlook.office.com".into()),
            scp: Some("IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send".into()),
            upn: Some("alice@contoso.example".into()),
            exp: Some(10_000),
            ..Claims::default()
        };
        let e = Evidence {
            claims: Some(&c),
            mailbox: "alice@contoso.example",
            ..evidence(FailureKind::AuthenticatedNotConnected)
        };
        let ex = explain(&e);
        assert_eq!(
            ex.fix.as_deref(),
            Some("Set-CASMailbox -Identity 'alice@contoso.example' -ImapEnabled $true")
        );
        // Without claims the same evidence stays ambiguous: candidates, not a verdict.
        let e = Evidence {
            mailbox: "alice@contoso.example",
            ..evidence(FailureKind::AuthenticatedNotConnected)
        };
        assert!(explain(&e).candidates.len() >= 3);
    }

    #[test]
    fn throttling_states_the_backoff() {
        let reply = [
            "a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds".to_string(),
        ];
        let e = Evidence {
            server_reply: &reply,
            ..evidence(FailureKind::Throttled)
        };
        assert!(
            // Rounded up (it said "299 s (about 4 min)", shorter than asked: issue 15).
            explain(&e).cause.contains("300 s (about 5 min)"),
            "{}",
            explain(&e).cause
        );
        let smtp = ["432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded".to_string()];
        let e = Evidence {
            server_reply: &smtp,
            ..evidence(FailureKind::Throttled)
        };
        assert!(explain(&e).cause.contains("3 SMTP connections"));
    }

    #[test]
    fn other_servers_get_no_exchange_advice() {
        // Dovecot: a generic challenge, and no Exchange permission model.
        let c = decode_error_challenge(
            "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=",
        );
        let e = Evidence {
            challenge: Some(&c),
            exchange_online: false,
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(
            ex.cause.contains("status 401, scope \"mail\""),
            "{}",
            ex.cause
        );
        assert!(!format!("{ex:?}").contains("New-ServicePrincipal"));
        let e = Evidence {
            exchange_online: false,
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(!ex.cause.contains("Exchange"), "{}", ex.cause);
        assert!(!ex.candidates.iter().any(|c| c.contains("AccessAs")));
        // An app token refused by a non-Exchange server is not a service-principal problem.
        let app = app_claims();
        let e = Evidence {
            claims: Some(&app),
            exchange_online: false,
            mailbox: "sales@contoso.example",
            ..evidence(FailureKind::AuthRejected)
        };
        assert!(!explain(&e).cause.contains("service principal"));
        let e = evidence(FailureKind::ServerTemporaryFailure);
        assert!(explain(&e).fix.unwrap().contains("username_attribute"));
    }

    #[test]
    fn a_challenge_is_quoted_in_the_cause() {
        let c = decode_error_challenge(
            "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
        );
        let mut e = evidence(FailureKind::AuthRejected);
        e.challenge = Some(&c);
        let ex = explain(&e);
        assert!(ex.cause.contains("status 400"));
        assert!(ex.cause.contains("https://mail.google.com/"));
    }

    /// Every failure kind. The match makes a new kind a compile error here until it is listed.
    fn every_kind() -> Vec<FailureKind> {
        use FailureKind::*;
        let all = vec![
            TokenUnusable,
            TokenRejected,
            SignInIncomplete,
            TokenEndpointUnreachable,
            CredentialUnusable,
            ConnectFailed,
            Timeout,
            ConnectionClosed,
            TlsUntrusted,
            TlsNameMismatch,
            TlsExpired,
            TlsFailed,
            StarttlsNotOffered,
            StarttlsRefused,
            DataBeforeTls,
            ServerTooVerbose,
            GreetingRejected,
            ProtocolError,
            MechanismNotOffered,
            AuthRejected,
            AuthenticatedNotConnected,
            Throttled,
            ListFailed,
            ExamineFailed,
            ServerTemporaryFailure,
            SmtpAuthDisabled,
            AuthBlockedByPolicy,
            SendAsDenied,
            SendRejected,
            StatFailed,
            PlaintextPort,
            ImplicitTlsPort,
        ];
        for k in &all {
            match k {
                TokenUnusable
                | TokenRejected
                | SignInIncomplete
                | TokenEndpointUnreachable
                | CredentialUnusable
                | ConnectFailed
                | Timeout
                | ConnectionClosed
                | TlsUntrusted
                | TlsNameMismatch
                | TlsExpired
                | TlsFailed
                | StarttlsNotOffered
                | StarttlsRefused
                | DataBeforeTls
                | ServerTooVerbose
                | GreetingRejected
                | ProtocolError
                | MechanismNotOffered
                | AuthRejected
                | AuthenticatedNotConnected
                | Throttled
                | ListFailed
                | ExamineFailed
                | ServerTemporaryFailure
                | SmtpAuthDisabled
                | AuthBlockedByPolicy
                | SendAsDenied
                | SendRejected
                | StatFailed
                | PlaintextPort
                | ImplicitTlsPort => {}
            }
        }
        all
    }

    fn delegated_for(user: &str) -> Claims {
        Claims {
            iss: Some("https://sts.windows.net/t/".into()),
            tid: Some("t".into()),
            aud: Some("https://outlook.office.com".into()),
            scp: Some("IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send".into()),
            upn: Some(user.into()),
            exp: Some(3_600),
            ..Claims::default()
        }
    }

    /// Every row under every kind of evidence: each protocol, Exchange or not, no claims /
    /// delegated / app-only / an opaque token, own mailbox or another, each kind of reply.
    fn walk(
        mailbox: &str,
        user: &str,
        delegated: &Claims,
        app: &Claims,
        mut f: impl FnMut(&Evidence<'_>),
    ) {
        let replies: Vec<Vec<String>> = vec![
            vec![],
            vec!["A1 NO AUTHENTICATE failed.".into()],
            vec!["554 5.2.252 SendAsDenied; x@x.com not allowed to send as f’;calc4;’@x.com; STOREDRV".into()],
            vec!["535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.".into()],
            vec!["535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy.".into()],
            vec!["a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds".into()],
            vec!["error: invalid_client".into(), "AADSTS65001: text".into()],
            vec!["error: invalid_grant".into()],
        ];
        let note =
            "the token is not a JWT (not three dot-separated parts), so it has no readable claims";
        for kind in every_kind() {
            for protocol in [
                Some(Protocol::Imap),
                Some(Protocol::Pop),
                Some(Protocol::Smtp),
                None,
            ] {
                for exchange in [true, false] {
                    for claims in [None, Some(delegated), Some(app)] {
                        for token_note in [None, Some(note)] {
                            for (u, m) in [(mailbox, mailbox), (user, mailbox)] {
                                for reply in &replies {
                                    for implicit_tls in [true, false] {
                                        f(&Evidence {
                                            kind,
                                            protocol,
                                            user: u,
                                            mailbox: m,
                                            server_reply: reply,
                                            challenge: None,
                                            claims,
                                            token_note: token_note.filter(|_| claims.is_none()),
                                            client_id: Some("66666666-7777-8888-9999-000000000000"),
                                            exchange_online: exchange,
                                            implicit_tls,
                                            now: 0,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_failure_has_a_fix() {
        let delegated = delegated_for("alice@contoso.example");
        let app = app_claims();
        let mut seen = 0;
        walk(
            "alice@contoso.example",
            "bob@contoso.example",
            &delegated,
            &app,
            |e| {
                let ex = explain(e);
                assert!(
                    ex.fix.as_deref().is_some_and(|f| !f.trim().is_empty()),
                    "{:?} ({:?}, exchange {}) has no fix: {ex:?}",
                    e.kind,
                    e.protocol,
                    e.exchange_online
                );
                seen += 1;
            },
        );
        assert!(seen > 10_000, "{seen}");
    }

    /// PowerShell's single-quoted literal, read from about_Quoting_Rules independently of the
    /// quoting code: value and what follows, or `None` when it is not one.
    fn ps_literal(s: &str) -> Option<(String, &str)> {
        let q = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
        let mut it = s.char_indices().peekable();
        if !q(it.next()?.1) {
            return None;
        }
        let mut v = String::new();
        while let Some((i, c)) = it.next() {
            if !q(c) {
                v.push(c);
            } else if let Some(&(_, n)) = it.peek().filter(|(_, n)| q(*n)) {
                v.push(n);
                it.next();
            } else {
                return Some((v, &s[i + c.len_utf8()..]));
            }
        }
        None
    }

    #[test]
    fn every_value_in_a_printed_command_is_one_quoted_literal() {
        // Values from the command line, the token and the server, each built to escape a
        // naively quoted string (PowerShell closes a '...' string at ’ as well).
        let mailbox = "x’;calc;’@x.com";
        let user = "u’;calc3;’@x.com";
        let delegated = delegated_for(user);
        let app = Claims {
            oid: Some("o’;calc1;’".into()),
            appid: Some("a’;calc2;’".into()),
            ..app_claims()
        };
        let values = [
            mailbox,
            user,
            "o’;calc1;’",
            "a’;calc2;’",
            "f’;calc4;’@x.com",
            "66666666-7777-8888-9999-000000000000",
        ];
        let mut checked = 0;
        let mut check = |text: &str, what: &str| {
            for param in ["-Identity ", "-User ", "-AppId ", "-ObjectId ", "-Trustee "] {
                for (at, _) in text.match_indices(param) {
                    let arg = &text[at + param.len()..];
                    if arg.starts_with('<') {
                        continue; // a placeholder, which fails if pasted unchanged
                    }
                    let (value, rest) = ps_literal(arg)
                        .unwrap_or_else(|| panic!("{what}: {param}is not quoted in {text:?}"));
                    assert!(
                        values.contains(&value.as_str()),
                        "{what}: {param}reads as {value:?} in {text:?}"
                    );
                    assert!(
                        rest.is_empty() || rest.starts_with([' ', ';', ')', ',']),
                        "{what}: {rest:?} follows the literal in {text:?}"
                    );
                    checked += 1;
                }
            }
        };
        walk(mailbox, user, &delegated, &app, |e| {
            let ex = explain(e);
            check(ex.fix.as_deref().unwrap_or(""), "fix");
            for c in &ex.candidates {
                check(c, "candidate");
            }
        });
        for protocol in [Protocol::Imap, Protocol::Pop, Protocol::Smtp] {
            for (u, m) in [(mailbox, mailbox), (user, mailbox), ("a@b.com", mailbox)] {
                for c in [&delegated, &app] {
                    for f in preflight(protocol, c, u, m, 0) {
                        check(f.fix.as_deref().unwrap_or(""), "pre-flight fix");
                    }
                }
            }
        }
        assert!(checked > 1_000, "{checked}");
    }

    #[test]
    fn unusual_values_are_called_out() {
        let app = Claims {
            oid: Some("o’;calc1;’".into()),
            ..app_claims()
        };
        let e = Evidence {
            claims: Some(&app),
            mailbox: "x’;calc;’@x.com",
            ..evidence(FailureKind::AuthenticatedNotConnected)
        };
        let ev = explain(&e).evidence;
        assert!(
            ev.iter()
                .any(|l| l.contains("unusual value: the token's oid")),
            "{ev:?}"
        );
        assert!(
            ev.iter().any(|l| l.contains("unusual value: the mailbox")),
            "{ev:?}"
        );
        let fine = app_claims();
        let e = Evidence {
            claims: Some(&Claims {
                oid: Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into()),
                appid: Some("66666666-7777-8888-9999-000000000000".into()),
                ..fine
            }),
            ..evidence(FailureKind::AuthenticatedNotConnected)
        };
        assert!(!explain(&e).evidence.iter().any(|l| l.contains("unusual")));
    }

    #[test]
    fn the_claims_rule_out_what_they_rule_out() {
        // A bare NO AUTHENTICATE failed. with a token valid for another hour, for Exchange,
        // with the scope, opening its own mailbox: none of those can be the cause.
        let c = delegated_for("alice@contoso.example");
        // (POP's own-mailbox refusal has its own verdict: POP disabled.)
        let reply = ["A1 NO AUTHENTICATE failed.".to_string()];
        for protocol in [Protocol::Imap, Protocol::Smtp] {
            let e = Evidence {
                protocol: Some(protocol),
                claims: Some(&c),
                user: "alice@contoso.example",
                mailbox: "alice@contoso.example",
                server_reply: &reply,
                ..evidence(FailureKind::AuthRejected)
            };
            let ex = explain(&e);
            assert!(ex.cause.contains("valid for 60 more min"), "{}", ex.cause);
            for ruled_out in ["expired", "audience", "scope", "app-only", "does not match"] {
                assert!(
                    !ex.candidates.iter().any(|c| c.contains(ruled_out)),
                    "{protocol:?}: {ruled_out} is ruled out: {:?}",
                    ex.candidates
                );
            }
            assert!(!ex.candidates.is_empty());
            assert!(
                ex.fix
                    .unwrap()
                    .contains("Get-CASMailbox -Identity 'alice@contoso.example'")
            );
        }
        // Expired claims still make expiry the cause.
        let e = Evidence {
            claims: Some(&c),
            user: "alice@contoso.example",
            mailbox: "alice@contoso.example",
            now: 7_200,
            ..evidence(FailureKind::AuthRejected)
        };
        assert!(explain(&e).cause.contains("expired"));
        // Another server: the same claims rule expiry out there too.
        let e = Evidence {
            claims: Some(&c),
            user: "alice@contoso.example",
            mailbox: "alice@contoso.example",
            exchange_online: false,
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(
            !ex.candidates.iter().any(|c| c.contains("expired")),
            "{ex:?}"
        );
    }

    #[test]
    fn a_token_that_is_not_a_jwt_is_not_exchanges() {
        let note =
            "the token is not a JWT (not three dot-separated parts), so it has no readable claims";
        let e = Evidence {
            token_note: Some(note),
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(
            ex.cause.contains("not an Exchange Online access token"),
            "{}",
            ex.cause
        );
        assert!(ex.fix.unwrap().contains("access_token"));
        // Gmail's ya29. tokens are not JWTs either, and are fine there.
        let e = Evidence {
            token_note: Some(note),
            exchange_online: false,
            ..evidence(FailureKind::AuthRejected)
        };
        assert!(!explain(&e).cause.contains("Exchange Online access token"));
    }

    #[test]
    fn bobs_token_for_alice_names_bob_and_never_grants_alice_to_alice() {
        let bob = delegated_for("bob@contoso.example");
        for kind in [
            FailureKind::AuthRejected,
            FailureKind::AuthenticatedNotConnected,
        ] {
            let e = Evidence {
                claims: Some(&bob),
                user: "alice@contoso.example",
                mailbox: "alice@contoso.example",
                ..evidence(kind)
            };
            let ex = explain(&e);
            assert!(
                ex.cause
                    .starts_with("the token is bob@contoso.example's, not alice@contoso.example's"),
                "{}",
                ex.cause
            );
            let fix = ex.fix.clone().unwrap();
            assert!(
                fix.contains("--user bob@contoso.example --mailbox alice@contoso.example"),
                "{fix}"
            );
            assert!(
                fix.contains("obtain alice@contoso.example's token"),
                "{fix}"
            );
            assert!(fix.contains("-Identity 'alice@contoso.example' -User 'bob@contoso.example'"));
            assert!(!fix.contains("-User 'alice@contoso.example'"), "{fix}");
            assert!(!format!("{ex:?}").contains("app-only"), "{ex:?}");
        }
        // Pre-flight says the same before connecting.
        let f = preflight(
            Protocol::Imap,
            &bob,
            "alice@contoso.example",
            "alice@contoso.example",
            0,
        );
        assert!(
            f[0].message
                .starts_with("the token is bob@contoso.example's"),
            "{f:?}"
        );
        // bob opening alice's mailbox on purpose (--user bob --mailbox alice) is no mix-up.
        let e = Evidence {
            claims: Some(&bob),
            user: "bob@contoso.example",
            mailbox: "alice@contoso.example",
            ..evidence(FailureKind::AuthRejected)
        };
        let ex = explain(&e);
        assert!(!ex.cause.contains("not alice"), "{}", ex.cause);
        assert!(ex.fix.unwrap().starts_with(
            "Add-MailboxPermission -Identity 'alice@contoso.example' -User 'bob@contoso.example'"
        ));
        // An own mailbox that will not open is never fixed by granting the user to itself.
        let e = Evidence {
            user: "alice@contoso.example",
            mailbox: "alice@contoso.example",
            ..evidence(FailureKind::AuthenticatedNotConnected)
        };
        let fix = explain(&e).fix.unwrap();
        assert!(!fix.contains("-User 'alice@contoso.example'"), "{fix}");
    }

    #[test]
    fn missing_consent_names_the_scope_the_protocol_needs() {
        let reply = [
            "error: invalid_grant".to_string(),
            "AADSTS65001: The user or administrator has not consented".to_string(),
        ];
        for (protocol, scope) in [
            (
                Protocol::Imap,
                "https://outlook.office.com/IMAP.AccessAsUser.All",
            ),
            (
                Protocol::Pop,
                "https://outlook.office.com/POP.AccessAsUser.All",
            ),
            (Protocol::Smtp, "https://outlook.office.com/SMTP.Send"),
        ] {
            let e = Evidence {
                protocol: Some(protocol),
                server_reply: &reply,
                ..evidence(FailureKind::TokenRejected)
            };
            let ex = explain(&e);
            assert!(ex.cause.contains(scope), "{}", ex.cause);
            assert!(ex.fix.unwrap().contains(scope));
        }
    }
}
