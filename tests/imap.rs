//! `xoauth imap` against the mock: every outcome the foundation issue names.

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn own_mailbox_passes_and_lists_decoded_folders() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "--examine"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["outcome"], "pass");
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["mailbox"], ALICE);
    assert_eq!(r["mechanism"], "XOAUTH2");
    assert_eq!(r["tls"]["version"], "TLSv1.3");
    assert!(
        r["tls"]["certificate"]["subject_alt_names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "127.0.0.1")
    );
    let names: Vec<&str> = r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for wanted in ["Sent Items", "Entwürfe", "Ärger & Co", "日本語"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    let entwuerfe = r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Entwürfe")
        .unwrap();
    assert_eq!(entwuerfe["wire_name"], "Entw&APw-rfe");
    assert_eq!(r["examined"]["folder"], "INBOX");
    assert_eq!(r["examined"]["messages"], 3);
    assert_eq!(
        stages(&r),
        [
            "connect",
            "tls",
            "greeting",
            "capability",
            "auth",
            "list",
            "examine",
            "logout"
        ]
    );
    // EXAMINE, never SELECT: the check changes nothing.
    let log = mock.server.command_log();
    assert!(log.iter().any(|c| c == "IMAP EXAMINE"), "{log:?}");
    assert!(!log.iter().any(|c| c.contains("SELECT")), "{log:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn human_output_shows_steps_folders_and_pass() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &[]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    for wanted in [
        "connect",
        "tls",
        "greeting",
        "auth",
        "list",
        "日本語",
        "PASS",
    ] {
        assert!(
            run.stdout.contains(wanted),
            "{wanted} missing:\n{}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_token_fails_with_exit_1_and_an_explanation() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    assert_eq!(r["outcome"], "fail");
    let f = &r["failure"];
    assert_eq!(f["kind"], "auth_rejected");
    assert_eq!(f["stage"], "auth");
    assert!(
        f["server_reply"][0]
            .as_str()
            .unwrap()
            .ends_with("NO AUTHENTICATE failed.")
    );
    let candidates = f["candidates"].as_array().unwrap();
    assert!(
        candidates
            .iter()
            .any(|c| c.as_str().unwrap().contains("expired"))
    );
    assert!(f["challenge"].is_null(), "Exchange sends no challenge");
}

#[tokio::test(flavor = "multi_thread")]
async fn permitted_shared_mailbox_passes() {
    let mock = Mock::start().await;
    let args = with_token(
        mock.imap_args(),
        &["--mailbox", "sales@contoso.example", "--json"],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["user"], ALICE);
    assert_eq!(r["mailbox"], "sales@contoso.example");
    let names: Vec<&str> = r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Angebote/2026"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_shared_mailbox_is_not_connected_and_explained() {
    let mock = Mock::start().await;
    let args = with_token(mock.imap_args(), &["--mailbox", "payroll@contoso.example"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("BAD User is authenticated but not connected."),
        "{}",
        run.stdout
    );
    // Values in PowerShell are single-quoted literals (they were bare before issue 9).
    assert!(run.stdout.contains(
        "Add-MailboxPermission -Identity 'payroll@contoso.example' -User 'alice@contoso.example' -AccessRights FullAccess"
    ));
    let run = xoauth(
        &with_token(
            mock.imap_args(),
            &["--mailbox", "payroll@contoso.example", "--json"],
        ),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "authenticated_not_connected");
    assert_eq!(f["stage"], "list");
    // The authentication itself succeeded: that is what makes this failure distinct.
    let steps = &run.json()["steps"];
    let auth = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "auth")
        .unwrap();
    assert_eq!(auth["ok"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_path_upgrades_and_rereads_capabilities() {
    let mock = Mock::start().await;
    let run = xoauth(
        &with_token(mock.imap_starttls_args(), &["--json", "-v"]),
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
    assert!(r["tls"]["version"].as_str().unwrap().starts_with("TLSv1."));
    // The plaintext list had no AUTH=; the one used came after TLS.
    assert!(
        r["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "AUTH=XOAUTH2")
    );
    let transcript = r["transcript"].as_array().unwrap();
    let tls_at = transcript
        .iter()
        .position(|e| e["text"].as_str().unwrap().starts_with("TLS established"))
        .unwrap();
    let auth_at = transcript
        .iter()
        .position(|e| e["text"].as_str().unwrap().contains("AUTHENTICATE"))
        .unwrap();
    assert!(tls_at < auth_at, "AUTHENTICATE must come after TLS");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_starttls_is_an_error_and_no_auth_is_sent() {
    let mock = Mock::with(|c| c.server.starttls = false).await;
    let run = xoauth(
        &with_token(mock.imap_starttls_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "starttls_not_offered");
    let log = mock.server.command_log();
    assert!(
        !log.iter()
            .any(|c| c.contains("AUTHENTICATE") || c.contains("LOGIN")),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_certificate_exits_4_with_a_clear_message() {
    let mock = Mock::start().await;
    let args: Vec<String> = mock
        .imap_args()
        .into_iter()
        .filter(|a| a != "--ca-file" && !a.ends_with("mock-ca.pem"))
        .collect();
    let run = xoauth(&with_token(args, &[]), Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stdout.contains("not trusted"), "{}", run.stdout);
    assert!(run.stdout.contains("--ca-file"), "{}", run.stdout);
    assert!(
        mock.server.command_log().is_empty(),
        "nothing may be sent before TLS is trusted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_times_out_with_exit_4() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let args = strings(&[
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        ALICE,
        "--timeout",
        "1",
        "--json",
    ]);
    let run = xoauth(
        &with_token(args, &[]),
        Some("a-token-that-is-never-checked"),
        None,
    )
    .await;
    hold.abort();
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["kind"], "timeout");
    assert_eq!(r["failure"]["stage"], "tls");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_greeting_after_tls_times_out() {
    // STARTTLS listener variant: TCP accepted, no greeting ever.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let args = strings(&[
        "imap",
        "--starttls",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        ALICE,
        "--timeout",
        "0.5",
        "--json",
    ]);
    let run = xoauth(
        &with_token(args, &[]),
        Some("a-token-that-is-never-checked"),
        None,
    )
    .await;
    hold.abort();
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(run.json()["failure"]["stage"], "greeting");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_exits_4() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let args = strings(&[
        "imap",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        ALICE,
        "--json",
    ]);
    let run = xoauth(
        &with_token(args, &[]),
        Some("a-token-that-is-never-checked"),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "connect_failed");
}

/// The client line that acknowledges the error challenge in a `-v --json` transcript. One
/// command at a time it is the very next line; pipelined, the server may already have answered
/// (having taken the LIST line sent with AUTHENTICATE as the SASL answer) before the
/// acknowledgement went out, so it is the next client line.
fn acknowledgement(r: &serde_json::Value, pipelined: bool) -> serde_json::Value {
    let t = r["transcript"].as_array().unwrap();
    let at = t
        .iter()
        .position(|e| e["text"].as_str().unwrap().starts_with("+ "))
        .unwrap();
    if !pipelined {
        assert_eq!(t[at + 1]["direction"], "client", "{t:#?}");
        return t[at + 1]["text"].clone();
    }
    t[at + 1..]
        .iter()
        .find(|e| e["direction"] == "client")
        .unwrap_or_else(|| panic!("no acknowledgement in {t:#?}"))["text"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn gmail_style_challenge_is_acknowledged_and_decoded() {
    let mock = Mock::with(|c| c.server.xoauth2_error_challenge = true).await;
    for mode in [&["--no-pipelining"][..], &[]] {
        let mut extra = vec!["--json", "-v"];
        extra.extend(mode);
        let run = xoauth(&with_token(mock.imap_args(), &extra), Some(BAD_TOKEN), None).await;
        assert_eq!(run.code, 1, "{}", run.all());
        let r = run.json();
        let f = &r["failure"];
        assert_eq!(f["kind"], "auth_rejected");
        assert_eq!(f["challenge"]["json"]["status"], "400");
        assert_eq!(f["challenge"]["json"]["scope"], "https://mail.google.com/");
        assert!(
            f["server_reply"][0]
                .as_str()
                .unwrap()
                .contains("[AUTHENTICATIONFAILED]"),
            "{mode:?}: {f:#}"
        );
        // The acknowledgement is an empty line right after the challenge.
        assert_eq!(acknowledgement(&r, mode.is_empty()), "", "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oauthbearer_passes_and_its_failure_is_acknowledged_with_aq() {
    let mock = Mock::with(|c| c.server.oauthbearer = true).await;
    for mode in [&["--no-pipelining"][..], &[]] {
        let mut extra = vec!["--mechanism", "oauthbearer", "--json", "-v"];
        extra.extend(mode);
        let args = with_token(mock.imap_args(), &extra);
        let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert_eq!(run.json()["mechanism"], "OAUTHBEARER");

        let run = xoauth(&args, Some(BAD_TOKEN), None).await;
        assert_eq!(run.code, 1, "{}", run.all());
        let r = run.json();
        assert_eq!(r["failure"]["challenge"]["json"]["status"], "invalid_token");
        assert_eq!(acknowledgement(&r, mode.is_empty()), "AQ==", "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_sasl_ir_the_response_follows_a_bare_continuation() {
    let mock = Mock::with(|c| c.server.sasl_ir = false).await;
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json", "-v"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    let t = r["transcript"].as_array().unwrap();
    let auth = t
        .iter()
        .position(|e| {
            e["text"]
                .as_str()
                .unwrap()
                .ends_with("AUTHENTICATE XOAUTH2")
        })
        .expect("AUTHENTICATE without an initial response");
    assert_eq!(t[auth + 1]["text"], "+");
    assert_eq!(t[auth + 2]["text"], "<redacted>");
}

#[tokio::test(flavor = "multi_thread")]
async fn mechanism_not_offered_is_a_check_failure() {
    let mock = Mock::start().await;
    let args = with_token(mock.imap_args(), &["--mechanism", "oauthbearer", "--json"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "mechanism_not_offered");
    assert!(
        f["message"].as_str().unwrap().contains("XOAUTH2"),
        "it lists what is offered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn examine_of_a_missing_folder_fails_explained() {
    let mock = Mock::start().await;
    let args = with_token(mock.imap_args(), &["--examine", "Nope", "--json"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "examine_failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn examine_encodes_non_ascii_folder_names() {
    let mock = Mock::start().await;
    let args = with_token(mock.imap_args(), &["--examine", "Entwürfe", "--json"]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["examined"]["folder"], "Entwürfe");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_from_stdin_and_file() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let run = xoauth(&mock.imap_args(), None, Some(&format!("{token}\n"))).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("Bearer {token}\n")).unwrap();
    let mut args = mock.imap_args();
    args.extend(strings(&["--access-token-file", file.to_str().unwrap()]));
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_shows_every_case_as_expected() {
    let run = xoauth(&strings(&["demo"]), None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("7/7 cases came out as expected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("User is authenticated but not connected")
    );
    let run = xoauth(&strings(&["demo", "--json"]), None, None).await;
    let cases = run.json();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 7);
    assert!(cases.iter().all(|c| c["as_expected"] == true));
    assert_eq!(
        cases[2]["reports"][0]["failure"]["kind"],
        "authenticated_not_connected"
    );
    assert!(cases[4]["reports"][1]["found"]["message_id"].is_string());
    assert_eq!(
        cases[5]["reports"][0]["failure"]["kind"],
        "smtp_auth_disabled"
    );
    let app = &cases[6]["reports"][0];
    assert_eq!(app["token"]["origin"], "client-credentials");
    assert_eq!(app["outcome"], "pass");
}
