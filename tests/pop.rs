//! `xoauth pop` against the mock.

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn pop_passes_with_stat_and_changes_nothing() {
    let mock = Mock::start().await;
    let before = mock.server.message_ids(ALICE, "Inbox");
    // Sequential (CAPA first), and by default without CAPA (issue 13): the same check.
    for (flags, want) in [
        (
            vec!["--json", "-v", "--no-pipelining"],
            vec![
                "connect",
                "tls",
                "greeting",
                "capability",
                "auth",
                "stat",
                "quit",
            ],
        ),
        (
            vec!["--json", "-v"],
            vec!["connect", "tls", "greeting", "auth", "stat", "quit"],
        ),
    ] {
        pop_passes_once(&mock, &before, &flags, &want).await;
    }
}

async fn pop_passes_once(mock: &Mock, before: &[String], flags: &[&str], want: &[&str]) {
    let run = xoauth(
        &with_token(mock.pop_args(), flags),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["protocol"], "pop");
    assert_eq!(r["outcome"], "pass");
    assert_eq!(r["mechanism"], "XOAUTH2");
    assert_eq!(r["stat"]["messages"], before.len());
    assert!(r["stat"]["octets"].as_u64().unwrap() > 0);
    assert_eq!(stages(&r), want, "{flags:?}");
    // Exchange wants the response on its own line: AUTH XOAUTH2, then "+", then the data.
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| e["text"] == "AUTH XOAUTH2")
        .expect("two-step AUTH");
    assert_eq!(t[at + 1]["text"], "+");
    assert_eq!(t[at + 2]["text"], "<redacted>");
    // Read-only: no RETR, no DELE, and the maildrop is as it was.
    let log = mock.server.command_log();
    assert!(
        !log.iter().any(|c| c.contains("RETR") || c.contains("DELE")),
        "{log:?}"
    );
    assert_eq!(mock.server.message_ids(ALICE, "Inbox"), before);
    let quiet: Vec<&str> = flags.iter().copied().filter(|f| *f != "-v").collect();
    let again = xoauth(
        &with_token(mock.pop_args(), &quiet),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(again.json()["stat"], r["stat"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_over_stls() {
    let mock = Mock::start().await;
    // Sequential: CAPA before STLS and again over TLS.
    let run = xoauth(
        &with_token(mock.pop_stls_args(), &["--json", "--no-pipelining"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["target"]["security"], "starttls");
    assert_eq!(
        stages(&r)[..6],
        [
            "connect",
            "greeting",
            "capability",
            "starttls",
            "capability",
            "auth"
        ]
    );
    assert!(
        r["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "SASL PLAIN XOAUTH2")
    );
    // By default (issue 13): STLS right after the greeting, AUTH right after the handshake,
    // and no capabilities to report, since none were asked for.
    let run = xoauth(
        &with_token(mock.pop_stls_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["target"]["security"], "starttls");
    assert_eq!(
        stages(&r),
        ["connect", "greeting", "starttls", "auth", "stat", "quit"]
    );
    assert_eq!(r["capabilities"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_without_stls_is_refused_before_auth() {
    let mock = Mock::with(|c| c.server.starttls = false).await;
    let run = xoauth(
        &with_token(mock.pop_stls_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "starttls_not_offered");
    assert!(!mock.server.command_log().iter().any(|c| c.contains("AUTH")));
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_bad_token_is_rejected_and_explained() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.pop_args(), &["--json"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "auth_rejected");
    assert_eq!(
        f["server_reply"][0],
        "-ERR Authentication failure: unknown user name or bad password."
    );
    assert!(
        f["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("POP.AccessAsUser.All"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_disabled_mailbox_fails_with_pop_candidates() {
    let mock = Mock::start().await;
    let args = as_user(mock.pop_args(), "carol@contoso.example");
    let run = xoauth(
        &with_token(args, &["--json"]),
        Some(&mock.token("carol@contoso.example")),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "auth_rejected");
    assert!(
        f["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("PopEnabled"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_shared_mailbox_permission_follows_full_access() {
    let mock = Mock::start().await;
    let ok = with_token(
        mock.pop_args(),
        &["--mailbox", "sales@contoso.example", "--json"],
    );
    let run = xoauth(&ok, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["stat"]["messages"], 5);
    let denied = with_token(
        mock.pop_args(),
        &["--mailbox", "payroll@contoso.example", "--json"],
    );
    let run = xoauth(&denied, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_gmail_style_challenge_is_acknowledged() {
    let mock = Mock::with(|c| c.server.xoauth2_error_challenge = true).await;
    let run = xoauth(
        &with_token(mock.pop_args(), &["--json", "-v"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["challenge"]["json"]["status"], "400");
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| e["text"].as_str().unwrap().starts_with("+ "))
        .unwrap();
    assert_eq!(t[at + 1]["direction"], "client");
    assert_eq!(t[at + 1]["text"], "");
}
