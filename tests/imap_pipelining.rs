//! Issue 13, IMAP: the check in 4 round trips against the mock (CAPABILITY sent before the
//! greeting is read, LIST sent with AUTHENTICATE, LOGOUT not waited for), one command at a
//! time with `--no-pipelining`, and pipelining never hiding an authentication failure: every
//! failure at or right after AUTHENTICATE comes out the same in both modes.

use serde_json::Value;
use xoauth_mock::{Config, Scenario, TokenSpec};

use crate::util::*;

/// `(direction, text)` of each transcript line.
fn transcript(r: &Value) -> Vec<(String, String)> {
    r["transcript"]
        .as_array()
        .expect("-v --json has a transcript")
        .iter()
        .map(|e| {
            (
                e["direction"].as_str().unwrap().to_string(),
                e["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Index of the first `direction` line starting with `prefix`.
fn at(t: &[(String, String)], direction: &str, prefix: &str) -> usize {
    t.iter()
        .position(|(d, text)| d == direction && text.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {direction} line {prefix:?} in {t:#?}"))
}

fn step_detail(r: &Value, stage: &str) -> String {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .map(|s| s["detail"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {stage} step in {r:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn list_goes_out_with_authenticate_and_logout_is_not_awaited() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "-v"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = transcript(&r);
    // CAPABILITY leaves before the greeting is read (with the client's TLS Finished).
    assert!(
        at(&t, "client", "a1 CAPABILITY") < at(&t, "server", "* OK"),
        "{t:#?}"
    );
    // AUTHENTICATE and LIST in one write, before the server's answer to AUTHENTICATE.
    let auth = at(&t, "client", "A1 AUTHENTICATE XOAUTH2 ");
    let list = at(&t, "client", "A2 LIST \"\" \"*\"");
    let auth_ok = at(&t, "server", "A1 OK");
    assert!(auth < list && list < auth_ok, "{t:#?}");
    assert_eq!(t[auth].1, "A1 AUTHENTICATE XOAUTH2 <redacted>");
    assert!(
        !t[auth..]
            .iter()
            .any(|(d, text)| d == "client" && text.contains("CAPABILITY")),
        "no CAPABILITY after AUTHENTICATE: {t:#?}"
    );
    // LOGOUT is the last line sent, and its answer is not read.
    let logout = at(&t, "client", "A3 LOGOUT");
    assert!(
        !t[logout + 1..].iter().any(|(d, _)| d == "server"),
        "{t:#?}"
    );
    assert_eq!(step_detail(&r, "logout"), "sent, not waited for");
    assert_eq!(
        stages(&r),
        [
            "connect",
            "tls",
            "greeting",
            "capability",
            "auth",
            "list",
            "logout"
        ]
    );
    assert!(!run.all().contains(&token), "the token leaked");
    assert!(!contains_jwt(&run.all()), "a token leaked");
    let log = mock.server.command_log();
    assert_eq!(
        log,
        [
            "IMAP CAPABILITY",
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP LIST",
            "IMAP LOGOUT"
        ],
        "the mock's view of the session"
    );

    // The human -v transcript redacts the pipelined write too.
    let run = xoauth(&with_token(mock.imap_args(), &["-v"]), Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("A1 AUTHENTICATE XOAUTH2 <redacted>"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains(&token), "the token leaked");
}

#[tokio::test(flavor = "multi_thread")]
async fn examine_goes_out_with_authenticate_too() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "-v", "--examine", "Entwürfe"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = transcript(&r);
    let examine = at(&t, "client", "A3 EXAMINE \"Entw&APw-rfe\"");
    assert!(examine < at(&t, "server", "A1 OK"), "{t:#?}");
    assert_eq!(r["examined"]["folder"], "Entwürfe");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_pipelining_one_command_at_a_time_as_before() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "-v", "--no-pipelining"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = transcript(&r);
    let order = [
        at(&t, "server", "* OK"),
        at(&t, "client", "a1 CAPABILITY"),
        at(&t, "server", "a1 OK"),
        at(&t, "client", "A1 AUTHENTICATE XOAUTH2 <redacted>"),
        at(&t, "server", "A1 OK"),
        at(&t, "client", "A2 CAPABILITY"),
        at(&t, "server", "A2 OK"),
        at(&t, "client", "A3 LIST"),
        at(&t, "server", "A3 OK"),
        at(&t, "client", "A4 LOGOUT"),
        at(&t, "server", "A4 OK"),
    ];
    assert!(order.is_sorted(), "{order:?}: {t:#?}");
    assert_eq!(step_detail(&r, "logout"), "");
}

/// One way for IMAP to fail at or right after AUTHENTICATE.
struct Case {
    name: &'static str,
    mock: fn(&mut Config),
    token: fn(&Mock) -> String,
    extra: &'static [&'static str],
    kind: &'static str,
    stage: &'static str,
    /// The decoded error challenge's `status`, when the server sends one.
    challenge: Option<&'static str>,
}

fn alice(mock: &Mock) -> String {
    mock.token(ALICE)
}

fn bad(_: &Mock) -> String {
    BAD_TOKEN.to_string()
}

const CASES: &[Case] = &[
    Case {
        name: "invalid token",
        mock: |_| {},
        token: bad,
        extra: &[],
        kind: "auth_rejected",
        stage: "auth",
        challenge: None,
    },
    Case {
        name: "expired token",
        mock: |_| {},
        token: |mock| {
            let mut spec = TokenSpec::user(ALICE);
            spec.lifetime_secs = -600;
            mock.server.issue_token(&spec)
        },
        extra: &[],
        kind: "auth_rejected",
        stage: "auth",
        challenge: None,
    },
    Case {
        name: "wrong audience",
        mock: |_| {},
        token: |mock| {
            let mut spec = TokenSpec::user(ALICE);
            spec.scopes = vec!["https://graph.microsoft.com/Mail.Read".into()];
            mock.server.issue_token(&spec)
        },
        extra: &[],
        kind: "auth_rejected",
        stage: "auth",
        challenge: None,
    },
    Case {
        name: "no FullAccess on the shared mailbox",
        mock: |_| {},
        token: alice,
        extra: &["--mailbox", "payroll@contoso.example"],
        kind: "authenticated_not_connected",
        stage: "list",
        challenge: None,
    },
    Case {
        name: "IMAP disabled for the mailbox",
        mock: |c| *c = Scenario::bundled("imap-disabled").unwrap().config,
        token: alice,
        extra: &[],
        kind: "authenticated_not_connected",
        stage: "list",
        challenge: None,
    },
    Case {
        name: "throttled",
        mock: |c| *c = Scenario::bundled("throttled").unwrap().config,
        token: alice,
        extra: &[],
        kind: "throttled",
        stage: "list",
        challenge: None,
    },
    Case {
        name: "XOAUTH2 error challenge (Gmail style)",
        mock: |c| c.server.xoauth2_error_challenge = true,
        token: bad,
        extra: &[],
        kind: "auth_rejected",
        stage: "auth",
        challenge: Some("400"),
    },
    Case {
        name: "OAUTHBEARER error challenge",
        mock: |c| c.server.oauthbearer = true,
        token: bad,
        extra: &["--mechanism", "oauthbearer"],
        kind: "auth_rejected",
        stage: "auth",
        challenge: Some("invalid_token"),
    },
];

/// The server's words without our tags (`A2 BAD ...` is LIST's refusal when pipelined, and
/// the same refusal of the same LIST is `A3 BAD ...` after the extra CAPABILITY).
fn untagged(reply: &Value) -> Vec<String> {
    reply
        .as_array()
        .unwrap_or_else(|| panic!("no server_reply: {reply}"))
        .iter()
        .map(|line| {
            let line = line.as_str().unwrap();
            match line.split_once(' ') {
                Some((tag, rest))
                    if tag.starts_with('A') && tag[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    rest.to_string()
                }
                _ => line.to_string(),
            }
        })
        .collect()
}

/// The issue's "done when": whatever the failure, the pipelined check reports what the
/// sequential one does — exit code, kind, stage, the server's words and the challenge.
#[tokio::test(flavor = "multi_thread")]
async fn pipelining_never_hides_an_authentication_failure() {
    for case in CASES {
        let mock = Mock::with(case.mock).await;
        let token = (case.token)(&mock);
        let mut seen = Vec::new();
        for mode in [&["--no-pipelining"][..], &[]] {
            let mut extra = vec!["--json", "-v"];
            extra.extend(case.extra);
            extra.extend(mode);
            let run = xoauth(&with_token(mock.imap_args(), &extra), Some(&token), None).await;
            let r = run.json();
            let f = &r["failure"];
            let what = format!("{} {mode:?}", case.name);
            assert_eq!(run.code, 1, "{what}: {}", run.all());
            assert_eq!(f["kind"], case.kind, "{what}: {f:#}");
            assert_eq!(f["stage"], case.stage, "{what}: {f:#}");
            assert_eq!(
                f["challenge"]["json"]["status"].as_str(),
                case.challenge,
                "{what}: {f:#}"
            );
            assert!(!contains_jwt(&run.all()), "{what}: a token leaked");
            seen.push((
                run.code,
                f["kind"].clone(),
                f["stage"].clone(),
                untagged(&f["server_reply"]),
                f["challenge"].clone(),
            ));
        }
        assert_eq!(seen[0], seen[1], "{}", case.name);
    }
}

/// Port 143: CAPABILITY and STARTTLS leave together before the greeting is read, nothing
/// follows STARTTLS until TLS is up, the capabilities are asked again over TLS, and only then
/// does AUTHENTICATE go out, with LIST.
#[tokio::test(flavor = "multi_thread")]
async fn starttls_goes_out_with_capability_and_nothing_follows_it_before_tls() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.imap_starttls_args(), &["--json", "-v"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = transcript(&r);
    let order = [
        at(&t, "client", "a1 CAPABILITY"),
        at(&t, "client", "a2 STARTTLS"),
        at(&t, "server", "* OK"),
        at(&t, "server", "a1 OK"),
        at(&t, "server", "a2 OK"),
        at(&t, "note", "TLS established"),
        at(&t, "client", "a3 CAPABILITY"),
        at(&t, "server", "a3 OK"),
        at(&t, "client", "A1 AUTHENTICATE XOAUTH2 <redacted>"),
        at(&t, "client", "A2 LIST"),
        at(&t, "server", "A1 OK"),
    ];
    assert!(order.is_sorted(), "{order:?}: {t:#?}");
    let tls = order[5];
    assert!(
        !t[order[1] + 1..tls].iter().any(|(d, _)| d == "client"),
        "nothing may be sent between STARTTLS and the handshake: {t:#?}"
    );
    assert!(!contains_jwt(&run.all()), "a token leaked");

    // One command at a time, STARTTLS waits for the capabilities.
    let run = xoauth(
        &with_token(
            mock.imap_starttls_args(),
            &["--json", "-v", "--no-pipelining"],
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let t = transcript(&run.json());
    let order = [
        at(&t, "server", "* OK"),
        at(&t, "client", "a1 CAPABILITY"),
        at(&t, "server", "a1 OK"),
        at(&t, "client", "a2 STARTTLS"),
        at(&t, "server", "a2 OK"),
        at(&t, "note", "TLS established"),
        at(&t, "client", "a3 CAPABILITY"),
    ];
    assert!(order.is_sorted(), "{order:?}: {t:#?}");
}
