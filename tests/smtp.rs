//! `xoauth smtp` against the mock: AUTH, the 5.7.139 family, the 334 challenge, sending.

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_passes_over_starttls_without_sending() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json", "-v"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["protocol"], "smtp");
    assert_eq!(r["target"]["security"], "starttls");
    assert_eq!(
        stages(&r),
        [
            "connect",
            "greeting",
            "capability",
            "starttls",
            "capability",
            "auth",
            "quit"
        ]
    );
    assert!(r["submission"].is_null());
    // Post-TLS EHLO is what counts: AUTH is there, STARTTLS is not.
    let caps = r["capabilities"].as_array().unwrap();
    assert!(
        caps.iter()
            .any(|c| c.as_str().unwrap().starts_with("AUTH "))
    );
    assert!(!caps.iter().any(|c| c == "STARTTLS"));
    let log = mock.server.command_log();
    assert!(
        !log.iter().any(|c| c.contains("MAIL") || c.contains("DATA")),
        "{log:?}"
    );
    let t = r["transcript"].as_array().unwrap();
    // The mock names itself Exchange, which takes a real token on the AUTH line.
    assert!(
        t.iter().any(|e| e["text"] == "AUTH XOAUTH2 <redacted>"),
        "{t:#?}"
    );

    // Without pipelining, a real token is too long for a 512-octet AUTH line: two-step.
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json", "-v", "--no-pipelining"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| e["text"] == "AUTH XOAUTH2")
        .expect("two-step AUTH");
    assert_eq!(t[at + 1]["text"], "334");
    assert_eq!(t[at + 2]["text"], "<redacted>");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_bad_token_is_535_5_7_3() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "auth_rejected");
    assert!(
        f["server_reply"][0]
            .as_str()
            .unwrap()
            .starts_with("535 5.7.3 Authentication unsuccessful")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_disabled_for_the_tenant_is_explained() {
    let mock = Mock::with(|c| c.tenant.smtp_auth_disabled = true).await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "smtp_auth_disabled");
    assert!(
        f["server_reply"][0]
            .as_str()
            .unwrap()
            .contains("disabled for the Tenant")
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_disabled_for_the_mailbox_is_explained() {
    let mock = Mock::start().await;
    let args = as_user(mock.smtp_args(), "bob@contoso.example");
    let run = xoauth(
        &with_token(args, &[]),
        Some(&mock.token("bob@contoso.example")),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("disabled for the Mailbox"),
        "{}",
        run.stdout
    );
    // Values in PowerShell are single-quoted literals (they were bare before issue 9).
    assert!(run.stdout.contains(
        "Set-CASMailbox -Identity 'bob@contoso.example' -SmtpClientAuthenticationDisabled $false"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_security_defaults_are_named() {
    let mock = Mock::with(|c| c.tenant.security_defaults = true).await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "auth_blocked_by_policy");
    assert!(f["cause"].as_str().unwrap().contains("Security Defaults"));
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_334_json_challenge_is_decoded_acknowledged_and_reported() {
    let mock = Mock::with(|c| c.server.xoauth2_error_challenge = true).await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--json", "-v"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    let f = &r["failure"];
    assert_eq!(f["kind"], "auth_rejected");
    assert_eq!(f["challenge"]["json"]["status"], "400");
    let reply: Vec<&str> = f["server_reply"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(reply[0].starts_with("334 "), "{reply:?}");
    assert!(
        reply.iter().any(|l| l.starts_with("535")),
        "the final reply is read: {reply:?}"
    );
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| e["text"].as_str().unwrap().starts_with("334 "))
        .unwrap();
    assert_eq!(t[at + 1]["direction"], "client");
    assert_eq!(
        t[at + 1]["text"],
        "",
        "XOAUTH2 acknowledges with an empty line"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn send_delivers_a_message_that_imap_finds() {
    let mock = Mock::start().await;
    let args = with_token(mock.smtp_args(), &["--send", "--to", ALICE, "--json"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let sub = &r["submission"];
    let id = sub["message_id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("<xoauth.") && id.ends_with("@contoso.example>"),
        "{id}"
    );
    assert_eq!(sub["from"], ALICE);
    assert!(sub["reply"].as_str().unwrap().starts_with("250"));
    assert!(
        sub["subject"].as_str().unwrap().contains(&id[8..20]),
        "subject carries the run id"
    );
    assert!(mock.server.message_ids(ALICE, "Inbox").contains(&id));
    let raw = String::from_utf8(mock.server.message(ALICE, &id).unwrap()).unwrap();
    assert!(
        raw.contains("Date: ") && raw.contains("MIME-Version: 1.0"),
        "{raw}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn send_as_someone_else_is_refused_and_explained() {
    let mock = Mock::start().await;
    let args = with_token(
        mock.smtp_args(),
        &[
            "--send",
            "--to",
            ALICE,
            "--from",
            "payroll@contoso.example",
            "--json",
        ],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "send_as_denied");
    assert_eq!(f["stage"], "send");
    assert!(
        f["server_reply"][0]
            .as_str()
            .unwrap()
            .contains("SendAsDenied")
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Add-RecipientPermission")
    );
    // Permitted: alice may send as sales.
    let args = with_token(
        mock.smtp_args(),
        &[
            "--send",
            "--to",
            ALICE,
            "--from",
            "sales@contoso.example",
            "--json",
        ],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_smtp_works_and_exchange_465_gets_a_warning() {
    let mock = Mock::start().await;
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
        "--json",
    ]);
    let run = xoauth(&with_token(args, &[]), Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["target"]["security"], "implicit-tls");
    assert!(
        run.json()["warnings"].as_array().unwrap().is_empty(),
        "not Exchange Online"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn send_flags_are_validated() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--send"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--to"), "{}", run.stderr);
    let run = xoauth(
        &with_token(mock.smtp_args(), &["--to", ALICE]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--send"), "{}", run.stderr);
    assert!(
        mock.server.command_log().is_empty(),
        "usage errors connect to nothing"
    );
}
