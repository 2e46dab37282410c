//! The POP3 check in the fewest round trips (issue 13) against the mock: AUTH right after the
//! greeting, no CAPA, QUIT not waited for; and every failure the mock can produce at AUTH is
//! reported exactly as the sequential check (`--no-pipelining`) reports it.

use serde_json::Value;
use xoauth_mock::{Config, MailService, TokenSpec};

use crate::util::*;

/// Client and server lines of a `-v --json` transcript, notes left out: `C: ` / `S: ` + text.
fn wire(r: &Value) -> Vec<String> {
    r["transcript"]
        .as_array()
        .expect("a transcript with -v")
        .iter()
        .filter_map(|e| {
            let who = match e["direction"].as_str()? {
                "client" => "C",
                "server" => "S",
                _ => return None,
            };
            Some(format!("{who}: {}", e["text"].as_str()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_auth_follows_the_greeting_and_quit_is_not_waited_for() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.pop_args(), &["-v", "--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let wire = wire(&r);
    assert!(
        wire[0].starts_with("S: +OK The Microsoft Exchange POP3"),
        "{wire:#?}"
    );
    assert_eq!(
        wire[1..],
        [
            "C: AUTH XOAUTH2",
            "S: +",
            "C: <redacted>",
            "S: +OK User successfully authenticated.",
            "C: STAT",
            &format!("S: +OK {}", stat_text(&r)),
            "C: QUIT",
        ],
        "no CAPA, and nothing read after QUIT"
    );
    assert_eq!(
        stages(&r),
        ["connect", "tls", "greeting", "auth", "stat", "quit"]
    );
    let quit = r["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(quit["ok"], true);
    assert!(
        quit["detail"].as_str().unwrap().contains("not waited for"),
        "{quit}"
    );
    // Nothing was asked, so nothing is claimed about the server's capabilities.
    assert_eq!(r["capabilities"], serde_json::json!([]));
    assert!(
        r["warnings"].as_array().is_none_or(|w| w.is_empty()),
        "{r:#}"
    );
    assert!(
        !mock.server.command_log().iter().any(|c| c.contains("CAPA")),
        "{:?}",
        mock.server.command_log()
    );
    assert!(!contains_jwt(&run.all()), "a token leaked:\n{}", run.all());

    // The human -v transcript: the same order, redacted, and no "capabilities" line.
    let human = xoauth(&with_token(mock.pop_args(), &["-v"]), Some(&token), None).await;
    assert_eq!(human.code, 0, "{}", human.all());
    assert!(!human.stdout.contains("CAPA"), "{}", human.stdout);
    assert!(human.stdout.contains("<redacted>"), "{}", human.stdout);
    assert!(
        !contains_jwt(&human.all()),
        "a token leaked:\n{}",
        human.all()
    );
    assert!(
        !human.stdout.to_ascii_lowercase().contains("capabilit"),
        "{}",
        human.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_pipelining_keeps_the_sequential_pop_check() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.pop_args(), &["-v", "--json", "--no-pipelining"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let wire = wire(&r);
    let clients: Vec<&str> = wire.iter().filter_map(|l| l.strip_prefix("C: ")).collect();
    assert_eq!(
        clients,
        ["CAPA", "AUTH XOAUTH2", "<redacted>", "STAT", "QUIT"],
        "{wire:#?}"
    );
    assert_eq!(
        wire.last().unwrap(),
        "S: +OK Microsoft Exchange Server POP3 server signing off.",
        "QUIT's reply is waited for"
    );
    assert!(
        r["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "SASL PLAIN XOAUTH2")
    );
    assert!(!contains_jwt(&run.all()), "a token leaked:\n{}", run.all());
}

fn stat_text(r: &Value) -> String {
    format!("{} {}", r["stat"]["messages"], r["stat"]["octets"])
}

/// One way for POP3 to fail at AUTH on the mock.
struct Case {
    name: &'static str,
    tweak: fn(&mut Config),
    token: fn(&Mock) -> String,
    /// `--user` (the token's own mailbox unless `--mailbox` says otherwise).
    user: &'static str,
    mailbox: Option<&'static str>,
    kind: &'static str,
}

fn delegated(user: &str, lifetime_secs: i64, scopes: &[&str]) -> TokenSpec {
    let mut spec = TokenSpec::user(user);
    spec.lifetime_secs = lifetime_secs;
    if !scopes.is_empty() {
        spec.scopes = scopes.iter().map(|s| s.to_string()).collect();
    }
    spec
}

fn no_tweak(_: &mut Config) {}

const CASES: &[Case] = &[
    Case {
        name: "invalid token",
        tweak: no_tweak,
        token: |_| BAD_TOKEN.to_string(),
        user: ALICE,
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "expired token",
        tweak: no_tweak,
        token: |m| m.server.issue_token(&delegated(ALICE, -600, &[])),
        user: ALICE,
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "wrong audience",
        tweak: no_tweak,
        token: |m| {
            let graph = ["https://graph.microsoft.com/POP.AccessAsUser.All"];
            m.server.issue_token(&delegated(ALICE, 3599, &graph))
        },
        user: ALICE,
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "no POP.AccessAsUser.All",
        tweak: no_tweak,
        token: |m| {
            let scopes = [
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
            ];
            m.server.issue_token(&delegated(ALICE, 3599, &scopes))
        },
        user: ALICE,
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "no POP.AccessAsApp",
        tweak: |c| {
            for app in c.apps.iter_mut().filter(|a| a.client_id == DAEMON) {
                app.roles.retain(|r| r != "POP.AccessAsApp");
            }
        },
        token: |m| m.server.issue_token(&TokenSpec::app(DAEMON)),
        user: "sales@contoso.example",
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "no FullAccess (delegated, shared mailbox)",
        tweak: no_tweak,
        token: |m| m.token(ALICE),
        user: ALICE,
        mailbox: Some("payroll@contoso.example"),
        kind: "auth_rejected",
    },
    Case {
        name: "no FullAccess (app)",
        tweak: |c| {
            for mb in c
                .mailboxes
                .iter_mut()
                .filter(|m| m.address == "sales@contoso.example")
            {
                mb.full_access.retain(|who| who != DAEMON);
            }
        },
        token: |m| m.server.issue_token(&TokenSpec::app(DAEMON)),
        user: "sales@contoso.example",
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "POP disabled for the mailbox",
        tweak: no_tweak,
        token: |m| m.token("carol@contoso.example"),
        user: "carol@contoso.example",
        mailbox: None,
        kind: "auth_rejected",
    },
    Case {
        name: "throttled",
        tweak: |c| c.faults.throttle = vec![MailService::Pop],
        token: |m| m.token(ALICE),
        user: ALICE,
        mailbox: None,
        kind: "throttled",
    },
];

/// What a report says about its failure that must not depend on pipelining.
fn verdict(run: &Run) -> (i32, Value, Value, Value, Value, Value) {
    let r = run.json();
    let f = &r["failure"];
    (
        run.code,
        f["kind"].clone(),
        f["stage"].clone(),
        f["server_reply"].clone(),
        f["cause"].clone(),
        f["fix"].clone(),
    )
}

/// The issue's "done when": pipelining never hides an authentication failure. Each of the
/// mock's ways to fail POP3 at AUTH gives the same exit code, kind, stage, server reply,
/// cause and fix with and without `--no-pipelining`, and the pipelined run sent no CAPA.
#[tokio::test(flavor = "multi_thread")]
async fn pipelining_never_hides_a_pop_authentication_failure() {
    for case in CASES {
        let mock = Mock::with(case.tweak).await;
        let token = (case.token)(&mock);
        let mut args = as_user(mock.pop_args(), case.user);
        if let Some(mailbox) = case.mailbox {
            args.extend(strings(&["--mailbox", mailbox]));
        }
        let sequential = xoauth(
            &with_token(args.clone(), &["--json", "--no-pipelining"]),
            Some(&token),
            None,
        )
        .await;
        let pipelined = xoauth(&with_token(args, &["--json", "-v"]), Some(&token), None).await;
        let name = case.name;
        let want = verdict(&sequential);
        assert_eq!(want.0, 1, "{name}: {}", sequential.all());
        assert_eq!(want.1, case.kind, "{name}: {}", sequential.stdout);
        assert_eq!(want.2, "auth", "{name}: {}", sequential.stdout);
        assert_eq!(
            verdict(&pipelined),
            want,
            "{name}: pipelined\n{}\nsequential\n{}",
            pipelined.stdout,
            sequential.stdout
        );
        let r = pipelined.json();
        assert!(
            !wire(&r).iter().any(|l| l == "C: CAPA"),
            "{name}: a failure after `+` needs no CAPA: {:#?}",
            wire(&r)
        );
        assert_eq!(stages(&r), ["connect", "tls", "greeting", "auth"], "{name}");
        assert!(!contains_jwt(&pipelined.all()), "{name}: a token leaked");
    }
}

/// `--mechanism oauthbearer` against the mock, which offers only XOAUTH2: AUTH OAUTHBEARER is
/// refused, CAPA is asked, and the diagnosis names XOAUTH2 and the flag that uses it, exactly
/// as the sequential check says it.
#[tokio::test(flavor = "multi_thread")]
async fn a_mechanism_the_mock_does_not_offer_is_diagnosed_the_same_in_both_modes() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let args = with_token(mock.pop_args(), &["--mechanism", "oauthbearer", "--json"]);
    let mut sequential = args.clone();
    sequential.push("--no-pipelining".into());
    let sequential = xoauth(&sequential, Some(&token), None).await;
    let mut pipelined = args;
    pipelined.push("-v".into());
    let pipelined = xoauth(&pipelined, Some(&token), None).await;

    let want = verdict(&sequential);
    assert_eq!(want.0, 1, "{}", sequential.all());
    assert_eq!(want.1, "mechanism_not_offered");
    assert_eq!(want.2, "capability");
    assert_eq!(verdict(&pipelined), want, "{}", pipelined.stdout);
    let (s, p) = (sequential.json(), pipelined.json());
    assert_eq!(p["failure"]["message"], s["failure"]["message"]);
    assert_eq!(p["mechanism"], s["mechanism"]);
    assert_eq!(p["capabilities"], s["capabilities"]);
    assert_eq!(stages(&p), stages(&s));
    let message = p["failure"]["message"].as_str().unwrap();
    assert!(message.contains("it offers XOAUTH2"), "{message}");
    let wire = wire(&p);
    let clients: Vec<&str> = wire.iter().filter_map(|l| l.strip_prefix("C: ")).collect();
    assert_eq!(clients, ["AUTH OAUTHBEARER", "CAPA"], "{wire:#?}");
}

/// Port 110: STLS goes without CAPA first; a server without STLS is still refused before any
/// authentication, with the sequential check's diagnosis (CAPA explains the refusal).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_stls_is_diagnosed_the_same_in_both_modes() {
    let mock = Mock::with(|c| c.server.starttls = false).await;
    let token = mock.token(ALICE);
    let sequential = xoauth(
        &with_token(mock.pop_stls_args(), &["--json", "--no-pipelining"]),
        Some(&token),
        None,
    )
    .await;
    let pipelined = xoauth(
        &with_token(mock.pop_stls_args(), &["--json", "-v"]),
        Some(&token),
        None,
    )
    .await;
    let want = verdict(&sequential);
    assert_eq!(want.0, 4, "{}", sequential.all());
    assert_eq!(want.1, "starttls_not_offered");
    assert_eq!(verdict(&pipelined), want, "{}", pipelined.stdout);
    assert_eq!(stages(&pipelined.json()), stages(&sequential.json()));
    let wire = wire(&pipelined.json());
    let clients: Vec<&str> = wire.iter().filter_map(|l| l.strip_prefix("C: ")).collect();
    assert_eq!(clients, ["STLS", "CAPA"], "{wire:#?}");
    assert!(!mock.server.command_log().iter().any(|c| c.contains("AUTH")));
}
