//! SMTP in the fewest round trips (issue 13) against the mock: the wire order with and
//! without `--no-pipelining`, and that pipelining never changes how a failure is reported.

use std::sync::Arc;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use xoauth_mock::TokenSpec;

use crate::util::*;

/// The transcript of a `-v --json` report as `C: …` / `S: …` / `-- …` lines.
fn wire(r: &serde_json::Value) -> Vec<String> {
    r["transcript"]
        .as_array()
        .unwrap_or_else(|| panic!("no transcript in {r:#}"))
        .iter()
        .map(|e| {
            let who = match e["direction"].as_str().unwrap() {
                "client" => "C",
                "server" => "S",
                _ => "--",
            };
            format!("{who}: {}", e["text"].as_str().unwrap())
        })
        .collect()
}

fn position(wire: &[String], line: &str) -> usize {
    wire.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no {line:?} in {wire:#?}"))
}

/// The step `stage`'s detail.
fn detail(r: &serde_json::Value, stage: &str) -> String {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .and_then(|s| s["detail"].as_str())
        .unwrap_or_else(|| panic!("no {stage} step in {r:#}"))
        .to_string()
}

/// QUIT is the last thing the client sent and nothing the server said after it was read.
fn quit_not_awaited(w: &[String], r: &serde_json::Value) {
    let quit = position(w, "C: QUIT");
    assert!(
        w[quit + 1..].iter().all(|l| !l.starts_with("S: ")),
        "QUIT's reply must not be waited for: {w:#?}"
    );
    assert!(
        detail(r, "quit").contains("not waited"),
        "{}",
        detail(r, "quit")
    );
}

fn no_secret(run: &Run, token: &str) {
    assert!(!run.all().contains(token), "the token leaked");
    assert!(!contains_jwt(&run.all()), "a token leaked");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_check_auth_on_one_line_and_quit_not_awaited() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json", "-v"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let w = wire(&r);
    // A real token (over 1 KiB of base64) on the AUTH line: no bare 334, no second line.
    let auth = position(&w, "C: AUTH XOAUTH2 <redacted>");
    assert!(w[auth + 1].starts_with("S: 235 "), "{w:#?}");
    assert!(!w.iter().any(|l| l.starts_with("S: 334")), "{w:#?}");
    quit_not_awaited(&w, &r);
    assert!(!w.iter().any(|l| l.starts_with("S: 221")), "{w:#?}");
    no_secret(&run, &token);

    // The human `-v` transcript shows the same, and no secret either.
    let run = xoauth(&with_token(mock.smtp_args(), &["-v"]), Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("AUTH XOAUTH2 <redacted>"),
        "{}",
        run.stdout
    );
    no_secret(&run, &token);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_send_groups_mail_rcpt_data_under_pipelining() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let args = with_token(
        mock.smtp_args(),
        &["--send", "--to", ALICE, "--to", BOB, "--json", "-v"],
    );
    let run = xoauth(&args, Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let w = wire(&r);
    let mail = position(&w, &format!("C: MAIL FROM:<{ALICE}>"));
    assert_eq!(
        w[mail..mail + 4],
        [
            format!("C: MAIL FROM:<{ALICE}>"),
            format!("C: RCPT TO:<{ALICE}>"),
            format!("C: RCPT TO:<{BOB}>"),
            "C: DATA".to_string(),
        ],
        "the envelope is one group, written before the first of its replies: {w:#?}"
    );
    assert_eq!(
        w[mail + 4..mail + 8],
        [
            "S: 250 2.1.0 Sender OK",
            "S: 250 2.1.5 Recipient OK",
            "S: 250 2.1.5 Recipient OK",
            "S: 354 Start mail input; end with <CRLF>.<CRLF>",
        ],
        "{w:#?}"
    );
    quit_not_awaited(&w, &r);
    let id = r["submission"]["message_id"].as_str().unwrap();
    assert!(
        mock.server
            .message_ids(ALICE, "Inbox")
            .contains(&id.to_string())
    );
    assert!(
        mock.server
            .message_ids(BOB, "Inbox")
            .contains(&id.to_string())
    );
    no_secret(&run, &token);
}

/// `--no-pipelining` is today's session: every command waits for its reply, QUIT's too.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_without_pipelining_is_fully_sequential() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let args = with_token(
        mock.smtp_args(),
        &["--send", "--to", ALICE, "--json", "-v", "--no-pipelining"],
    );
    let run = xoauth(&args, Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let w = wire(&r);
    let auth = position(&w, "C: AUTH XOAUTH2");
    assert_eq!(w[auth + 1..auth + 3], ["S: 334", "C: <redacted>"], "{w:#?}");
    let mail = position(&w, &format!("C: MAIL FROM:<{ALICE}>"));
    assert_eq!(
        w[mail..mail + 6],
        [
            format!("C: MAIL FROM:<{ALICE}>"),
            "S: 250 2.1.0 Sender OK".to_string(),
            format!("C: RCPT TO:<{ALICE}>"),
            "S: 250 2.1.5 Recipient OK".to_string(),
            "C: DATA".to_string(),
            "S: 354 Start mail input; end with <CRLF>.<CRLF>".to_string(),
        ],
        "{w:#?}"
    );
    let quit = position(&w, "C: QUIT");
    assert!(w[quit + 1].starts_with("S: 221 "), "{w:#?}");
    assert_eq!(detail(&r, "quit"), "");
    no_secret(&run, &token);
}

/// Implicit TLS (465) follows the same rules.
#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_smtp_has_the_same_round_trips() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let addr = mock.server.smtps_addr();
    let args = strings(&[
        "smtp",
        "--host",
        "127.0.0.1",
        "--port",
        &addr.port().to_string(),
        "--implicit-tls",
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
        "--user",
        ALICE,
        "--send",
        "--to",
        ALICE,
        "--json",
        "-v",
    ]);
    let run = xoauth(&with_token(args, &[]), Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["target"]["security"], "implicit-tls");
    let w = wire(&r);
    position(&w, "C: AUTH XOAUTH2 <redacted>");
    assert!(!w.iter().any(|l| l.starts_with("S: 334")), "{w:#?}");
    let mail = position(&w, &format!("C: MAIL FROM:<{ALICE}>"));
    assert_eq!(w[mail + 1], format!("C: RCPT TO:<{ALICE}>"), "{w:#?}");
    assert_eq!(w[mail + 2], "C: DATA", "{w:#?}");
    quit_not_awaited(&w, &r);
}

/// Holds one authenticated session for alice on the mock's implicit-TLS submission port, so
/// that under `smtp_sessions_per_mailbox = 1` the next one is refused for concurrency.
async fn hold_a_session(
    mock: &Mock,
    token: &str,
) -> BufReader<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(mock.server.ca_der()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(mock.server.smtps_addr())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let mut s = BufReader::new(tls);
    let ir = base64::engine::general_purpose::STANDARD
        .encode(format!("user={ALICE}\x01auth=Bearer {token}\x01\x01"));
    let mut line = String::new();
    for send in [
        None,
        Some("EHLO held\r\n".to_string()),
        Some(format!("AUTH XOAUTH2 {ir}\r\n")),
    ] {
        if let Some(send) = send {
            s.get_mut().write_all(send.as_bytes()).await.unwrap();
        }
        loop {
            line.clear();
            s.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }
    assert!(line.starts_with("235 "), "{line}");
    s
}

/// One mock failure mode, run with and without `--no-pipelining`.
struct Case {
    name: &'static str,
    tweak: fn(&mut xoauth_mock::Config),
    /// The token the check sends (`None`: alice's good one).
    token: fn(&Mock) -> String,
    /// Arguments after `smtp --host … --user alice`.
    args: &'static [&'static str],
    /// `--user` instead of alice.
    user: Option<&'static str>,
    hold: bool,
    kind: &'static str,
    stage: &'static str,
}

fn alice(mock: &Mock) -> String {
    mock.token(ALICE)
}

fn scenario(name: &str) -> xoauth_mock::Config {
    xoauth_mock::Scenario::bundled(name)
        .unwrap_or_else(|| panic!("scenario {name} is shipped"))
        .config
}

const CASES: &[Case] = &[
    Case {
        name: "invalid token",
        tweak: |_| {},
        token: |_| BAD_TOKEN.to_string(),
        args: &[],
        user: None,
        hold: false,
        kind: "auth_rejected",
        stage: "auth",
    },
    Case {
        name: "expired token",
        tweak: |_| {},
        token: |m| {
            m.server.issue_token(&TokenSpec {
                lifetime_secs: -600,
                ..TokenSpec::user(ALICE)
            })
        },
        args: &[],
        user: None,
        hold: false,
        kind: "auth_rejected",
        stage: "auth",
    },
    Case {
        name: "wrong audience",
        tweak: |_| {},
        token: |m| {
            m.server.issue_token(&TokenSpec {
                scopes: vec!["https://graph.microsoft.com/Mail.Send".into()],
                ..TokenSpec::user(ALICE)
            })
        },
        args: &[],
        user: None,
        hold: false,
        kind: "auth_rejected",
        stage: "auth",
    },
    Case {
        name: "SMTP.Send missing",
        tweak: |_| {},
        token: |m| {
            m.server.issue_token(&TokenSpec {
                scopes: vec![
                    "https://outlook.office.com/IMAP.AccessAsUser.All".into(),
                    "https://outlook.office.com/POP.AccessAsUser.All".into(),
                ],
                ..TokenSpec::user(ALICE)
            })
        },
        args: &[],
        user: None,
        hold: false,
        kind: "auth_rejected",
        stage: "auth",
    },
    Case {
        name: "SMTP AUTH disabled for the tenant",
        tweak: |c| *c = scenario("smtp-auth-disabled-tenant"),
        token: alice,
        args: &[],
        user: None,
        hold: false,
        kind: "smtp_auth_disabled",
        stage: "auth",
    },
    Case {
        name: "SMTP AUTH disabled for the mailbox",
        tweak: |c| *c = scenario("smtp-auth-disabled-mailbox"),
        token: alice,
        args: &[],
        user: None,
        hold: false,
        kind: "smtp_auth_disabled",
        stage: "auth",
    },
    Case {
        name: "security defaults",
        tweak: |c| *c = scenario("security-defaults"),
        token: alice,
        args: &[],
        user: None,
        hold: false,
        kind: "auth_blocked_by_policy",
        stage: "auth",
    },
    Case {
        name: "throttled",
        tweak: |c| *c = scenario("throttled"),
        token: alice,
        args: &["--send", "--to", ALICE],
        user: None,
        hold: false,
        kind: "throttled",
        stage: "auth",
    },
    Case {
        name: "sender thread limit (concurrency)",
        tweak: |c| c.server.smtp_sessions_per_mailbox = 1,
        token: alice,
        args: &["--send", "--to", ALICE],
        user: None,
        hold: true,
        kind: "throttled",
        stage: "auth",
    },
    Case {
        name: "Gmail's error challenge",
        tweak: |c| c.server.xoauth2_error_challenge = true,
        token: |_| BAD_TOKEN.to_string(),
        args: &[],
        user: None,
        hold: false,
        kind: "auth_rejected",
        stage: "auth",
    },
    Case {
        name: "SendAs denied, sending as the shared mailbox",
        tweak: |c| *c = scenario("send-as-denied"),
        token: alice,
        args: &["--send", "--to", ALICE, "--from", "sales@contoso.example"],
        user: None,
        hold: false,
        kind: "send_as_denied",
        stage: "send",
    },
    Case {
        name: "SendAs denied, --from another mailbox",
        tweak: |_| {},
        token: alice,
        args: &["--send", "--to", ALICE, "--from", "payroll@contoso.example"],
        user: None,
        hold: false,
        kind: "send_as_denied",
        stage: "send",
    },
    Case {
        name: "SMTP AUTH disabled for bob's mailbox, with --send",
        tweak: |_| {},
        token: |m| m.token(BOB),
        args: &["--send", "--to", BOB],
        user: Some(BOB),
        hold: false,
        kind: "smtp_auth_disabled",
        stage: "auth",
    },
];

/// The issue's "done when" for SMTP: whatever fails at AUTH or at MAIL/RCPT/DATA fails the
/// same way with pipelining as without: exit code, failure kind and stage, and the pipelined
/// run did take the pipelined path (one-line AUTH with a real token, grouped envelope).
#[tokio::test(flavor = "multi_thread")]
async fn pipelining_never_hides_an_smtp_failure() {
    for case in CASES {
        let mock = Mock::with(case.tweak).await;
        let token = (case.token)(&mock);
        let _held = if case.hold {
            Some(hold_a_session(&mock, &mock.token(ALICE)).await)
        } else {
            None
        };
        let mut base = mock.smtp_args();
        if let Some(user) = case.user {
            base = as_user(base, user);
        }
        let mut seen = Vec::new();
        for extra in [&["--json", "-v"][..], &["--json", "-v", "--no-pipelining"]] {
            let mut args = base.clone();
            args.extend(strings(case.args));
            let args = with_token(args, extra);
            let run = xoauth(&args, Some(&token), None).await;
            let r = run.json();
            let what = format!("{} {extra:?}", case.name);
            assert_eq!(run.code, 1, "{what}: {}", run.all());
            assert_eq!(
                r["failure"]["kind"], case.kind,
                "{what}: {:#}",
                r["failure"]
            );
            assert_eq!(
                r["failure"]["stage"], case.stage,
                "{what}: {:#}",
                r["failure"]
            );
            no_secret(&run, &token);
            let w = wire(&r);
            let pipelined = !extra.contains(&"--no-pipelining");
            if pipelined && token.len() > 512 {
                assert!(
                    w.iter().any(|l| l == "C: AUTH XOAUTH2 <redacted>"),
                    "{what}: the real token rides on the AUTH line: {w:#?}"
                );
            }
            if let Some(mail) = w.iter().position(|l| l.starts_with("C: MAIL FROM:")) {
                let grouped = w[mail + 1].starts_with("C: RCPT TO:");
                assert_eq!(grouped, pipelined, "{what}: {w:#?}");
            }
            seen.push((
                run.code,
                r["failure"]["kind"].clone(),
                r["failure"]["stage"].clone(),
                r["failure"]["server_reply"].clone(),
            ));
        }
        assert_eq!(seen[0], seen[1], "{}: pipelined vs sequential", case.name);
    }
}
