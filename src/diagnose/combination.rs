//! What a mailbox's protocols mean together in a bulk audit (issue 12): when IMAP opens the
//! mailbox and SMTP says `535 5.7.139`, the answer is one switch, not three cells of advice.
//!
//! A pass proves what every protocol shares (reference C, E2, I): the token is valid and for
//! Exchange, the account signs in, the mailbox exists, the app's service principal is
//! registered, and (IMAP, POP) the principal may open the mailbox. So when the same token is
//! refused for the same mailbox over another protocol, what is left is that protocol's own:
//! its switch on the mailbox, its permission in the token, SMTP AUTH, Send As. Each row of
//! [`RULES`] is one such combination and what it means; the first row that matches speaks.
//!
//! What the token already holds (its `roles` or `scp`, in [`Principal`]) takes a permission
//! out of the advice: when the token carries SMTP's, the mailbox's own grant (Send As) is
//! what is left. A token whose permissions are not known keeps every candidate.
//!
//! Only Exchange's own refusals count. A timeout, a TLS or token failure, throttling, or a
//! refusal in another server's words (an error challenge, Dovecot's wording) says nothing
//! about permissions: such a cell neither confirms nor contradicts a row.

use super::fixes;
use super::kinds::{auth_blocked, no_such_mailbox, send_as_denied, smtp_auth_disabled};
use crate::outcome::{Explanation, Failure, FailureKind};
use crate::powershell::quote;
use crate::service::Protocol;

use FailureKind::{
    AuthBlockedByPolicy, AuthRejected, AuthenticatedNotConnected, SendAsDenied, SmtpAuthDisabled,
    StatFailed,
};
use Protocol::{Imap, Pop, Smtp};

/// One cell of a mailbox's row: its protocol, and its failure when it did not pass.
pub struct CellFacts<'a> {
    pub protocol: Protocol,
    pub failure: Option<&'a Failure>,
}

/// Who opened the mailbox, and what their token already holds: advice never asks for a
/// permission the token carries, since then what is left is the mailbox's own grant.
pub struct Principal<'a> {
    /// The signed-in user of a delegated token (the mailbox's owner, or a delegate opening a
    /// shared mailbox).
    pub user: Option<&'a str>,
    pub client_id: Option<&'a str>,
    /// An app-only token's `oid`: the Enterprise Application's object id, which Exchange's
    /// permissions name.
    pub service_principal: Option<&'a str>,
    pub app_only: bool,
    /// The token's `roles` (app-only) or `scp` entries (delegated). Empty when not known (an
    /// opaque token): then every permission that may be missing stays a candidate.
    pub granted: Vec<&'a str>,
}

/// What the cells mean together for `mailbox`, opened by `principal`; `None` when they agree,
/// say nothing about permissions, or disagree in a way no row explains (then each cell's own
/// explanation stands).
pub fn explain(
    mailbox: &str,
    principal: &Principal<'_>,
    cells: &[CellFacts<'_>],
) -> Option<Explanation> {
    let g = Grid::new(mailbox, principal, cells);
    let rule = matching(&g)?;
    let mut ex = (rule.says)(&g);
    ex.evidence = g.evidence();
    Some(ex)
}

/// A row: when it applies, and what it says. `name` and `unanimous` are the row's contract,
/// which the tests hold every row to.
#[cfg_attr(not(test), allow(dead_code))]
struct Rule {
    /// How tests and the module's readers name it.
    name: &'static str,
    /// `true`: every protocol that said something refused, the same way (one fix, not three);
    /// `false`: one protocol passed and another was refused.
    unanimous: bool,
    when: fn(&Grid<'_>) -> bool,
    says: fn(&Grid<'_>) -> Explanation,
}

/// The refusals of a protocol that reads the mailbox (IMAP, POP) that a switch or a
/// permission explains: at AUTH, after it, or at the maildrop.
const READ_REFUSED: &[FailureKind] = &[AuthRejected, AuthenticatedNotConnected, StatFailed];

/// Most specific first: the first row that matches speaks.
static RULES: &[Rule] = &[
    Rule {
        name: "smtp_auth_off",
        unanimous: false,
        when: |g| g.refused(Smtp, &[SmtpAuthDisabled]) && g.passed_any(&[Imap, Pop]),
        says: smtp_auth_off,
    },
    Rule {
        name: "smtp_blocked_by_policy",
        unanimous: false,
        when: |g| g.refused(Smtp, &[AuthBlockedByPolicy]) && g.passed_any(&[Imap, Pop]),
        says: smtp_blocked_by_policy,
    },
    Rule {
        name: "app_holds_smtp_send_as_app_but_lacks_send_as",
        unanimous: false,
        when: |g| {
            g.who == Who::App
                && g.holds(Smtp)
                && g.refused(Smtp, &[AuthRejected])
                && g.passed_any(&[Imap, Pop])
        },
        says: app_lacks_send_as,
    },
    Rule {
        name: "app_lacks_smtp_send_as_app",
        unanimous: false,
        when: |g| {
            g.who == Who::App
                && !g.holds(Smtp)
                && g.refused(Smtp, &[AuthRejected])
                && g.passed_any(&[Imap, Pop])
        },
        says: app_lacks_smtp_role,
    },
    Rule {
        name: "token_lacks_smtp_send",
        unanimous: false,
        when: |g| {
            g.who == Who::Own
                && !g.holds(Smtp)
                && g.refused(Smtp, &[AuthRejected])
                && g.passed_any(&[Imap, Pop])
        },
        says: token_lacks_smtp_scope,
    },
    Rule {
        name: "shared_mailbox_smtp_send_but_no_send_as",
        unanimous: false,
        when: |g| {
            g.who == Who::Shared
                && g.holds(Smtp)
                && g.refused(Smtp, &[AuthRejected])
                && g.passed_any(&[Imap, Pop])
        },
        says: shared_lacks_send_as,
    },
    Rule {
        name: "shared_mailbox_smtp_refused",
        unanimous: false,
        when: |g| {
            g.who == Who::Shared
                && !g.holds(Smtp)
                && g.refused(Smtp, &[AuthRejected])
                && g.passed_any(&[Imap, Pop])
        },
        says: shared_smtp_refused,
    },
    Rule {
        name: "full_access_is_not_send_as",
        unanimous: false,
        when: |g| g.refused(Smtp, &[SendAsDenied]) && g.passed_any(&[Imap, Pop]),
        says: full_access_is_not_send_as,
    },
    Rule {
        name: "imap_switched_off",
        unanimous: false,
        when: |g| g.refused(Imap, READ_REFUSED) && g.read_witness(Pop),
        says: |g| switched_off(g, Imap),
    },
    Rule {
        name: "pop_switched_off",
        unanimous: false,
        when: |g| g.refused(Pop, READ_REFUSED) && g.read_witness(Imap),
        says: |g| switched_off(g, Pop),
    },
    Rule {
        name: "shared_mailbox_without_full_access",
        unanimous: false,
        when: |g| {
            g.who == Who::Shared
                && g.passed(Smtp)
                && g.refused_any(&[Imap, Pop], READ_REFUSED)
                && !g.passed_any(&[Imap, Pop])
        },
        says: shared_without_full_access,
    },
    Rule {
        name: "app_refused_everywhere",
        unanimous: true,
        when: |g| g.who == Who::App && g.all_refused(READ_REFUSED),
        says: app_refused_everywhere,
    },
    Rule {
        name: "shared_mailbox_refused_everywhere",
        unanimous: true,
        when: |g| g.who == Who::Shared && g.all_refused(READ_REFUSED),
        says: shared_refused_everywhere,
    },
];

fn matching(g: &Grid<'_>) -> Option<&'static Rule> {
    RULES.iter().find(|r| (r.when)(g))
}

/// What one cell says about the mailbox's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Passed,
    /// Refused by Exchange, in its own words.
    Refused(FailureKind),
    /// Not checked, or failed in a way that says nothing about permissions.
    Nothing,
}

/// Whose token opened the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    App,
    /// A user's token, on the user's own mailbox.
    Own,
    /// A user's token, on another mailbox (a shared one): FullAccess decides.
    Shared,
    /// A user's token, the user not known.
    Delegated,
}

/// The kinds that are refusals about permissions or switches; every other kind (network,
/// TLS, token, throttling, protocol errors, a refused test message) says nothing about them.
const PERMISSION_KINDS: &[FailureKind] = &[
    AuthRejected,
    AuthenticatedNotConnected,
    StatFailed,
    SmtpAuthDisabled,
    AuthBlockedByPolicy,
    SendAsDenied,
];

/// Exchange's refusals that name no reason (reference C1–C3); another server's refusal (with
/// an error challenge, or in its own words) is not read through Exchange's permission model.
const EXCHANGE_REFUSALS: &[&str] = &[
    "AUTHENTICATE failed",
    "Authentication failure: unknown user name or bad password",
    "5.7.3 Authentication unsuccessful",
];

/// Whether a cell's failure is one the mailbox's combined explanation speaks for (a refusal
/// read through Exchange's permission model), so a report may say the combination instead of
/// the cell; a network, TLS or token failure in the same row keeps its own text.
pub fn explains(failure: &Failure) -> bool {
    matches!(said(Some(failure)), Said::Refused(_))
}

fn said(failure: Option<&Failure>) -> Said {
    let Some(f) = failure else {
        return Said::Passed;
    };
    if !PERMISSION_KINDS.contains(&f.kind) {
        return Said::Nothing;
    }
    if f.kind == AuthRejected {
        let exchange = f.challenge.is_none()
            && f.server_reply
                .iter()
                .any(|l| EXCHANGE_REFUSALS.iter().any(|w| l.contains(w)));
        if !exchange {
            return Said::Nothing;
        }
    }
    Said::Refused(f.kind)
}

/// A mailbox's row, read.
struct Grid<'a> {
    mailbox: &'a str,
    user: Option<&'a str>,
    client_id: Option<&'a str>,
    /// An app-only token's `oid`: the Enterprise Application's object id, which Exchange's
    /// permissions name.
    service_principal: Option<&'a str>,
    who: Who,
    /// What the token holds (roles or scopes); empty when not known.
    granted: &'a [&'a str],
    /// The first cell of each protocol, in the order given.
    cells: Vec<(Protocol, Option<&'a Failure>, Said)>,
}

impl<'a> Grid<'a> {
    fn new(mailbox: &'a str, principal: &'a Principal<'a>, given: &[CellFacts<'a>]) -> Self {
        let who = match principal.user {
            _ if principal.app_only => Who::App,
            Some(u) if u.eq_ignore_ascii_case(mailbox) => Who::Own,
            Some(_) => Who::Shared,
            None => Who::Delegated,
        };
        let mut cells: Vec<(Protocol, Option<&'a Failure>, Said)> = Vec::new();
        for c in given {
            if !cells.iter().any(|(p, _, _)| *p == c.protocol) {
                cells.push((c.protocol, c.failure, said(c.failure)));
            }
        }
        Grid {
            mailbox,
            user: principal.user,
            client_id: principal.client_id,
            service_principal: principal.service_principal,
            who,
            granted: &principal.granted,
            cells,
        }
    }

    /// The permission `p` needs in this token: the app's role, or the user's delegated scope.
    fn permission(&self, p: Protocol) -> &'static str {
        match self.who {
            Who::App => p.exchange_app_role(),
            _ => p.exchange_delegated_scope(),
        }
    }

    /// Whether the token is known to carry `p`'s permission (a scope may come with its
    /// resource in front, `https://outlook.office.com/SMTP.Send`).
    fn holds(&self, p: Protocol) -> bool {
        let wanted = self.permission(p);
        self.granted.iter().any(|g| {
            g.rsplit('/')
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
        })
    }

    fn said(&self, p: Protocol) -> Said {
        self.cells
            .iter()
            .find(|(q, _, _)| *q == p)
            .map_or(Said::Nothing, |(_, _, s)| *s)
    }

    fn passed(&self, p: Protocol) -> bool {
        self.said(p) == Said::Passed
    }

    fn passed_any(&self, ps: &[Protocol]) -> bool {
        ps.iter().any(|p| self.passed(*p))
    }

    fn refused(&self, p: Protocol, kinds: &[FailureKind]) -> bool {
        matches!(self.said(p), Said::Refused(k) if kinds.contains(&k))
    }

    fn refused_any(&self, ps: &[Protocol], kinds: &[FailureKind]) -> bool {
        ps.iter().any(|p| self.refused(*p, kinds))
    }

    fn kind(&self, p: Protocol) -> Option<FailureKind> {
        match self.said(p) {
            Said::Refused(k) => Some(k),
            _ => None,
        }
    }

    /// Another protocol that proves what reading `mailbox` needs besides the refused one's own
    /// switch and permission: the other reading protocol, or SMTP on the user's own mailbox
    /// (which needs no FullAccess to read).
    fn read_witness(&self, other: Protocol) -> bool {
        self.passed(other) || (self.who == Who::Own && self.passed(Smtp))
    }

    /// No protocol passed, at least two were refused, and every refusal is one of `kinds`.
    fn all_refused(&self, kinds: &[FailureKind]) -> bool {
        let mut refused = 0;
        for (_, _, s) in &self.cells {
            match s {
                Said::Passed => return false,
                Said::Refused(k) if kinds.contains(k) => refused += 1,
                Said::Refused(_) => return false,
                Said::Nothing => {}
            }
        }
        refused >= 2
    }

    /// "IMAP and POP": the protocols among `ps` that passed.
    fn passed_names(&self, ps: &[Protocol]) -> String {
        names(ps.iter().copied().filter(|p| self.passed(*p)))
    }

    /// "IMAP, POP and SMTP all", "IMAP and POP both": the protocols that were refused.
    fn refused_names(&self) -> String {
        let refused: Vec<Protocol> = self
            .cells
            .iter()
            .filter(|(_, _, s)| matches!(s, Said::Refused(_)))
            .map(|(p, _, _)| *p)
            .collect();
        let all = if refused.len() == 2 { "both" } else { "all" };
        format!("{} {all}", names(refused.into_iter()))
    }

    fn reply(&self, p: Protocol) -> &'a [String] {
        self.cells
            .iter()
            .find(|(q, _, _)| *q == p)
            .and_then(|(_, f, _)| *f)
            .map_or(&[], |f| f.server_reply.as_slice())
    }

    /// The user named in sentences and commands; only rows for a known user reach it.
    fn user(&self) -> &'a str {
        self.user.unwrap_or("<user>")
    }

    /// One line per protocol: what it did, in the server's words where it refused.
    fn evidence(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(|(p, f, s)| match f {
                None => format!("{}: passed", p.label()),
                Some(f) => {
                    let words = f.server_reply.first().unwrap_or(&f.message);
                    let what = if *s == Said::Nothing {
                        "failed (which says nothing about permissions)"
                    } else {
                        "refused"
                    };
                    format!("{}: {what}: {words}", p.label())
                }
            })
            .collect()
    }
}

fn names(ps: impl Iterator<Item = Protocol>) -> String {
    let labels: Vec<&str> = ps.map(Protocol::label).collect();
    match labels.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "IMAP and POP accept this token for x@y, so ...": what every row rests on.
fn proven(g: &Grid<'_>, witnesses: &[Protocol]) -> String {
    format!(
        "{} accept{} this token for {}, so the token, the account and the mailbox's \
         permissions are right",
        g.passed_names(witnesses),
        if witnesses.iter().filter(|p| g.passed(**p)).count() == 1 {
            "s"
        } else {
            ""
        },
        g.mailbox
    )
}

fn app_arg(g: &Grid<'_>) -> String {
    g.client_id
        .map_or_else(|| "<application id>".to_string(), quote)
}

fn smtp_auth_off(g: &Grid<'_>) -> Explanation {
    smtp_alone(
        g,
        "only SMTP is refused (535 5.7.139), because",
        smtp_auth_disabled(g.mailbox, g.reply(Smtp)),
    )
}

fn smtp_blocked_by_policy(g: &Grid<'_>) -> Explanation {
    smtp_alone(
        g,
        "only SMTP AUTH is blocked, by a tenant policy:",
        auth_blocked(g.reply(Smtp)),
    )
}

/// SMTP's own refusal, which its cell explains exactly, put after what IMAP or POP proved.
fn smtp_alone(g: &Grid<'_>, only: &str, cell: Explanation) -> Explanation {
    Explanation {
        cause: format!("{}; {only} {}", proven(g, &[Imap, Pop]), cell.cause),
        candidates: Vec::new(),
        fix: cell.fix,
        evidence: Vec::new(),
    }
}

fn app_lacks_smtp_role(g: &Grid<'_>) -> Explanation {
    let role = Smtp.exchange_app_role();
    let app = g.client_id.unwrap_or("<application id>");
    Explanation {
        cause: format!(
            "{} open {} with the app's token, so its service principal is registered in \
             Exchange and has FullAccess on the mailbox; SMTP refused the same token (535 \
             5.7.3), which leaves what only SMTP needs: the app's {role} permission",
            g.passed_names(&[Imap, Pop]),
            g.mailbox
        ),
        candidates: vec![
            format!(
                "the app has no {role} application permission, or no admin consent for it \
                 (then SMTP fails like this for every mailbox, and the SMTP cell names the \
                 token's roles)"
            ),
            format!(
                "the app is scoped with RBAC for Applications, and no 'Application {role}' role \
                 assignment covers {}",
                g.mailbox
            ),
        ],
        fix: Some(format!(
            "{}; then run again (the next token carries the role); with RBAC for Applications \
             instead: New-ManagementRoleAssignment -App {} -Role 'Application {role}' with a \
             management scope that includes the mailbox",
            fixes::add_app_role(app, role),
            app_arg(g)
        )),
        evidence: Vec::new(),
    }
}

fn token_lacks_smtp_scope(g: &Grid<'_>) -> Explanation {
    let scope = Smtp.exchange_delegated_scope();
    Explanation {
        cause: format!(
            "{}; SMTP refused the same token (535 5.7.3): each protocol is its own delegated \
             permission, and the token most likely lacks SMTP's, {scope}",
            proven(g, &[Imap, Pop])
        ),
        candidates: Vec::new(),
        fix: Some(format!(
            "{}; then sign in again, so the new token carries it",
            fixes::request_scope(scope)
        )),
        evidence: Vec::new(),
    }
}

fn shared_smtp_refused(g: &Grid<'_>) -> Explanation {
    let scope = Smtp.exchange_delegated_scope();
    let user = g.user();
    Explanation {
        cause: format!(
            "{user} opens {} over {} (so the token and FullAccess are right), but SMTP refused \
             to authenticate as it (535 5.7.3)",
            g.mailbox,
            g.passed_names(&[Imap, Pop])
        ),
        candidates: vec![
            format!("{user}'s token lacks {scope} (then SMTP fails for {user}'s own mailbox too)"),
            format!(
                "Exchange's SMTP AUTH does not take a delegate's token for user={} the way IMAP \
                 does: authenticate as {user} and send as {}, which needs Send As",
                g.mailbox, g.mailbox
            ),
        ],
        fix: Some(format!(
            "{}; to send as the shared mailbox: {}, then check SMTP with --user {user} (no \
             --mailbox) and --from {}",
            fixes::request_scope(scope),
            fixes::send_as(&quote(g.mailbox), user),
            g.mailbox
        )),
        evidence: Vec::new(),
    }
}

/// The app's token carries SMTP.SendAsApp and IMAP or POP prove FullAccess, yet SMTP refused
/// it: what is left is on the mailbox. Microsoft documents FullAccess for app-only SMTP and
/// Send As for sending as another address (reference E2, I); whether SMTP AUTH itself wants
/// Send As is not documented, so it is said as the likely grant, not as a fact.
fn app_lacks_send_as(g: &Grid<'_>) -> Explanation {
    let role = Smtp.exchange_app_role();
    let sp = g
        .service_principal
        .map_or_else(|| "<service principal object id>".to_string(), quote);
    Explanation {
        cause: format!(
            "{} open {} with the app's token, so its service principal is registered in \
             Exchange and has FullAccess on the mailbox, and the token carries {role}; SMTP \
             refused the same token (535 5.7.3), which leaves the mailbox's own grant for \
             sending: most likely the service principal has no Send As on {}",
            g.passed_names(&[Imap, Pop]),
            g.mailbox,
            g.mailbox
        ),
        candidates: vec![
            format!(
                "the app's service principal has no Send As on {} (FullAccess, which reading \
                 needs, does not include it; Microsoft documents Send As for sending as another \
                 address, and does not say whether SMTP AUTH as the mailbox needs it too)",
                g.mailbox
            ),
            format!(
                "Send As is granted to another trustee than the one FullAccess names (the \
                 Enterprise Application's object id): {} lists them",
                fixes::show_send_as(g.mailbox)
            ),
        ],
        fix: Some(format!(
            "{} (the same service principal that has FullAccess), then run again",
            fixes::send_as_to(&quote(g.mailbox), &sp)
        )),
        evidence: Vec::new(),
    }
}

/// A delegate's token that carries SMTP.Send opens the shared mailbox over IMAP or POP, yet
/// SMTP refused it: Send As on the mailbox, or Exchange's SMTP AUTH not taking a delegate for
/// another mailbox (admins report it must authenticate as the delegate, reference I).
fn shared_lacks_send_as(g: &Grid<'_>) -> Explanation {
    let scope = Smtp.exchange_delegated_scope();
    let user = g.user();
    Explanation {
        cause: format!(
            "{user} opens {} over {} (so the token and FullAccess are right) and the token \
             carries {scope}, but SMTP refused to authenticate as {} (535 5.7.3): what is left \
             is the mailbox's own grant for sending, Send As, which FullAccess does not include",
            g.mailbox,
            g.passed_names(&[Imap, Pop]),
            g.mailbox
        ),
        candidates: vec![
            format!("{user} has no Send As on {}", g.mailbox),
            format!(
                "Exchange's SMTP AUTH does not take a delegate's token for user={} the way IMAP \
                 does (admins report so; Microsoft does not say): authenticate as {user} and \
                 send as {}, which needs Send As too",
                g.mailbox, g.mailbox
            ),
        ],
        fix: Some(format!(
            "{}, then check SMTP with --user {user} (no --mailbox) and --from {}",
            fixes::send_as(&quote(g.mailbox), user),
            g.mailbox
        )),
        evidence: Vec::new(),
    }
}

fn full_access_is_not_send_as(g: &Grid<'_>) -> Explanation {
    let inner = send_as_denied(g.mailbox, g.reply(Smtp));
    Explanation {
        cause: format!(
            "{} open {} and SMTP accepts the token, but {}: FullAccess, which reading needs, \
             does not include Send As; it is granted on its own",
            g.passed_names(&[Imap, Pop]),
            g.mailbox,
            inner.cause
        ),
        candidates: inner.candidates,
        fix: inner.fix,
        evidence: Vec::new(),
    }
}

/// IMAP or POP refused while what reading needs is proven by another protocol: the refused
/// protocol's own switch, or (refused at AUTH) its own permission in the token.
fn switched_off(g: &Grid<'_>, p: Protocol) -> Explanation {
    let other = if p == Imap { Pop } else { Imap };
    let witnesses: &[Protocol] = if g.passed(other) { &[other] } else { &[Smtp] };
    let switch = p.exchange_mailbox_switch();
    // A token that carries the protocol's permission leaves only the switch.
    let held = g.holds(p);
    let at_auth = g.kind(p) == Some(AuthRejected) && !held;
    let permission = g.permission(p);
    let mut candidates = vec![format!(
        "{} is switched off for {} ({switch} is $false)",
        p.label(),
        g.mailbox
    )];
    if at_auth {
        candidates.push(format!(
            "the token lacks {permission} (then {} fails like this for every mailbox, and the \
             {} cell names what the token has)",
            p.label(),
            p.label()
        ));
    }
    if g.kind(p) == Some(AuthenticatedNotConnected) {
        candidates.push(
            "Exchange throttled rapid reconnects, which it also answers with \"not connected\": \
             check this mailbox again on its own"
                .into(),
        );
    }
    let mut fix = format!(
        "{} (it shows the switch: {})",
        fixes::enable(g.mailbox, p),
        fixes::show_switches(g.mailbox, switch)
    );
    if at_auth {
        let grant = match g.who {
            Who::App => fixes::add_app_role(g.client_id.unwrap_or("<application id>"), permission),
            _ => fixes::request_scope(permission),
        };
        fix.push_str(&format!("; if it was on already: {grant}"));
    }
    let carries = if held {
        format!(" (the token carries {permission})")
    } else {
        String::new()
    };
    Explanation {
        cause: format!(
            "{}; only {} is refused{carries}, so it is {}'s own: most likely {} is switched off \
             for this mailbox",
            proven(g, witnesses),
            p.label(),
            p.label(),
            p.label()
        ),
        candidates,
        fix: Some(fix),
        evidence: Vec::new(),
    }
}

fn shared_without_full_access(g: &Grid<'_>) -> Explanation {
    let user = g.user();
    let refused: Vec<Protocol> = [Imap, Pop]
        .into_iter()
        .filter(|p| g.refused(*p, READ_REFUSED))
        .collect();
    let mut candidates = vec![format!(
        "{user} has no FullAccess on {} (Send As, which sending uses, does not include it)",
        g.mailbox
    )];
    if refused.len() == 1 {
        let p = refused[0];
        candidates.push(format!(
            "{} is switched off for {} ({} is $false)",
            p.label(),
            g.mailbox,
            p.exchange_mailbox_switch()
        ));
    }
    for p in refused
        .iter()
        .filter(|p| g.kind(**p) == Some(AuthRejected) && !g.holds(**p))
    {
        candidates.push(format!(
            "{user}'s token lacks {}",
            p.exchange_delegated_scope()
        ));
    }
    Explanation {
        cause: format!(
            "SMTP accepts {user}'s token for {}, but {} will not open it: reading another's \
             mailbox needs FullAccess, which sending does not",
            g.mailbox,
            names(refused.iter().copied())
        ),
        candidates,
        fix: Some(format!(
            "{}; if it has that already: {}",
            fixes::full_access(g.mailbox, &quote(user)),
            fixes::show_switches(g.mailbox, "ImapEnabled,PopEnabled")
        )),
        evidence: Vec::new(),
    }
}

fn app_refused_everywhere(g: &Grid<'_>) -> Explanation {
    // IMAP lets the app authenticate before it checks the mailbox: "not connected" proves the
    // service principal is registered, so FullAccess is what is missing.
    let registered = g.kind(Imap) == Some(AuthenticatedNotConnected);
    let sp = g
        .service_principal
        .map_or_else(|| "<service principal object id>".to_string(), quote);
    let mut candidates = vec![format!(
        "the app's service principal has no FullAccess on {}",
        g.mailbox
    )];
    if !registered {
        candidates.push(
            "the service principal is not registered in Exchange, or with the App \
             Registration's object id instead of the Enterprise Application's (then every \
             mailbox fails like this)"
                .into(),
        );
    }
    candidates.push(no_such_mailbox(g.mailbox));
    if !registered && ![Imap, Pop, Smtp].into_iter().any(|p| g.holds(p)) {
        candidates.push(
            "the token has none of the protocols' roles (then each cell names what the token \
             has)"
                .into(),
        );
    }
    let grant = fixes::full_access(g.mailbox, &sp);
    let exists = fixes::must_exist(g.mailbox);
    let fix = if registered {
        format!("{grant}; {exists}")
    } else {
        format!(
            "{grant}; if every mailbox fails like this: {}; {exists}",
            fixes::register_service_principal(&app_arg(g), &sp)
        )
    };
    Explanation {
        cause: format!(
            "{} refused the app for {}{}: one grant covers all of them",
            g.refused_names(),
            g.mailbox,
            if registered {
                ", and IMAP let it authenticate first, so its service principal is registered \
                 but may not open the mailbox"
            } else {
                " (Exchange never says why); what they share is the app's service principal and \
                 its FullAccess on this mailbox"
            }
        ),
        candidates,
        fix: Some(fix),
        evidence: Vec::new(),
    }
}

fn shared_refused_everywhere(g: &Grid<'_>) -> Explanation {
    let user = g.user();
    Explanation {
        cause: format!(
            "{} refused {user}'s token for {}: opening another's mailbox needs FullAccess \
             for each of them, so one grant covers all",
            g.refused_names(),
            g.mailbox
        ),
        candidates: vec![
            format!("{user} has no FullAccess on {}", g.mailbox),
            no_such_mailbox(g.mailbox),
            format!(
                "the token is refused altogether (expired, another audience): then {user}'s own \
                 mailbox fails too, and each cell says why from the token's claims"
            ),
        ],
        fix: Some(format!(
            "{}; {}",
            fixes::full_access(g.mailbox, &quote(user)),
            fixes::must_exist(g.mailbox)
        )),
        evidence: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
