//! The diagnosis end to end: every row under every kind of evidence, and each rule that decides
//! between them.

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
        hve: false,
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
    let reply =
        ["a3 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds".to_string()];
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
fn a_server_speaking_only_old_tls_is_named_with_the_fix_on_its_side() {
    use crate::transport::sniff::OldTls;
    let reply = [OldTls::ProtocolVersionAlert.evidence()];
    let e = Evidence {
        server_reply: &reply,
        ..evidence(FailureKind::TlsFailed)
    };
    let ex = explain(&e);
    assert!(
        ex.cause.contains("speaks only TLS 1.0 or 1.1"),
        "{}",
        ex.cause
    );
    let fix = ex.fix.unwrap();
    assert!(fix.contains("Exchange Online blocks TLS 1.0/1.1"), "{fix}");
    let e = Evidence {
        exchange_online: false,
        server_reply: &reply,
        ..evidence(FailureKind::TlsFailed)
    };
    let fix = explain(&e).fix.unwrap();
    assert!(
        fix.contains("enable TLS 1.2 (and 1.3) on the server's IMAP service"),
        "{fix}"
    );
    // Any other handshake failure keeps the general row.
    let ex = explain(&evidence(FailureKind::TlsFailed));
    assert_eq!(ex.cause, "the TLS handshake failed");
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
pub(super) fn every_kind() -> Vec<FailureKind> {
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
        WrongProtocolPort,
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
            | ImplicitTlsPort
            | WrongProtocolPort => {}
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
                                        hve: false,
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

/// Asserts that every value a PowerShell command in `text` names is one quoted literal and one
/// of `values` (a `<placeholder>` is left bare, so that pasting it unchanged fails); returns
/// how many values it checked.
pub(super) fn quoted_literals(text: &str, values: &[&str], what: &str) -> usize {
    let mut checked = 0;
    for param in [
        "-Identity ",
        "-User ",
        "-AppId ",
        "-App ",
        "-ObjectId ",
        "-Trustee ",
    ] {
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
    checked
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
    let mut check = |text: &str, what: &str| checked += quoted_literals(text, &values, what);
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

/// A misspelled mailbox (`contoso.exmaple`) gets Exchange's same refusals as a mailbox the
/// principal may not open, so it is named among the candidates, with the command that tells.
#[test]
fn a_mailbox_that_may_not_exist_is_a_candidate_where_exchange_cannot_tell() {
    const TYPO: &str = "sales@contoso.exmaple";
    let named = "the mailbox sales@contoso.exmaple does not exist (check the spelling: \
                 Get-Mailbox -Identity 'sales@contoso.exmaple')";
    let app = app_claims();
    // The tester's case: an app-only token, authenticated, the mailbox stays shut.
    let ex = explain(&Evidence {
        claims: Some(&app),
        mailbox: TYPO,
        ..evidence(FailureKind::AuthenticatedNotConnected)
    });
    assert!(
        ex.candidates[0].contains("FullAccess"),
        "{:?}",
        ex.candidates
    );
    assert_eq!(ex.candidates[1], named, "{:?}", ex.candidates);
    let fix = ex.fix.unwrap();
    assert!(
        fix.starts_with("Add-MailboxPermission -Identity 'sales@contoso.exmaple'"),
        "{fix}"
    );
    assert!(
        fix.contains("Get-Mailbox -Identity 'sales@contoso.exmaple' must find"),
        "{fix}"
    );
    // Refused at AUTH, app-only, and with no claims or a delegated token.
    let no_claims = explain(&Evidence {
        mailbox: TYPO,
        ..evidence(FailureKind::AuthenticatedNotConnected)
    });
    let app_rejected = explain(&Evidence {
        claims: Some(&app),
        mailbox: TYPO,
        ..evidence(FailureKind::AuthRejected)
    });
    let rejected = explain(&Evidence {
        mailbox: TYPO,
        ..evidence(FailureKind::AuthRejected)
    });
    for ex in [no_claims, app_rejected, rejected] {
        let at = ex.candidates.iter().position(|c| c == named);
        assert!(at.is_some(), "{:?}", ex.candidates);
        // After the permission and registration causes it cannot be told from, before the
        // switches and the account's state.
        let disabled = ex.candidates.iter().position(|c| c.contains("disabled"));
        assert!(disabled.is_none_or(|d| at < Some(d)), "{:?}", ex.candidates);
    }
}

/// High Volume Email: a refusal is the app missing from the account's Allowed Apps list, never
/// the submission rows' service principal or SMTP.SendAsApp (HVE authorises by its own list),
/// and a token that cannot work (wrong audience) still says so first.
#[test]
fn hve_refusals_name_the_allow_list_not_the_submission_permissions() {
    let app = app_claims(); // no SMTP.SendAsApp role: irrelevant at HVE
    let reply = vec!["535 5.7.3 Authentication unsuccessful [X.PROD.OUTLOOK.COM]".to_string()];
    let hve = Evidence {
        protocol: Some(Protocol::Smtp),
        mailbox: "notify@contoso.example",
        claims: Some(&app),
        server_reply: &reply,
        hve: true,
        implicit_tls: false,
        ..evidence(FailureKind::AuthRejected)
    };
    let ex = explain(&hve);
    let fix = ex.fix.clone().unwrap();
    assert!(ex.cause.contains("High Volume Email"), "{}", ex.cause);
    assert!(
        fix.starts_with("Add-HVEAppAccess -Identity 'notify@contoso.example' -AppIds 'app-1'"),
        "{fix}"
    );
    let all = format!("{ex:?}");
    for wrong in ["SMTP.SendAsApp", "New-ServicePrincipal", "Set-CASMailbox"] {
        assert!(!all.contains(wrong), "{wrong} in {all}");
    }
    // The same evidence at ordinary submission gets the submission rows.
    let ex = explain(&Evidence { hve: false, ..hve });
    assert!(format!("{ex:?}").contains("SMTP.SendAsApp"), "{ex:?}");
    // A token for Graph cannot work anywhere: that fact still comes first.
    let graph = Claims {
        aud: Some("https://graph.microsoft.com".into()),
        ..app_claims()
    };
    let ex = explain(&Evidence {
        claims: Some(&graph),
        ..hve
    });
    assert!(ex.cause.contains("graph.microsoft.com"), "{}", ex.cause);
    // Preflight at HVE drops only the role finding.
    let pre = preflight_hve(&app, "", "notify@contoso.example", 0);
    assert!(
        pre.iter().all(|f| !f.message.contains("SMTP.SendAsApp")),
        "{pre:?}"
    );
    let pre = preflight_hve(&graph, "", "notify@contoso.example", 0);
    assert!(pre.iter().any(|f| f.blocking), "{pre:?}");
}

#[test]
fn hve_external_recipients_are_warned_about_before_sending() {
    let to = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let w = hve_external_recipients("notify@contoso.example", &to(&["a@fabrikam.example"]))
        .expect("an outside recipient is warned about");
    assert!(
        w.contains("a@fabrikam.example") && w.contains("5.5.105"),
        "{w}"
    );
    assert_eq!(
        hve_external_recipients("notify@contoso.example", &to(&["b@CONTOSO.example"])),
        None
    );
    // Should a server refuse at once rather than bounce, the refusal is explained the same way.
    let reply = vec![
        "550 5.5.105 External sending is not supported for High Volume Email accounts.".into(),
    ];
    let ex = explain(&Evidence {
        protocol: Some(Protocol::Smtp),
        server_reply: &reply,
        hve: true,
        ..evidence(FailureKind::SendRejected)
    });
    assert!(
        ex.cause.contains("only to recipients in the tenant"),
        "{}",
        ex.cause
    );
}

/// 5.7.30, Exchange Online's reply to Basic authentication once it is off for client
/// submission (the end of December 2026 for existing tenants): explained as such, with the
/// ways out, and never as a Conditional Access or Security Defaults block.
#[test]
fn basic_auth_retired_is_explained() {
    let reply =
        vec!["550 5.7.30 Basic authentication is not supported for Client Submission.".into()];
    let ex = explain(&Evidence {
        protocol: Some(Protocol::Smtp),
        server_reply: &reply,
        ..evidence(FailureKind::AuthBlockedByPolicy)
    });
    assert!(ex.cause.contains("5.7.30"), "{}", ex.cause);
    assert!(ex.cause.contains("December 2026"), "{}", ex.cause);
    let fix = ex.fix.unwrap();
    assert!(
        fix.contains("OAuth") && fix.contains("microsoft-hve"),
        "{fix}"
    );
    assert!(!format!("{:?}", ex.candidates).contains("Conditional Access"));
    // At an HVE endpoint too (HVE's own policy row must not swallow it).
    let ex = explain(&Evidence {
        protocol: Some(Protocol::Smtp),
        server_reply: &reply,
        hve: true,
        ..evidence(FailureKind::AuthBlockedByPolicy)
    });
    assert!(ex.cause.contains("5.7.30"), "{}", ex.cause);
}
