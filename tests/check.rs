//! `xoauth check`: all three protocols for one identity, one combined report.

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_for_all_three_protocols() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.check_args(false), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["outcome"], "pass");
    let protocols: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["imap", "pop", "smtp"]);
    let human = xoauth(
        &with_token(mock.check_args(true), &[]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(human.code, 0, "{}", human.all());
    assert!(
        human
            .stdout
            .contains("summary: IMAP PASS, POP PASS, SMTP PASS"),
        "{}",
        human.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_with_send_finds_the_message_over_imap() {
    let mock = Mock::start().await;
    let args = with_token(mock.check_args(false), &["--send", "--to", ALICE, "--json"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(
        checks[0]["protocol"], "smtp",
        "SMTP runs first when sending"
    );
    let id = checks[0]["submission"]["message_id"].as_str().unwrap();
    let imap = checks.iter().find(|c| c["protocol"] == "imap").unwrap();
    assert_eq!(imap["found"]["message_id"], id);
    assert_eq!(imap["found"]["folder"], "INBOX");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_protocol_and_takes_the_worst_exit_code() {
    // bob: IMAP and POP work, SMTP AUTH is disabled for his mailbox.
    let mock = Mock::start().await;
    let args = as_user(mock.check_args(false), "bob@contoso.example");
    let run = xoauth(
        &with_token(args.clone(), &["--json"]),
        Some(&mock.token("bob@contoso.example")),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    let outcomes: Vec<(&str, &str)> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["protocol"].as_str().unwrap(),
                c["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("imap", "pass"), ("pop", "pass"), ("smtp", "fail")]
    );
    assert_eq!(r["checks"][2]["failure"]["kind"], "smtp_auth_disabled");
    // --protocols narrows it down.
    let only = only_protocols(args, "imap,pop");
    let run = xoauth(
        &with_token(only, &[]),
        Some(&mock.token("bob@contoso.example")),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("summary: IMAP PASS, POP PASS"));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_a_piped_token_once_for_all_checks() {
    let mock = Mock::start().await;
    let run = xoauth(&mock.check_args(false), None, Some(&mock.token(ALICE))).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_flag_errors() {
    let mock = Mock::start().await;
    for extra in [
        &["--protocols", "imap,imap"][..],
        &["--protocols", "pop", "--send", "--to", ALICE],
        &["--protocols", "ftp"],
    ] {
        let run = xoauth(
            &with_token(mock.check_args(false), extra),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{extra:?}: {}", run.all());
    }
}
