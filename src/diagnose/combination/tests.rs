//! One test per row of `RULES`, built from the failures the drivers report with Exchange's own
//! words; then every combination of cells held to the rows' contract.

use super::*;
use crate::diagnose::tests::{every_kind, quoted_literals};
use crate::outcome::Stage;
use crate::sasl::decode_error_challenge;

const MBX: &str = "sales@contoso.example";
const USER: &str = "alice@contoso.example";
const APP: &str = "66666666-7777-8888-9999-000000000000";

fn failure(kind: FailureKind, reply: &str) -> Failure {
    Failure::new(Stage::Auth, kind, "refused").with_reply(vec![reply.to_string()])
}

fn imap_rejected() -> Failure {
    failure(AuthRejected, "A1 NO AUTHENTICATE failed.")
}

fn pop_rejected() -> Failure {
    failure(
        AuthRejected,
        "-ERR Authentication failure: unknown user name or bad password.",
    )
}

fn smtp_rejected() -> Failure {
    failure(
        AuthRejected,
        "535 5.7.3 Authentication unsuccessful [MOCK01.outlook.office365.com]",
    )
}

fn not_connected() -> Failure {
    failure(
        AuthenticatedNotConnected,
        "a3 BAD User is authenticated but not connected.",
    )
}

fn smtp_off(scope: &str) -> Failure {
    failure(
        SmtpAuthDisabled,
        &format!(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for \
             the {scope}. Visit https://aka.ms/smtp_auth_disabled for more information."
        ),
    )
}

fn timeout() -> Failure {
    Failure::new(Stage::Connect, FailureKind::Timeout, "no answer")
}

/// How the mailbox was opened.
#[derive(Clone, Copy)]
enum By {
    App,
    Own,
    Shared,
}

impl By {
    fn args(self, mailbox: &'static str, user: &'static str) -> (Option<&'static str>, bool) {
        match self {
            By::App => (None, true),
            By::Own => (Some(mailbox), false),
            By::Shared => (Some(user), false),
        }
    }
}

/// Every permission a token may hold for the three protocols, app-only and delegated.
const ALL_PERMISSIONS: &[&str] = &[
    "IMAP.AccessAsApp",
    "POP.AccessAsApp",
    "SMTP.SendAsApp",
    "IMAP.AccessAsUser.All",
    "POP.AccessAsUser.All",
    "SMTP.Send",
];

/// The row that speaks for these cells (`None`: passed), and what it says, for a token whose
/// permissions are not known.
fn run(by: By, cells: &[(Protocol, Option<&Failure>)]) -> Option<(&'static str, Explanation)> {
    run_holding(by, &[], cells)
}

/// [`run`] for a token that holds `granted`.
fn run_holding(
    by: By,
    granted: &[&'static str],
    cells: &[(Protocol, Option<&Failure>)],
) -> Option<(&'static str, Explanation)> {
    let (user, app_only) = by.args(MBX, USER);
    let facts: Vec<CellFacts<'_>> = cells
        .iter()
        .map(|(protocol, failure)| CellFacts {
            protocol: *protocol,
            failure: *failure,
        })
        .collect();
    let principal = Principal {
        user,
        client_id: Some(APP),
        service_principal: None,
        app_only,
        granted: granted.to_vec(),
    };
    let g = Grid::new(MBX, &principal, &facts);
    let name = matching(&g).map(|r| r.name);
    let ex = explain(MBX, &principal, &facts);
    assert_eq!(name.is_some(), ex.is_some());
    name.zip(ex)
}

fn fix(ex: &Explanation) -> &str {
    ex.fix.as_deref().unwrap_or("")
}

#[test]
fn imap_passes_and_smtp_auth_is_switched_off() {
    for by in [By::App, By::Own, By::Shared] {
        let off = smtp_off("Mailbox");
        let (name, ex) = run(by, &[(Imap, None), (Pop, None), (Smtp, Some(&off))]).unwrap();
        assert_eq!(name, "smtp_auth_off");
        assert!(
            ex.cause
                .starts_with("IMAP and POP accept this token for sales@")
        );
        assert!(ex.cause.contains("SMTP AUTH is disabled for the mailbox"));
        assert_eq!(
            fix(&ex),
            "Set-CASMailbox -Identity 'sales@contoso.example' -SmtpClientAuthenticationDisabled $false"
        );
        assert_eq!(
            ex.evidence,
            [
                "IMAP: passed",
                "POP: passed",
                &format!("SMTP: refused: {}", off.server_reply[0])
            ]
        );
    }
    let off = smtp_off("Tenant");
    let (_, ex) = run(By::App, &[(Imap, None), (Smtp, Some(&off))]).unwrap();
    assert!(
        ex.cause.starts_with("IMAP accepts this token"),
        "{}",
        ex.cause
    );
    assert!(fix(&ex).contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false"));
    // Without a protocol that passed, 5.7.139 is only that cell's own explanation.
    assert!(run(By::App, &[(Imap, Some(&timeout())), (Smtp, Some(&off))]).is_none());
}

#[test]
fn imap_passes_and_security_defaults_block_smtp() {
    let blocked = failure(
        AuthBlockedByPolicy,
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's \
         security defaults policy. Contact your administrator.",
    );
    let (name, ex) = run(By::Own, &[(Imap, None), (Smtp, Some(&blocked))]).unwrap();
    assert_eq!(name, "smtp_blocked_by_policy");
    assert!(ex.cause.contains("Security Defaults"), "{}", ex.cause);
    assert!(fix(&ex).contains("Conditional Access"));
}

#[test]
fn app_opens_the_mailbox_but_smtp_refuses_it_for_want_of_smtp_send_as_app() {
    let smtp = smtp_rejected();
    let (name, ex) = run(By::App, &[(Imap, None), (Pop, None), (Smtp, Some(&smtp))]).unwrap();
    assert_eq!(name, "app_lacks_smtp_send_as_app");
    assert!(ex.cause.contains("has FullAccess on the mailbox"));
    assert!(ex.cause.contains("SMTP.SendAsApp"));
    assert!(ex.candidates[1].contains("'Application SMTP.SendAsApp'"));
    assert!(fix(&ex).contains(&format!(
        "App registrations → {APP} → API permissions → Add a permission → Office 365 Exchange \
         Online → Application permissions → SMTP.SendAsApp, then Grant admin consent"
    )));
    assert!(fix(&ex).contains(&format!("New-ManagementRoleAssignment -App '{APP}'")));
    // POP alone proves the same.
    let (name, _) = run(By::App, &[(Pop, None), (Smtp, Some(&smtp))]).unwrap();
    assert_eq!(name, "app_lacks_smtp_send_as_app");
}

#[test]
fn own_mailbox_opens_but_smtp_refuses_the_token_for_want_of_smtp_send() {
    let smtp = smtp_rejected();
    let (name, ex) = run(By::Own, &[(Imap, None), (Smtp, Some(&smtp))]).unwrap();
    assert_eq!(name, "token_lacks_smtp_send");
    assert!(ex.cause.contains("SMTP.Send"));
    assert!(fix(&ex).starts_with("request https://outlook.office.com/SMTP.Send"));
}

#[test]
fn shared_mailbox_opens_but_smtp_will_not_authenticate_as_it() {
    let smtp = smtp_rejected();
    let (name, ex) = run(By::Shared, &[(Imap, None), (Smtp, Some(&smtp))]).unwrap();
    assert_eq!(name, "shared_mailbox_smtp_refused");
    assert!(
        ex.cause
            .starts_with("alice@contoso.example opens sales@contoso.example over IMAP")
    );
    assert!(fix(&ex).contains(
        "Add-RecipientPermission -Identity 'sales@contoso.example' -Trustee \
         'alice@contoso.example' -AccessRights SendAs"
    ));
}

#[test]
fn full_access_opens_the_mailbox_but_does_not_send_as_another() {
    let denied = failure(
        SendAsDenied,
        "554 5.2.252 SendAsDenied; sales@contoso.example not allowed to send as \
         ceo@contoso.example; STOREDRV.Submission.Exception:SendAsDeniedException",
    );
    let (name, ex) = run(By::Shared, &[(Imap, None), (Smtp, Some(&denied))]).unwrap();
    assert_eq!(name, "full_access_is_not_send_as");
    assert!(ex.cause.contains("does not include Send As"));
    assert!(fix(&ex).contains(
        "Add-RecipientPermission -Identity 'ceo@contoso.example' -Trustee \
         'sales@contoso.example' -AccessRights SendAs"
    ));
}

#[test]
fn imap_not_connected_while_pop_opens_the_mailbox_is_imap_switched_off() {
    let nc = not_connected();
    for by in [By::App, By::Own, By::Shared] {
        let (name, ex) = run(by, &[(Imap, Some(&nc)), (Pop, None), (Smtp, None)]).unwrap();
        assert_eq!(name, "imap_switched_off");
        assert!(
            fix(&ex)
                .starts_with("Set-CASMailbox -Identity 'sales@contoso.example' -ImapEnabled $true")
        );
        assert!(ex.candidates[0].contains("ImapEnabled is $false"));
        assert!(ex.candidates.iter().any(|c| c.contains("throttled")));
    }
    // The user's own mailbox needs no FullAccess: SMTP proves as much as POP.
    let (name, ex) = run(By::Own, &[(Imap, Some(&nc)), (Smtp, None)]).unwrap();
    assert_eq!(name, "imap_switched_off");
    assert!(ex.cause.starts_with("SMTP accepts this token"));
    // An app's SMTP pass does not prove FullAccess (RBAC for Applications): no verdict.
    assert!(run(By::App, &[(Imap, Some(&nc)), (Smtp, None)]).is_none());
}

#[test]
fn pop_refused_while_imap_opens_the_mailbox_is_pop_switched_off() {
    let pop = pop_rejected();
    let (name, ex) = run(By::App, &[(Imap, None), (Pop, Some(&pop)), (Smtp, None)]).unwrap();
    assert_eq!(name, "pop_switched_off");
    assert!(
        fix(&ex).starts_with("Set-CASMailbox -Identity 'sales@contoso.example' -PopEnabled $true")
    );
    // Refused at AUTH: the role is the other candidate, and its grant the next step.
    assert!(ex.candidates[1].contains("POP.AccessAsApp"));
    assert!(fix(&ex).contains("Application permissions → POP.AccessAsApp"));
    let (_, ex) = run(By::Own, &[(Imap, None), (Pop, Some(&pop))]).unwrap();
    assert!(fix(&ex).contains("request https://outlook.office.com/POP.AccessAsUser.All"));
    let stat = failure(StatFailed, "-ERR mailbox unavailable");
    let (name, ex) = run(By::Own, &[(Imap, None), (Pop, Some(&stat))]).unwrap();
    assert_eq!(name, "pop_switched_off");
    assert_eq!(ex.candidates.len(), 1);
}

#[test]
fn shared_mailbox_sends_but_will_not_open_without_full_access() {
    let nc = not_connected();
    let pop = pop_rejected();
    let (name, ex) = run(
        By::Shared,
        &[(Imap, Some(&nc)), (Pop, Some(&pop)), (Smtp, None)],
    )
    .unwrap();
    assert_eq!(name, "shared_mailbox_without_full_access");
    assert!(ex.cause.contains("IMAP and POP will not open it"));
    assert!(ex.candidates[0].starts_with("alice@contoso.example has no FullAccess"));
    assert!(fix(&ex).starts_with(
        "Add-MailboxPermission -Identity 'sales@contoso.example' -User \
         'alice@contoso.example' -AccessRights FullAccess"
    ));
    // IMAP alone refused: its switch stays a candidate.
    let (_, ex) = run(By::Shared, &[(Imap, Some(&nc)), (Smtp, None)]).unwrap();
    assert!(
        ex.candidates
            .iter()
            .any(|c| c.contains("ImapEnabled is $false"))
    );
}

#[test]
fn app_refused_by_every_protocol_is_one_grant() {
    let (i, p, s) = (imap_rejected(), pop_rejected(), smtp_rejected());
    let (name, ex) = run(
        By::App,
        &[(Imap, Some(&i)), (Pop, Some(&p)), (Smtp, Some(&s))],
    )
    .unwrap();
    assert_eq!(name, "app_refused_everywhere");
    assert!(
        ex.cause
            .starts_with("IMAP, POP and SMTP all refused the app for sales@")
    );
    assert!(fix(&ex).starts_with(
        "Add-MailboxPermission -Identity 'sales@contoso.example' -User <service principal \
         object id> -AccessRights FullAccess"
    ));
    assert!(fix(&ex).contains(&format!("New-ServicePrincipal -AppId '{APP}'")));
    // IMAP authenticated first: the service principal is registered; only FullAccess is left.
    let nc = not_connected();
    let (_, ex) = run(
        By::App,
        &[(Imap, Some(&nc)), (Pop, Some(&p)), (Smtp, Some(&s))],
    )
    .unwrap();
    assert!(!fix(&ex).contains("New-ServicePrincipal"));
    assert!(ex.cause.contains("its service principal is registered"));
}

#[test]
fn shared_mailbox_refused_by_every_protocol_is_one_grant() {
    let (nc, p) = (not_connected(), pop_rejected());
    let (name, ex) = run(By::Shared, &[(Imap, Some(&nc)), (Pop, Some(&p))]).unwrap();
    assert_eq!(name, "shared_mailbox_refused_everywhere");
    assert!(
        ex.cause
            .starts_with("IMAP and POP both refused alice@contoso.example's token")
    );
    assert!(fix(&ex).starts_with(
        "Add-MailboxPermission -Identity 'sales@contoso.example' -User \
         'alice@contoso.example' -AccessRights FullAccess"
    ));
}

#[test]
fn failures_that_say_nothing_about_permissions_explain_nothing() {
    let t = timeout();
    let tls = Failure::new(Stage::Tls, FailureKind::TlsUntrusted, "untrusted");
    let token = Failure::new(Stage::Token, FailureKind::TokenRejected, "AADSTS7000215");
    let throttled = failure(
        FailureKind::Throttled,
        "a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds",
    );
    for by in [By::App, By::Own, By::Shared] {
        assert!(
            run(
                by,
                &[(Imap, Some(&t)), (Pop, Some(&tls)), (Smtp, Some(&token))]
            )
            .is_none()
        );
        assert!(
            run(
                by,
                &[(Imap, None), (Pop, Some(&throttled)), (Smtp, Some(&t))]
            )
            .is_none()
        );
        assert!(run(by, &[(Imap, None), (Pop, None), (Smtp, None)]).is_none());
        assert!(run(by, &[]).is_none());
    }
    // Another server's refusal is not read through Exchange's permission model.
    let mut gmail = failure(
        AuthRejected,
        "535-5.7.8 Username and Password not accepted.",
    );
    gmail.challenge = Some(Box::new(decode_error_challenge(
        "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
    )));
    let dovecot = failure(
        AuthRejected,
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed.",
    );
    assert!(run(By::App, &[(Imap, None), (Smtp, Some(&gmail))]).is_none());
    assert!(run(By::App, &[(Imap, Some(&dovecot)), (Pop, None)]).is_none());
}

/// Every failure a cell can carry: each kind, and for the kinds the rows read, each of the
/// replies that decide them (hostile addresses included).
fn every_failure() -> Vec<Failure> {
    let mut out: Vec<Failure> = every_kind()
        .into_iter()
        .map(|k| Failure::new(Stage::Auth, k, "m"))
        .collect();
    let mut challenged = smtp_rejected();
    challenged.challenge = Some(Box::new(decode_error_challenge("e30=")));
    out.extend([
        imap_rejected(),
        pop_rejected(),
        smtp_rejected(),
        challenged,
        failure(
            AuthRejected,
            "a1 NO [AUTHENTICATIONFAILED] Authentication failed.",
        ),
        not_connected(),
        smtp_off("Tenant"),
        smtp_off("Mailbox"),
        failure(
            AuthBlockedByPolicy,
            "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria",
        ),
        failure(
            SendAsDenied,
            "554 5.2.252 SendAsDenied; x@x.com not allowed to send as f’;calc4;’@x.com; STOREDRV",
        ),
    ]);
    out
}

#[test]
fn every_combination_of_cells_keeps_the_rows_contract_and_quotes_every_value() {
    let mailbox = "x’;calc;’@x.com";
    let user = "u’;calc3;’@x.com";
    let app = "a’;calc2;’";
    let values = [mailbox, user, app, "f’;calc4;’@x.com"];
    let failures = every_failure();
    // Per protocol: not checked, passed, or one of the failures.
    let mut states: Vec<Option<Option<&Failure>>> = vec![None, Some(None)];
    states.extend(failures.iter().map(|f| Some(Some(f))));
    let mut fired: std::collections::BTreeMap<&str, usize> = Default::default();
    let (mut runs, mut checked) = (0, 0);
    for imap in &states {
        for pop in &states {
            for smtp in &states {
                let facts: Vec<CellFacts<'_>> = [(Imap, imap), (Pop, pop), (Smtp, smtp)]
                    .into_iter()
                    .filter_map(|(protocol, s)| s.map(|failure| CellFacts { protocol, failure }))
                    .collect();
                for by in [By::App, By::Own, By::Shared] {
                    for (client_id, granted) in [
                        (Some(app), &[][..]),
                        (None, &[][..]),
                        (Some(app), ALL_PERMISSIONS),
                        (None, ALL_PERMISSIONS),
                    ] {
                        let (u, app_only) = by.args(mailbox, user);
                        runs += 1;
                        let principal = Principal {
                            user: u,
                            client_id,
                            service_principal: client_id,
                            app_only,
                            granted: granted.to_vec(),
                        };
                        let g = Grid::new(mailbox, &principal, &facts);
                        let ex = explain(mailbox, &principal, &facts);
                        let Some(rule) = matching(&g) else {
                            assert!(ex.is_none());
                            continue;
                        };
                        let ex = ex.unwrap();
                        *fired.entry(rule.name).or_default() += 1;
                        let said: Vec<Said> = g.cells.iter().map(|(_, _, s)| *s).collect();
                        let passed = said.iter().filter(|s| **s == Said::Passed).count();
                        let refused = said
                            .iter()
                            .filter(|s| matches!(s, Said::Refused(_)))
                            .count();
                        if rule.unanimous {
                            assert!(passed == 0 && refused >= 2, "{}: {said:?}", rule.name);
                        } else {
                            assert!(passed >= 1 && refused >= 1, "{}: {said:?}", rule.name);
                        }
                        assert!(!fix(&ex).trim().is_empty(), "{}", rule.name);
                        // A token that holds every permission is never told to get one.
                        if !granted.is_empty() {
                            let asks = |t: &str| {
                                t.contains("Add a permission")
                                    || t.contains("request https://")
                                    || t.contains("token lacks")
                                    || t.contains("token has none")
                                    || t.contains("application permission")
                            };
                            assert!(!asks(fix(&ex)), "{}: {}", rule.name, fix(&ex));
                            for c in &ex.candidates {
                                assert!(!asks(c), "{}: {c}", rule.name);
                            }
                        }
                        assert_eq!(ex.evidence.len(), facts.len());
                        checked += quoted_literals(fix(&ex), &values, rule.name);
                        for c in &ex.candidates {
                            checked += quoted_literals(c, &values, rule.name);
                        }
                    }
                }
            }
        }
    }
    // Every row is reachable, and commands were really read.
    for rule in RULES {
        assert!(fired.contains_key(rule.name), "{} never fired", rule.name);
    }
    assert!(runs > 200_000, "{runs}");
    assert!(checked > 10_000, "{checked}");
}

/// The no-sendas mailbox of the mock's tenant: FullAccess (IMAP and POP pass), no Send As.
fn no_send_as(smtp: &Failure) -> [(Protocol, Option<&Failure>); 3] {
    [(Imap, None), (Pop, None), (Smtp, Some(smtp))]
}

#[test]
fn app_holding_smtp_send_as_app_is_told_send_as_on_the_mailbox_not_the_role() {
    let smtp = smtp_rejected();
    let roles = ["IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp"];
    let (name, ex) = run_holding(By::App, &roles, &no_send_as(&smtp)).unwrap();
    assert_eq!(name, "app_holds_smtp_send_as_app_but_lacks_send_as");
    assert_eq!(
        fix(&ex),
        "Add-RecipientPermission -Identity 'sales@contoso.example' -Trustee <service principal \
         object id> -AccessRights SendAs (the same service principal that has FullAccess), then \
         run again"
    );
    assert!(ex.candidates[0].contains("no Send As on sales@contoso.example"));
    // The role is the token's already: the advice never asks for it.
    for text in std::iter::once(fix(&ex)).chain(ex.candidates.iter().map(String::as_str)) {
        assert!(!text.contains("SMTP.SendAsApp"), "{text}");
        assert!(!text.contains("Add a permission"), "{text}");
        assert!(!text.contains("New-ManagementRoleAssignment"), "{text}");
    }
    assert!(ex.cause.contains("the token carries SMTP.SendAsApp"));
    // With the service principal known (the token's oid), the command names it.
    let principal = Principal {
        user: None,
        client_id: Some(APP),
        service_principal: Some("11111111-2222-3333-4444-555555555555"),
        app_only: true,
        granted: roles.to_vec(),
    };
    let facts: Vec<CellFacts<'_>> = no_send_as(&smtp)
        .into_iter()
        .map(|(protocol, failure)| CellFacts { protocol, failure })
        .collect();
    let ex = explain(MBX, &principal, &facts).unwrap();
    assert!(fix(&ex).starts_with(
        "Add-RecipientPermission -Identity 'sales@contoso.example' -Trustee \
         '11111111-2222-3333-4444-555555555555' -AccessRights SendAs"
    ));
}

#[test]
fn app_without_smtp_send_as_app_is_still_told_to_add_it() {
    let smtp = smtp_rejected();
    // Known roles that lack it, and roles not known (an opaque token): today's advice.
    for roles in [&["IMAP.AccessAsApp", "POP.AccessAsApp"][..], &[]] {
        let (name, ex) = run_holding(By::App, roles, &no_send_as(&smtp)).unwrap();
        assert_eq!(name, "app_lacks_smtp_send_as_app");
        assert!(
            fix(&ex).contains("Application permissions → SMTP.SendAsApp, then Grant admin consent")
        );
        assert!(!fix(&ex).contains("Add-RecipientPermission"));
    }
}

#[test]
fn delegate_holding_smtp_send_is_told_send_as_on_the_shared_mailbox_not_the_scope() {
    let smtp = smtp_rejected();
    // As Entra writes scp, and with the resource in front.
    for scp in [
        &[
            "IMAP.AccessAsUser.All",
            "POP.AccessAsUser.All",
            "SMTP.Send",
            "User.Read",
        ][..],
        &["https://outlook.office.com/SMTP.Send"],
    ] {
        let (name, ex) = run_holding(By::Shared, scp, &no_send_as(&smtp)).unwrap();
        assert_eq!(name, "shared_mailbox_smtp_send_but_no_send_as");
        assert!(fix(&ex).starts_with(
            "Add-RecipientPermission -Identity 'sales@contoso.example' -Trustee \
             'alice@contoso.example' -AccessRights SendAs, then check SMTP with --user \
             alice@contoso.example (no --mailbox) and --from sales@contoso.example"
        ));
        assert!(ex.candidates[0].contains("alice@contoso.example has no Send As"));
        for text in std::iter::once(fix(&ex)).chain(ex.candidates.iter().map(String::as_str)) {
            assert!(!text.contains("SMTP.Send"), "{text}");
            assert!(!text.contains("request "), "{text}");
        }
        assert!(ex.cause.contains("the token carries SMTP.Send"));
    }
    // The user's own mailbox with SMTP.Send held: no row may say the token lacks it, so each
    // cell's own explanation stands.
    assert!(
        run_holding(
            By::Own,
            &["SMTP.Send"],
            &[(Imap, None), (Smtp, Some(&smtp))]
        )
        .is_none()
    );
}

#[test]
fn delegate_without_smtp_send_is_still_told_to_request_it() {
    let smtp = smtp_rejected();
    for scp in [&["IMAP.AccessAsUser.All", "POP.AccessAsUser.All"][..], &[]] {
        let (name, ex) = run_holding(By::Shared, scp, &no_send_as(&smtp)).unwrap();
        assert_eq!(name, "shared_mailbox_smtp_refused");
        assert!(fix(&ex).starts_with("request https://outlook.office.com/SMTP.Send"));
        let (name, ex) = run_holding(By::Own, scp, &[(Imap, None), (Smtp, Some(&smtp))]).unwrap();
        assert_eq!(name, "token_lacks_smtp_send");
        assert!(fix(&ex).starts_with("request https://outlook.office.com/SMTP.Send"));
    }
}

#[test]
fn pop_refused_while_the_token_holds_pop_access_is_only_the_switch() {
    let pop = pop_rejected();
    let cells = [(Imap, None), (Pop, Some(&pop)), (Smtp, None)];
    for (by, granted, permission) in [
        (
            By::App,
            &["IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp"][..],
            "POP.AccessAsApp",
        ),
        (
            By::Own,
            &["IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send"],
            "POP.AccessAsUser.All",
        ),
    ] {
        let (name, ex) = run_holding(by, granted, &cells).unwrap();
        assert_eq!(name, "pop_switched_off");
        assert_eq!(
            fix(&ex),
            "Set-CASMailbox -Identity 'sales@contoso.example' -PopEnabled $true (it shows the \
             switch: Get-CASMailbox -Identity 'sales@contoso.example' | Format-List PopEnabled)"
        );
        assert_eq!(ex.candidates.len(), 1, "{:?}", ex.candidates);
        for text in std::iter::once(fix(&ex)).chain(ex.candidates.iter().map(String::as_str)) {
            assert!(!text.contains(permission), "{text}");
        }
        assert!(
            ex.cause
                .contains(&format!("the token carries {permission}"))
        );
    }
}

#[test]
fn pop_refused_while_the_token_lacks_pop_access_still_names_the_permission() {
    let pop = pop_rejected();
    let cells = [(Imap, None), (Pop, Some(&pop)), (Smtp, None)];
    for roles in [&["IMAP.AccessAsApp", "SMTP.SendAsApp"][..], &[]] {
        let (name, ex) = run_holding(By::App, roles, &cells).unwrap();
        assert_eq!(name, "pop_switched_off");
        assert!(ex.candidates[1].contains("the token lacks POP.AccessAsApp"));
        assert!(fix(&ex).contains(
            "; if it was on already: Entra admin center → App registrations → \
             66666666-7777-8888-9999-000000000000 → API permissions → Add a permission → Office \
             365 Exchange Online → Application permissions → POP.AccessAsApp"
        ));
    }
}
