//! The ids a support case needs reach the report: the identity provider's trace and
//! correlation ids and error codes, the Exchange server's own name (decoded from the IMAP
//! greeting, read from the SMTP reply), the run id and each stage's start time; always in the
//! JSON, in the text only on failure.

use crate::util::*;

/// The value of the `name: value` line of the identity provider's description, as quoted in
/// the failure's `server_reply`.
fn reply_field(report: &serde_json::Value, name: &str) -> String {
    report["failure"]["server_reply"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|l| l.as_str().unwrap().strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
        .trim()
        .to_string()
}

fn assert_run_id(ids: &serde_json::Value) -> String {
    let run_id = ids["run_id"].as_str().unwrap().to_string();
    assert_eq!(run_id.len(), 16, "{ids}");
    assert!(run_id.chars().all(|c| c.is_ascii_hexdigit()), "{ids}");
    run_id
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_trace_and_correlation_ids_reach_the_report() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&args, &[("S", "wrong-secret-value-77")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let r = run.json();
    let ids = &r["ids"];
    let provider = &ids["provider"];
    assert_eq!(
        provider["error_codes"],
        serde_json::json!([7000215]),
        "{ids}"
    );
    // The mock's own ids, as it wrote them into its reply: not made up by xoauth.
    let trace = reply_field(&r, "Trace ID:");
    let correlation = reply_field(&r, "Correlation ID:");
    let timestamp = reply_field(&r, "Timestamp:");
    assert_eq!(provider["trace_id"], trace.as_str(), "{ids}");
    assert_eq!(provider["correlation_id"], correlation.as_str(), "{ids}");
    assert_eq!(provider["timestamp"], timestamp.as_str(), "{ids}");
    assert_eq!(trace.len(), 36, "a GUID: {trace}");
    let json_run_id = assert_run_id(ids);
    assert_eq!(ids["stages"][0]["stage"], "token", "{ids}");
    assert!(
        ids["stages"][0]["started_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The text report on failure: an ids block to copy, with the same ids.
    let text_args: Vec<String> = args.iter().filter(|a| *a != "--json").cloned().collect();
    let run = xoauth_env(&text_args, &[("S", "wrong-secret-value-77")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let out = &run.stdout;
    assert!(out.contains("ids (for a support case):"), "{out}");
    assert!(out.contains("error codes: AADSTS7000215"), "{out}");
    assert!(out.contains("    trace id: "), "{out}");
    assert!(out.contains("    correlation id: "), "{out}");
    assert!(out.contains("    token started: "), "{out}");
    let text_run_id = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("run id: "))
        .unwrap_or_else(|| panic!("no run id in {out}"));
    assert_eq!(text_run_id.len(), 16);
    assert_ne!(text_run_id, json_run_id, "each run has its own id");
    assert!(!run.all().contains("wrong-secret-value-77"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exchange_server_name_is_decoded_from_the_imap_greeting() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "-v"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    // The name is only in the greeting's base64 block: the plain text never says it.
    assert!(
        !serde_json::to_string(&r["transcript"])
            .unwrap()
            .contains("MOCK01"),
        "{r}"
    );
    assert_eq!(
        r["ids"]["server_name"], "MOCK01.outlook.office365.com",
        "{r}"
    );
    let stages: Vec<&str> = r["ids"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    for stage in ["connect", "greeting", "auth"] {
        assert!(stages.contains(&stage), "{stage} in {stages:?}");
    }
    assert_run_id(&r["ids"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exchange_server_name_of_an_smtp_refusal_is_in_the_text_report() {
    let mock = Mock::start().await;
    let run = xoauth(&with_token(mock.smtp_args(), &[]), Some(BAD_TOKEN), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let out = &run.stdout;
    assert!(
        out.contains("Authentication unsuccessful [MOCK01.outlook.office365.com]"),
        "{out}"
    );
    assert!(out.contains("ids (for a support case):"), "{out}");
    assert!(
        out.contains("    server: MOCK01.outlook.office365.com"),
        "{out}"
    );
    assert!(out.contains("    auth started: "), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_check_has_ids_in_json_but_no_ids_block_in_text() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.pop_args(), &["--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(
        r["ids"]["server_name"], "MOCK01.outlook.office365.com",
        "{r}"
    );
    assert_run_id(&r["ids"]);
    let run = xoauth(&with_token(mock.pop_args(), &[]), Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("ids ("), "{}", run.stdout);
}
