//! `--support-bundle`: a .tar.gz that `tar` opens, with the report, the transcripts, the
//! environment and a sign-in log filter — and no secret of the run in any of its files.

use std::path::Path;

use crate::util::*;

/// The bundle's files, unpacked with the system's `tar` (the tool an admin would use).
fn unpack(bundle: &Path) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(bundle)
        .arg("-C")
        .arg(dir.path())
        .output()
        .expect("tar runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.path().join("xoauth-support");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn names(files: &[(String, String)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// No secret in any file: no JWT (access token, client assertion), no client secret, no SASL
/// string (`user=…\x01auth=Bearer`, raw or base64), no private key, no long opaque string (the
/// PKCE verifier, a refresh token), and the `extra` values.
fn assert_no_secret(files: &[(String, String)], extra: &[&str]) {
    let key = std::fs::read_to_string(fixture("app-key.pem")).unwrap();
    let key_lines: Vec<&str> = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for (name, text) in files {
        assert!(!contains_jwt(text), "{name} holds a JWT:\n{text}");
        assert!(
            !text.contains(DAEMON_SECRET),
            "{name} holds the client secret"
        );
        assert!(
            !text.contains("auth=Bearer"),
            "{name} holds the SASL string"
        );
        assert!(
            !text.contains("dXNlcj1"),
            "{name} holds a base64 user=… SASL string"
        );
        assert!(!text.contains("PRIVATE KEY"), "{name} holds a private key");
        for line in &key_lines {
            assert!(
                !text.contains(line),
                "{name} holds a line of the private key"
            );
        }
        for secret in extra {
            assert!(!text.contains(secret), "{name} holds {secret:?}");
        }
        // Secrets xoauth never shows the test (the PKCE verifier, a refresh token) have one
        // shape in common: a long unbroken base64url run. Nothing else in a bundle has it
        // (ids are GUIDs or hex, hosts and paths are broken by dots and slashes).
        let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        for run in text.split(|c: char| !b64url(c)) {
            let hex = run.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            assert!(
                run.len() < 43 || hex || is_exchange_server_name(run),
                "{name} holds a long opaque string (a verifier or a token?): {run}"
            );
        }
    }
}

/// The base64 block of an Exchange greeting: the server's name in UTF-16LE, public and
/// meant for support cases (the one long base64 run a transcript legitimately holds).
fn is_exchange_server_name(run: &str) -> bool {
    use base64::Engine as _;
    let Ok(bytes) =
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(run.trim_end_matches('='))
    else {
        return false;
    };
    bytes.len() % 2 == 0
        && bytes
            .chunks(2)
            .all(|c| c[1] == 0 && (c[0].is_ascii_alphanumeric() || c[0] == b'.' || c[0] == b'-'))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_app_only_check_bundles_its_evidence_and_no_secret() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("case.tar.gz");
    // The daemon app has no FullAccess on payroll: the check fails after a real token exchange.
    let args = mock.oauth(
        as_user(mock.imap_args(), "payroll@contoso.example"),
        DAEMON,
        &[
            "--client-secret-env",
            "S",
            "--support-bundle",
            bundle.to_str().unwrap(),
        ],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("support bundle written"),
        "{}",
        run.stderr
    );
    // Without -v the printed report has no transcript; the bundle has it anyway.
    assert!(!run.stdout.contains("transcript"), "{}", run.stdout);
    let files = unpack(&bundle);
    assert_eq!(
        names(&files),
        [
            "README.md",
            "entra-sign-in-logs.md",
            "environment.txt",
            "report.json",
            "report.txt",
            "transcript-1-imap.txt"
        ]
    );
    let get = |n: &str| &files.iter().find(|(name, _)| name == n).unwrap().1;
    assert!(
        get("README.md").contains("| FAIL |"),
        "{}",
        get("README.md")
    );
    let report: serde_json::Value = serde_json::from_str(get("report.json")).unwrap();
    assert_eq!(
        report["checks"][0]["failure"]["kind"],
        "authenticated_not_connected"
    );
    assert!(get("transcript-1-imap.txt").contains("AUTHENTICATE XOAUTH2"));
    let entra = get("entra-sign-in-logs.md");
    assert!(entra.contains("AADServicePrincipalSignInLogs"), "{entra}");
    assert!(entra.contains(&format!("AppId == \"{DAEMON}\"")), "{entra}");
    let env = get("environment.txt");
    assert!(env.contains("127.0.0.1:") && env.contains("TLS"), "{env}");
    assert_no_secret(&files, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_and_interactive_runs_leave_no_key_or_code_in_the_bundle() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(
        &pem,
        std::fs::read_to_string(fixture("app-cert.pem")).unwrap()
            + &std::fs::read_to_string(fixture("app-key.pem")).unwrap(),
    )
    .unwrap();
    let bundle = dir.path().join("cert.tar.gz");
    let args = mock.oauth(
        as_user(mock.smtp_args(), "payroll@contoso.example"),
        DAEMON,
        &[
            "--certificate",
            pem.to_str().unwrap(),
            "--support-bundle",
            bundle.to_str().unwrap(),
        ],
    );
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert_no_secret(&unpack(&bundle), &[]);

    // Interactive: the authorization code travels through the loopback redirect; it and the
    // token it buys stay out of the bundle.
    let bundle = dir.path().join("interactive.tar.gz");
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &[
            "--flow",
            "interactive",
            "--no-browser",
            "--support-bundle",
            bundle.to_str().unwrap(),
        ],
    );
    let mut live = spawn_xoauth(&args, &[]);
    let line = live.line(|l| l.trim_start().starts_with("https://")).await;
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(line.trim()).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the redirect carries a code");
    let back = location.replacen("http://localhost:", "http://127.0.0.1:", 1);
    assert_eq!(reqwest::get(&back).await.unwrap().status(), 200);
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    let files = unpack(&bundle);
    let entra = &files
        .iter()
        .find(|(n, _)| n == "entra-sign-in-logs.md")
        .unwrap()
        .1;
    assert!(
        entra.contains("SigninLogs") && entra.contains(ALICE),
        "{entra}"
    );
    assert_no_secret(&files, &[&code]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_path_that_cannot_be_written_is_a_usage_error_before_connecting() {
    let mock = Mock::start().await;
    for bad in ["/nonexistent-dir/x.tar.gz", "/tmp"] {
        let args = with_token(mock.imap_args(), &["--support-bundle", bad]);
        let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("--support-bundle"), "{}", run.stderr);
    }
    let args = strings(&[
        "check",
        "--mailboxes",
        "x.txt",
        "--support-bundle",
        "b.tar.gz",
    ]);
    let run = xoauth(&args, Some("t"), None).await;
    assert_eq!(run.code, 2, "{}", run.all());
}

/// A token refused by the identity platform: the bundle's sign-in log filter carries the
/// correlation id Entra sent, the one a support engineer asks for first.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_request_puts_its_correlation_id_in_the_filter() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("token.tar.gz");
    let args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &[
            "--client-secret-env",
            "S",
            "--json",
            "--support-bundle",
            bundle.to_str().unwrap(),
        ],
    );
    let run = xoauth_env(&args, &[("S", "a-wrong-secret-123")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let correlation = run.json()["ids"]["provider"]["correlation_id"]
        .as_str()
        .expect("Entra's correlation id is in the report")
        .to_string();
    let files = unpack(&bundle);
    let entra = &files
        .iter()
        .find(|(n, _)| n == "entra-sign-in-logs.md")
        .unwrap()
        .1;
    assert!(
        entra.contains(&format!("Correlation ID: {correlation}")),
        "{entra}"
    );
    // No token came back, yet the app and the kind of sign-in are known from the command.
    assert!(
        entra.contains("AADServicePrincipalSignInLogs")
            && entra.contains(&format!("AppId == \"{DAEMON}\"")),
        "{entra}"
    );
    assert_no_secret(&files, &["a-wrong-secret-123"]);
}
