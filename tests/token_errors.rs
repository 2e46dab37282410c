//! Every way of not getting a token, through the real binary: the report names the input that
//! failed (variable, file, standard input, client secret, certificate, device code, redirect),
//! what happened to it and what to do, and never blames what was not involved.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

/// A check that fails at the token stage, before any connection (port 9 is never reached).
fn offline_check(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "imap",
        "--user",
        "alice@contoso.example",
        "--host",
        "127.0.0.1",
        "--port",
        "9",
        "--json",
    ]);
    args.extend(strings(extra));
    args
}

/// The failure of a JSON report, with its message, cause and fix in one string for searching.
fn failure_text(run: &Run) -> (serde_json::Value, String) {
    let f = run.json()["failure"].clone();
    let text = format!(
        "message: {} | cause: {} | fix: {}",
        f["message"].as_str().unwrap_or_default(),
        f["cause"].as_str().unwrap_or_default(),
        f["fix"].as_str().unwrap_or_default()
    );
    (f, text)
}

fn assert_says(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "{w:?} missing in: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_access_token_source_failure_has_its_own_message_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_str().unwrap().to_string();
    let missing = dir.path().join("token.txt");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<String>, Option<&str>, Vec<&str>)> = vec![
        (
            offline_check(&["--access-token-env", "XOAUTH_TOKEN_NOT_SET"]),
            None,
            vec![
                "XOAUTH_TOKEN_NOT_SET",
                "--access-token-env",
                "not set",
                "fix: export XOAUTH_TOKEN_NOT_SET",
            ],
        ),
        (
            offline_check(&["--access-token-file", missing]),
            None,
            vec![
                missing,
                "--access-token-file",
                "does not exist",
                "check the path",
            ],
        ),
        (
            offline_check(&["--access-token-file", &dir_path]),
            None,
            vec![&dir_path, "is a directory", "name the file inside"],
        ),
        (
            offline_check(&[]),
            Some(""),
            vec!["standard input is empty", "pipe the token in"],
        ),
    ];
    let mut fixes = Vec::new();
    for (args, stdin, words) in cases {
        let run = xoauth(&args, None, stdin).await;
        assert_eq!(run.code, 3, "{}", run.all());
        let (f, text) = failure_text(&run);
        assert_eq!(f["stage"], "token", "{text}");
        assert_says(&text, &words);
        assert!(
            !text.contains("SASL") && !text.contains("Bearer"),
            "blames the token's format: {text}"
        );
        fixes.push(f["fix"].as_str().unwrap().to_string());
    }
    fixes.dedup();
    assert_eq!(fixes.len(), 4, "each failure has its own fix: {fixes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_failures_say_client_secret() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("secret.txt");
    let base = as_user(mock.imap_args(), "sales@contoso.example");
    let env_args = mock.oauth(
        base.clone(),
        DAEMON,
        &["--client-secret-env", "XOAUTH_SECRET_NOT_SET", "--json"],
    );
    let file_args = mock.oauth(
        base.clone(),
        DAEMON,
        &["--client-secret-file", missing.to_str().unwrap(), "--json"],
    );
    // No terminal: the prompt cannot be shown.
    let prompt_args = mock.oauth(base, DAEMON, &["--client-secret-prompt", "--json"]);
    for (args, words) in [
        (
            env_args,
            vec![
                "client secret",
                "XOAUTH_SECRET_NOT_SET",
                "--client-secret-env",
            ],
        ),
        (
            file_args,
            vec!["client secret", "--client-secret-file", "does not exist"],
        ),
        (
            prompt_args,
            vec!["client secret", "--client-secret-prompt", "from a terminal"],
        ),
    ] {
        let run = spawn_without_terminal(&args).await;
        assert_eq!(run.code, 3, "{}", run.all());
        let (_, text) = failure_text(&run);
        assert_says(&text, &words);
        assert!(!text.contains("access token"), "{text}");
    }
    assert!(
        mock.server.token_requests().is_empty(),
        "nothing was sent to the identity provider"
    );
}

/// `xoauth args` with no controlling terminal (setsid), so that a prompt cannot open
/// /dev/tty even when the tests run in one.
async fn spawn_without_terminal(args: &[String]) -> Run {
    let mut cmd = tokio::process::Command::new("setsid");
    cmd.arg(assert_cmd::cargo::cargo_bin("xoauth"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("xoauth finishes")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sleep 45 | xoauth imap ...`: standard input is a pipe that stays open. The run ends after
/// --timeout with exit 3 and says what it waited for.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_but_silent_standard_input_is_bounded_by_timeout() {
    for (sent, words) in [
        ("", vec!["sent nothing and was not closed"]),
        ("eyJpart", vec!["was not closed after 7 bytes"]),
    ] {
        let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"))
            .args(offline_check(&["--timeout", "1"]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Held open (never dropped) until the child has exited.
        let mut stdin = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, sent.as_bytes())
            .await
            .unwrap();
        let started = Instant::now();
        let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
            .await
            .expect("xoauth gives up on standard input after --timeout, not never")
            .unwrap();
        let waited = started.elapsed();
        drop(stdin);
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(run.code, 3, "{}", run.all());
        assert!(waited >= Duration::from_millis(900), "{waited:?}");
        // The token step took the whole wait (it said "0 ms"), and so did the check.
        let report = run.json();
        let token_step = report["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["stage"] == "token"))
            .unwrap_or_else(|| panic!("a token step: {}", run.stdout));
        assert_eq!(token_step["ok"], false, "{token_step}");
        for elapsed in [&token_step["elapsed_ms"], &report["elapsed_ms"]] {
            let ms = elapsed.as_u64().unwrap_or_default();
            assert!(
                ms >= 900,
                "{ms} ms after waiting {waited:?}: {}",
                run.stdout
            );
        }
        let (_, text) = failure_text(&run);
        assert_says(
            &text,
            &["standard input", "1 s (--timeout)", "close the pipe"],
        );
        assert_says(&text, &words);
        assert!(
            !run.all().contains("eyJpart"),
            "partial input is not echoed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs12_without_or_with_a_wrong_password_says_so() {
    let mock = Mock::start().await;
    let p12 = fixture("app.p12");
    let p12 = p12.to_str().unwrap();
    let base = as_user(mock.imap_args(), "sales@contoso.example");
    let none = mock.oauth(base.clone(), DAEMON, &["--certificate", p12, "--json"]);
    let run = xoauth(&none, None, None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (_, text) = failure_text(&run);
    assert_says(
        &text,
        &[
            "protected by a password",
            "no password was given",
            "--certificate-password-env VAR",
        ],
    );
    assert!(!text.contains("MAC"), "{text}");

    let wrong = mock.oauth(
        base,
        DAEMON,
        &[
            "--certificate",
            p12,
            "--certificate-password-env",
            "P",
            "--json",
        ],
    );
    let run = xoauth_env(&wrong, &[("P", "not-the-password")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (_, text) = failure_text(&run);
    assert_says(
        &text,
        &["password", "is wrong", "--certificate-password-env"],
    );
    assert!(!text.contains("MAC"), "{text}");
    assert!(!run.all().contains("not-the-password"));
}

/// Nobody approves the code and --login-wait (2 s) ends long before the code's lifetime (the
/// mock's 900 s): xoauth stopped waiting; the server never said `expired_token`.
#[tokio::test(flavor = "multi_thread")]
async fn device_code_wait_ending_is_not_blamed_on_the_server() {
    let mock = Mock::with(|c| c.idp.device_code_interval_secs = 1).await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "device-code", "--json", "--login-wait", "2"],
    );
    let mut live = spawn_xoauth(&args, &[]);
    live.device_code().await;
    let run = live.finish().await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (f, text) = failure_text(&run);
    assert_eq!(f["kind"], "sign_in_incomplete");
    assert_says(
        &text,
        &["--login-wait (2 s)", "900 s", "raise --login-wait"],
    );
    assert!(!text.contains("expired_token"), "{text}");
    assert!(f.get("server_reply").is_none(), "no server words: {f}");
    assert!(!run.all().contains("server said"), "{}", run.all());
}

/// The loopback port from the printed authorize URL's `redirect_uri`.
fn loopback_port(url: &str) -> u16 {
    let url = url::Url::parse(url.trim()).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .expect("a redirect_uri")
        .1
        .into_owned();
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

/// A redirect carrying another sign-in's `state` (another tab, or a forger) is ignored and
/// said so; the right one still completes the sign-in, and without it the failure says what
/// arrived instead of blaming the identity provider.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_with_another_state_is_ignored_and_reported() {
    let mock = Mock::start().await;
    let stray = |port: u16| async move {
        let resp = reqwest::get(format!(
            "http://127.0.0.1:{port}/?code=stray-code&state=another-sign-in"
        ))
        .await
        .unwrap();
        assert_eq!(resp.status(), 400);
    };

    // Without the right redirect: the wait ends and says what happened.
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &[
            "--flow",
            "interactive",
            "--no-browser",
            "--json",
            "--login-wait",
            "3",
        ],
    );
    let mut live = spawn_xoauth(&args, &[]);
    let url = live.line(|l| l.trim_start().starts_with("https://")).await;
    stray(loopback_port(&url)).await;
    live.line(|l| l.contains("Ignored a sign-in redirect"))
        .await;
    let run = live.finish().await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (f, text) = failure_text(&run);
    assert_eq!(f["kind"], "sign_in_incomplete", "{text}");
    assert_says(
        &text,
        &[
            "state did not match this sign-in",
            "ignored",
            "sign in again",
        ],
    );
    assert!(!text.contains("refused"), "{text}");
    assert!(
        !mock
            .server
            .token_requests()
            .iter()
            .any(|r| r.grant_type == "authorization_code"),
        "the stray code was never redeemed"
    );

    // With it: the stray one is ignored and the sign-in completes.
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--no-browser", "--json"],
    );
    let mut live = spawn_xoauth(&args, &[]);
    let url = live.line(|l| l.trim_start().starts_with("https://")).await;
    stray(loopback_port(&url)).await;
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(url.trim()).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let back = location.replacen("http://localhost:", "http://127.0.0.1:", 1);
    assert_eq!(reqwest::get(&back).await.unwrap().status(), 200);
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("Ignored a sign-in redirect"),
        "{}",
        run.stderr
    );
}
