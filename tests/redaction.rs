//! The access token and the SASL string never reach stdout or stderr, whatever the outcome and
//! with `-v` on.

use base64::Engine as _;

use crate::util::*;

fn forbidden(token: &str, user: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let xoauth2 = b64.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"));
    vec![token.to_string(), xoauth2]
}

fn assert_clean(run: &Run, token: &str, user: &str) {
    let all = run.all();
    for secret in forbidden(token, user) {
        assert!(!all.contains(&secret), "secret leaked:\n{all}");
    }
    // Not even a recognisable piece of it.
    assert!(
        !all.contains(&token[token.len() / 2..]),
        "token tail leaked:\n{all}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_any_output() {
    let mock = Mock::with(|c| c.server.oauthbearer = true).await;
    let gmail = Mock::with(|c| {
        c.server.xoauth2_error_challenge = true;
        c.server.sasl_ir = false;
    })
    .await;
    let shared = ["--mailbox", "payroll@contoso.example"];
    let alice = mock.token(ALICE);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (with_token(mock.imap_args(), &["-v"]), alice.as_str()),
        (
            with_token(mock.imap_args(), &["-v", "--json"]),
            alice.as_str(),
        ),
        (with_token(mock.imap_args(), &["-v"]), BAD_TOKEN),
        (with_token(mock.imap_args(), &["-v", "--json"]), BAD_TOKEN),
        (
            with_token(mock.imap_args(), &["-v", "--mechanism", "oauthbearer"]),
            BAD_TOKEN,
        ),
        (
            with_token(mock.imap_args(), &["-v", "--mechanism", "oauthbearer"]),
            alice.as_str(),
        ),
        (
            with_token(mock.imap_args(), &[&["-v"][..], &shared[..]].concat()),
            alice.as_str(),
        ),
        (
            with_token(mock.imap_starttls_args(), &["-v", "--json"]),
            alice.as_str(),
        ),
        (with_token(gmail.imap_args(), &["-v", "--json"]), BAD_TOKEN),
        (with_token(gmail.imap_args(), &["-v"]), alice.as_str()),
        (with_token(mock.pop_args(), &["-v"]), alice.as_str()),
        (with_token(mock.pop_args(), &["-v", "--json"]), BAD_TOKEN),
        (
            with_token(mock.pop_args(), &["-v", "--mechanism", "oauthbearer"]),
            BAD_TOKEN,
        ),
        (with_token(gmail.pop_args(), &["-v"]), BAD_TOKEN),
        (
            with_token(mock.smtp_args(), &["-v", "--send", "--to", ALICE]),
            alice.as_str(),
        ),
        (with_token(mock.smtp_args(), &["-v", "--json"]), BAD_TOKEN),
        (
            with_token(mock.smtp_args(), &["-v", "--mechanism", "oauthbearer"]),
            BAD_TOKEN,
        ),
        (with_token(gmail.smtp_args(), &["-v", "--json"]), BAD_TOKEN),
        (with_token(gmail.smtp_args(), &["-v"]), alice.as_str()),
        (
            with_token(mock.check_args(true), &["-v", "--send", "--to", ALICE]),
            alice.as_str(),
        ),
    ];
    for (args, token) in cases {
        let run = xoauth(&args, Some(token), None).await;
        assert!(run.code == 0 || run.code == 1, "{}", run.all());
        // The transcript was really printed, so the check below means something.
        assert!(run.all().contains("AUTH"), "{}", run.all());
        assert!(run.all().contains("<redacted>"), "{}", run.all());
        assert_clean(&run, token, ALICE);
        assert_clean(&run, token, "payroll@contoso.example");
        assert!(
            !contains_jwt(&run.all()),
            "a JWT reached the output:\n{}",
            run.all()
        );
    }
    let run = xoauth(&strings(&["demo", "-v"]), None, None).await;
    assert_eq!(run.code, 0);
    // The demo obtains its own tokens; none of them, nor anything JWT-shaped, may show.
    assert!(
        !contains_jwt(&run.all()),
        "a JWT reached the output:\n{}",
        run.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_given_as_an_argument_is_refused_and_not_echoed() {
    let run = xoauth(
        &strings(&["imap", "--user", ALICE, "--access-token", BAD_TOKEN]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--access-token-env"), "{}", run.stderr);
    assert!(!run.all().contains(BAD_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_runs_show_no_secret_assertion_or_token() {
    let mock = Mock::with(|c| c.idp.device_code_interval_secs = 1).await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    let mut bytes = std::fs::read(fixture("app-cert.pem")).unwrap();
    bytes.extend(std::fs::read(fixture("app-key.pem")).unwrap());
    std::fs::write(&pem, &bytes).unwrap();
    let shared = as_user(mock.imap_args(), "sales@contoso.example");
    let runs = vec![
        xoauth_env(
            &mock.oauth(shared.clone(), DAEMON, &["-v", "--client-secret-env", "S"]),
            &[("S", DAEMON_SECRET)],
            None,
        )
        .await,
        xoauth_env(
            &mock.oauth(
                shared.clone(),
                DAEMON,
                &["-v", "--json", "--client-secret-env", "S"],
            ),
            &[("S", "a-wrong-secret-123")],
            None,
        )
        .await,
        xoauth(
            &mock.oauth(
                shared.clone(),
                DAEMON,
                &["-v", "--certificate", pem.to_str().unwrap()],
            ),
            None,
            None,
        )
        .await,
        {
            let args = mock.oauth(mock.imap_args(), PUBLIC, &["-v", "--flow", "device-code"]);
            let mut live = spawn_xoauth(&args, &[]);
            let code = live.device_code().await;
            assert!(mock.server.approve_device_code(&code, ALICE));
            live.finish().await
        },
    ];
    for run in runs {
        let all = run.all();
        assert!(all.contains("token"), "{all}");
        for secret in [DAEMON_SECRET, "a-wrong-secret-123"] {
            assert!(!all.contains(secret), "client secret leaked:\n{all}");
        }
        assert!(!contains_jwt(&all), "a token or assertion leaked:\n{all}");
        assert!(!all.contains("PRIVATE KEY"), "{all}");
    }
}

/// The mock's refresh tokens all carry this; none may reach output.
const REFRESH_MARK: &str = "AXoAmock";

/// A home, config, cache, data and temp directory of the run's own, so that every file an
/// xoauth run could write lands where the test can read it back.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }

    fn env<'a>(&'a self, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let dir = self.0.path().to_str().unwrap();
        let mut env = vec![
            ("HOME", dir),
            ("XDG_CONFIG_HOME", dir),
            ("XDG_CACHE_HOME", dir),
            ("XDG_STATE_HOME", dir),
            ("TMPDIR", dir),
        ];
        env.extend_from_slice(more);
        env
    }

    /// Every file left in the directory, with its bytes.
    fn files(&self) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut found = Vec::new();
        let mut dirs = vec![self.0.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
                }
            }
        }
        found
    }

    /// No file written holds any of `secrets`, a JWT or a refresh token.
    fn assert_clean(&self, secrets: &[&str]) {
        for (path, bytes) in self.files() {
            let text = String::from_utf8_lossy(&bytes);
            for secret in secrets {
                assert!(!text.contains(secret), "{} holds a secret", path.display());
            }
            assert!(!contains_jwt(&text), "{} holds a token", path.display());
            assert!(!text.contains(REFRESH_MARK), "{}", path.display());
        }
    }
}

/// Output without any of `secrets`, any JWT (token or client assertion), any refresh token
/// or private key.
fn assert_no_secret(run: &Run, secrets: &[&str]) {
    let all = run.all();
    for secret in secrets {
        assert!(!all.contains(secret), "a secret leaked:\n{all}");
        assert!(
            !all.contains(&secret[secret.len() / 2..]),
            "a secret's tail leaked:\n{all}"
        );
    }
    assert!(!contains_jwt(&all), "a token or assertion leaked:\n{all}");
    assert!(
        !all.contains(REFRESH_MARK),
        "a refresh token leaked:\n{all}"
    );
    assert!(!all.contains("PRIVATE KEY"), "{all}");
}

/// The formats every command is run in.
const FORMATS: [&[&str]; 3] = [&[], &["--json"], &["-v"]];

#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_setup_script_and_demo_show_no_secret() {
    let mock = Mock::start().await;
    let home = Home::new();
    let alice = mock.token(ALICE);
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    let mut bytes = std::fs::read(fixture("app-cert.pem")).unwrap();
    bytes.extend(std::fs::read(fixture("app-key.pem")).unwrap());
    std::fs::write(&pem, &bytes).unwrap();
    let secrets = [alice.as_str(), DAEMON_SECRET];
    let env = home.env(&[("T", &alice), ("S", DAEMON_SECRET)]);
    let base = strings(&[
        "token",
        "--user",
        "sales@contoso.example",
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
    ]);
    // A given token, a client secret, a certificate: the token command in every format.
    let given = [&base[..], &strings(&["--access-token-env", "T"])].concat();
    let secret = mock.oauth(base.clone(), DAEMON, &["--client-secret-env", "S"]);
    let certificate = mock.oauth(
        base.clone(),
        DAEMON,
        &["--certificate", pem.to_str().unwrap()],
    );
    for args in [&given, &secret, &certificate] {
        for format in FORMATS {
            let run = xoauth_env(&[&args[..], &strings(format)].concat(), &env, None).await;
            assert_eq!(run.code, 0, "{}", run.all());
            // The claims were shown, so the run got as far as the token.
            assert!(run.all().contains("aud"), "{}", run.all());
            assert_no_secret(&run, &secrets);
        }
        // --print: the token on stdout by request, and nothing of it on stderr.
        let print = [&args[..], &strings(&["--print", "-v"])].concat();
        let run = xoauth_env(&print, &env, None).await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(contains_jwt(&run.stdout), "{}", run.stdout);
        let stderr_only = Run {
            code: run.code,
            stdout: String::new(),
            stderr: run.stderr.clone(),
        };
        assert!(!stderr_only.stderr.is_empty());
        assert_no_secret(&stderr_only, &secrets);
    }
    // A wrong secret, in a failed run.
    let wrong = home.env(&[("S", "a-wrong-secret-123")]);
    for format in FORMATS {
        let run = xoauth_env(&[&secret[..], &strings(format)].concat(), &wrong, None).await;
        assert_eq!(run.code, 3, "{}", run.all());
        assert_no_secret(&run, &["a-wrong-secret-123"]);
    }
    let setup = strings(&[
        "setup-script",
        "--app-id",
        DAEMON,
        "--tenant",
        "contoso.example",
        "--mailbox",
        "sales@contoso.example",
    ]);
    let run = xoauth_env(&setup, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_secret(&run, &secrets);
    for format in [&[][..], &["--json"], &["-v"], &["-v", "--json"]] {
        let demo = [&strings(&["demo"])[..], &strings(format)].concat();
        let run = xoauth_env(&demo, &env, None).await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert_no_secret(&run, &secrets);
    }
    home.assert_clean(&secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_on_the_command_line_is_refused_and_not_echoed() {
    let secret = "Zq8~mock.pasted-client-secret_77";
    let cases = [
        // The flag that does not exist, in both spellings.
        strings(&[
            "imap",
            "--user",
            ALICE,
            "--client-id",
            "x",
            "--client-secret",
            secret,
        ]),
        strings(&[
            "token",
            "--user",
            ALICE,
            &format!("--client-secret={secret}"),
        ]),
        strings(&[
            "smtp",
            "--user",
            ALICE,
            "--certificate",
            "app.pfx",
            "--certificate-password",
            secret,
        ]),
        // A secret pasted where no argument goes, with and without --json.
        strings(&["imap", "--user", ALICE, "--client-id", "x", secret]),
        strings(&[
            "check",
            "--user",
            ALICE,
            "--json",
            secret,
            "--access-token-env",
            "T",
        ]),
        strings(&["pop", secret, "--user", ALICE]),
    ];
    for args in cases {
        let run = xoauth(&args, None, None).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            !run.all().contains(secret),
            "{args:?} echoed it:\n{}",
            run.all()
        );
        assert!(!run.all().contains("Zq8~"), "{}", run.all());
        let safe = if args.iter().any(|a| a == "--certificate-password") {
            &["--certificate-password-env"][..]
        } else {
            &[
                "--client-secret-env",
                "--client-secret-file",
                "--client-secret-prompt",
            ][..]
        };
        for flag in safe {
            assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        }
    }
}

/// A keyring service of this test's own, cleared when the test ends.
struct Service(String);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"))
            .args(["cache", "clear"])
            .env("XOAUTH_KEYRING_SERVICE", &self.0)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_runs_and_the_cache_listing_show_no_secret() {
    let service = Service(format!("xoauth-test-redaction-{}", std::process::id()));
    let home = Home::new();
    let env = home.env(&[("XOAUTH_KEYRING_SERVICE", &service.0)]);
    let probe = xoauth_env(&strings(&["cache", "list"]), &env, None).await;
    if probe.code != 0 {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI must provide an OS keyring:\n{}",
            probe.all()
        );
        eprintln!("SKIPPED: needs an OS keyring: {}", probe.stderr.trim());
        return;
    }
    // Tokens that expire inside the reuse margin: every later run refreshes.
    let mock = Mock::with(|c| {
        c.idp.device_code_interval_secs = 1;
        c.idp.token_lifetime_secs = 60;
    })
    .await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--cache", "--flow", "device-code", "--login-wait", "10"],
    );
    let mut live = spawn_xoauth(&[&args[..], &strings(&["-v"])].concat(), &env);
    let code = live.device_code().await;
    assert!(mock.server.approve_device_code(&code, ALICE));
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_secret(&run, &[]);
    for format in [&[][..], &["--json"], &["-v"], &["-v", "--json"]] {
        let run = xoauth_env(&[&args[..], &strings(format)].concat(), &env, None).await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(run.all().contains("refresh"), "{}", run.all());
        assert_no_secret(&run, &[]);
    }
    let grants: Vec<String> = mock
        .server
        .token_requests()
        .iter()
        .map(|r| r.grant_type.clone())
        .collect();
    assert!(
        grants.iter().filter(|g| *g == "refresh_token").count() >= 4,
        "{grants:?}"
    );
    for list in [&["cache", "list"][..], &["cache", "list", "--json"]] {
        let run = xoauth_env(&strings(list), &env, None).await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(run.all().contains(ALICE), "{}", run.all());
        assert_no_secret(&run, &[]);
    }
    home.assert_clean(&[]);
}

/// A bulk audit prints every cell's report (with -v, each transcript): no token, SASL string or
/// client secret in any of it, human or JSON lines, app-only or with a given token.
#[tokio::test(flavor = "multi_thread")]
async fn audit_runs_show_no_secret() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(
        &list,
        "sales@contoso.example\npayroll@contoso.example\nnot an address\n",
    )
    .unwrap();
    let audit = |extra: &[&str]| {
        let mut args = mock.check_args(false);
        args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "-v"]));
        args.extend(strings(extra));
        args
    };
    let alice = mock.token(ALICE);
    for json in [&[][..], &["--json"][..]] {
        for token in [alice.as_str(), BAD_TOKEN] {
            let run = xoauth(&with_token(audit(json), &[]), Some(token), None).await;
            assert!(matches!(run.code, 1..=3), "{}", run.all());
            assert!(
                run.all().contains("payroll@contoso.example"),
                "{}",
                run.all()
            );
            if !json.is_empty() {
                assert!(run.all().contains("<redacted>"), "{}", run.all());
            }
            assert_clean(&run, token, "sales@contoso.example");
            assert_clean(&run, token, "payroll@contoso.example");
            assert!(!contains_jwt(&run.all()), "{}", run.all());
        }
        // App-only, from the client secret.
        let mut args = audit(json);
        let i = args.iter().position(|a| a == "--user").unwrap();
        args.drain(i..i + 2);
        let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
        let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
        assert!(matches!(run.code, 1 | 2), "{}", run.all());
        assert!(!run.all().contains(DAEMON_SECRET), "{}", run.all());
        assert!(!contains_jwt(&run.all()), "{}", run.all());
    }
}
