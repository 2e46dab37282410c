//! Profiles: `--profile NAME` takes flags from a TOML config file (`--config`, XOAUTH_CONFIG or
//! the platform's config directory); flags on the command line win; every mistake in the file
//! is exit 2 with the key's line, and no secret is read from it or echoed.

use std::path::{Path, PathBuf};

use crate::util::*;

/// A config file in a directory of its own, with the mock's CA beside it.
struct Config {
    dir: tempfile::TempDir,
}

impl Config {
    fn new(mock: &Mock, text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&mock.ca_file, dir.path().join("ca.pem")).unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Config { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// `command --config FILE --profile NAME extra…`.
    fn args(&self, command: &str, profile: &str, extra: &[&str]) -> Vec<String> {
        let mut args = strings(&[
            command,
            "--config",
            self.path().to_str().unwrap(),
            "--profile",
            profile,
        ]);
        args.extend(strings(extra));
        args
    }
}

/// A profile that is a whole smoke test against the mock: every endpoint, the CA (a path
/// relative to the config file), the identity and the token's source.
fn smoke_profile(mock: &Mock, name: &str) -> String {
    let s = &mock.server;
    format!(
        "[profile.{name}]\n\
         # the mock on loopback\n\
         host = \"127.0.0.1\"\n\
         imap-port = {}\n\
         pop-port = {}\n\
         smtp-port = {}\n\
         ca-file = [\"ca.pem\"]\n\
         user = \"{ALICE}\"\n\
         access-token-env = \"XOAUTH_TEST_TOKEN\"\n\
         protocols = [\"imap\", \"pop\", \"smtp\"]\n\
         timeout = 10\n",
        s.imaps_addr().port(),
        s.pop3s_addr().port(),
        s.smtp_submission_addr().port(),
    )
}

fn protocols(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["protocol"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_is_a_whole_smoke_test() {
    let mock = Mock::start().await;
    let config = Config::new(&mock, &smoke_profile(&mock, "mock"));
    let run = xoauth(
        &config.args("check", "mock", &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["outcome"], "pass", "{}", run.all());
    assert_eq!(protocols(&report), ["imap", "pop", "smtp"]);

    // The human report too, and the same profile serves `imap` and `token`: the keys they do
    // not have (imap-port, protocols for imap) are left out for them.
    let human = xoauth(
        &config.args("check", "mock", &[]),
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
    let token = xoauth(
        &config.args("token", "mock", &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(token.code, 0, "{}", token.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_written_for_check_serves_pop_and_smtp() {
    // The smoke profile has host and pop-port/smtp-port, no port: for `xoauth pop` its
    // pop-port is --port, and the other protocols' keys are left out.
    let mock = Mock::start().await;
    let config = Config::new(&mock, &smoke_profile(&mock, "mock"));
    for command in ["pop", "smtp"] {
        let run = xoauth(
            &config.args(command, "mock", &["--json"]),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(run.code, 0, "{command}: {}", run.all());
        assert_eq!(run.json()["protocol"], command);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_takes_a_profile_with_its_own_keys() {
    let mock = Mock::start().await;
    let addr = mock.server.imaps_addr();
    let text = format!(
        "[profile.imap]\nhost = \"127.0.0.1\"\nport = {}\nca-file = [\"ca.pem\"]\nuser = \
         \"{ALICE}\"\naccess-token-env = \"XOAUTH_TEST_TOKEN\"\nexamine = true\n\
         protocols = [\"imap\"]\n",
        addr.port()
    );
    let config = Config::new(&mock, &text);
    let run = xoauth(
        &config.args("imap", "imap", &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["protocol"], "imap");
    assert_eq!(
        report["examined"]["folder"], "INBOX",
        "`examine = true` is --examine: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_on_the_command_line_override_the_profile() {
    let mock = Mock::start().await;
    // The profile points SMTP at a closed port, names a user the token is not for and reads
    // the token from a file that does not exist: the command line replaces all three.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = smoke_profile(&mock, "mock")
        .replace(
            &format!("smtp-port = {}", mock.server.smtp_submission_addr().port()),
            &format!("smtp-port = {closed_port}"),
        )
        .replace(&format!("user = \"{ALICE}\""), &format!("user = \"{BOB}\""))
        .replace(
            "access-token-env = \"XOAUTH_TEST_TOKEN\"",
            "access-token-file = \"no-such-token.jwt\"",
        );
    let config = Config::new(&mock, &text);
    let smtp_port = mock.server.smtp_submission_addr().port().to_string();
    let args = config.args(
        "check",
        "mock",
        &[
            "--smtp-port",
            &smtp_port,
            "--user",
            ALICE,
            "--protocols",
            "smtp,imap",
            // Conflicts with the profile's access-token-file, which goes.
            "--access-token-env",
            "XOAUTH_TEST_TOKEN",
            "--json",
        ],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(protocols(&report), ["smtp", "imap"]);
    assert_eq!(report["outcome"], "pass");

    // Without the overrides the profile's values are used: the closed port fails SMTP.
    let run = xoauth(
        &config.args(
            "check",
            "mock",
            &[
                "--user",
                ALICE,
                "--access-token-env",
                "XOAUTH_TEST_TOKEN",
                "--protocols",
                "smtp",
                "--json",
            ],
        ),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
}

/// Runs `check --profile NAME` on `text` (exit 2 expected) and returns the error line.
async fn refused(text: &str, profile: &str) -> Run {
    let mock = Mock::start().await;
    let config = Config::new(&mock, text);
    let run = xoauth(&config.args("check", profile, &["--json"]), None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        run.stderr.contains(&message),
        "the same message on stderr: {}",
        run.all()
    );
    assert!(
        message.contains(&config.path().display().to_string()),
        "names the file: {message}"
    );
    run
}

fn message(run: &Run) -> String {
    run.json()["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_is_named_with_its_line() {
    let text = "[profile.prod]\nuser = \"a@b.example\"\n\n  clent-id = \"abc\"\n";
    let run = refused(text, "prod").await;
    let m = message(&run);
    assert!(m.contains("line 4, column 3"), "{m}");
    assert!(m.contains("`clent-id`"), "{m}");
    assert!(m.contains("profile `prod`"), "{m}");
    assert!(m.contains("did you mean `client-id`"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_the_file_is_refused_and_never_echoed() {
    for (key, safe) in [
        ("client-secret", "client-secret-file"),
        ("certificate-password", "certificate-password-env"),
        ("access-token", "access-token-file"),
    ] {
        // In another profile than the one asked for: refused all the same.
        let text = format!(
            "[profile.prod]\nuser = \"a@b.example\"\n\n[profile.old]\n{key} = \"s3cr3t-VALUE\"\n"
        );
        let run = refused(&text, "prod").await;
        let m = message(&run);
        assert!(m.contains(&format!("`{key}`")), "{m}");
        assert!(m.contains("line 5"), "{m}");
        assert!(m.contains(safe), "{m}");
        assert!(!run.all().contains("s3cr3t-VALUE"), "{}", run.all());
    }
    // Nor in a syntax error on the secret's own line.
    let run = refused(
        "[profile.prod]\nclient-secret-file = \"s3cr3t-VALUE\n",
        "prod",
    )
    .await;
    assert!(message(&run).contains("line 2"), "{}", run.all());
    assert!(!run.all().contains("s3cr3t-VALUE"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_profile_lists_the_profiles_there_are() {
    let text =
        "[profile.prod]\nuser = \"a@b.example\"\n[profile.staging]\nuser = \"c@d.example\"\n";
    let m = message(&refused(text, "prd").await);
    assert!(m.contains("no profile `prd`"), "{m}");
    assert!(m.contains("prod, staging"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_syntax_error_names_its_line() {
    let text = "[profile.prod]\nuser = \"a@b.example\"\ntimeout = = 3\n";
    let m = message(&refused(text, "prod").await);
    assert!(m.contains("line 3"), "{m}");
    assert!(m.contains("not valid TOML"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_of_the_wrong_type_names_the_key_and_line() {
    let text = "[profile.prod]\nuser = \"a@b.example\"\ntimeout = \"abc\"\n";
    let m = message(&refused(text, "prod").await);
    assert!(m.contains("line 3, column 1"), "{m}");
    assert!(m.contains("`timeout`"), "{m}");
    assert!(m.contains("profile `prod`"), "{m}");

    // The plan's own errors name flags; the note says the profile set them.
    let mock = Mock::start().await;
    let text = "[profile.prod]\nclient-id = \"abc\"\nflow = \"device-code\"\n";
    let config = Config::new(&mock, text);
    let run = xoauth(&config.args("check", "prod", &["--json"]), None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("note: profile `prod` from ")
            && run.stderr.contains("set: client-id, flow"),
        "{}",
        run.stderr
    );

    let text = "[profile.prod]\nstarttls = \"yes\"\n";
    let m = message(&refused(text, "prod").await);
    assert!(m.contains("line 2") && m.contains("switch"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_config_file_that_was_named_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let args = strings(&[
        "check",
        "--config",
        missing.to_str().unwrap(),
        "--profile",
        "prod",
        "--json",
    ]);
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let m = message(&run);
    assert!(
        m.contains("nope.toml") && m.contains("does not exist"),
        "{m}"
    );

    // --config alone checks the file.
    let args = strings(&["check", "--config", missing.to_str().unwrap(), "--json"]);
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(message(&run).contains("does not exist"), "{}", run.all());

    // So does XOAUTH_CONFIG.
    let args = strings(&["check", "--profile", "prod", "--json"]);
    let run = xoauth_env(&args, &[("XOAUTH_CONFIG", missing.to_str().unwrap())], None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let m = message(&run);
    assert!(
        m.contains("XOAUTH_CONFIG") && m.contains("nope.toml"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn relative_paths_are_relative_to_the_config_file() {
    let mock = Mock::start().await;
    // The token from a file beside the config, the CA too (the smoke profile's ca.pem); the
    // test runs from elsewhere, where neither name exists.
    let text = smoke_profile(&mock, "mock").replace(
        "access-token-env = \"XOAUTH_TEST_TOKEN\"",
        "access-token-file = \"secrets/token.jwt\"",
    );
    let config = Config::new(&mock, &text);
    std::fs::create_dir(config.dir.path().join("secrets")).unwrap();
    std::fs::write(
        config.dir.path().join("secrets/token.jwt"),
        mock.token(ALICE),
    )
    .unwrap();
    assert!(!Path::new("ca.pem").exists() && !Path::new("secrets").exists());
    let run = xoauth(
        &config.args("check", "mock", &["--protocols", "imap", "--json"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["outcome"], "pass");
}

#[cfg(all(unix, not(target_os = "macos")))]
#[tokio::test(flavor = "multi_thread")]
async fn the_default_config_file_is_in_the_xdg_config_directory() {
    let mock = Mock::start().await;
    let xdg = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = xdg.path().join("xoauth");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&mock.ca_file, dir.join("ca.pem")).unwrap();
    std::fs::write(dir.join("config.toml"), smoke_profile(&mock, "mock")).unwrap();
    let token = mock.token(ALICE);
    let args = strings(&["check", "--profile", "mock", "--json"]);
    // XOAUTH_CONFIG empty counts as unset.
    let env = [
        ("XOAUTH_CONFIG", ""),
        ("XDG_CONFIG_HOME", xdg.path().to_str().unwrap()),
        ("HOME", home.path().to_str().unwrap()),
        ("XOAUTH_TEST_TOKEN", token.as_str()),
    ];
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["outcome"], "pass");

    // Without XDG_CONFIG_HOME, ~/.config; a missing default file is fine without --profile,
    // and names where it was looked for with one.
    let env = [
        ("XOAUTH_CONFIG", ""),
        ("XDG_CONFIG_HOME", ""),
        ("HOME", home.path().to_str().unwrap()),
    ];
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let m = message(&run);
    let expected = home.path().join(".config/xoauth/config.toml");
    assert!(m.contains(&expected.display().to_string()), "{m}");
    let run = xoauth_env(
        &with_token(mock.check_args(false), &["--json"]),
        &[env.as_slice(), &[("XOAUTH_TEST_TOKEN", token.as_str())]].concat(),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
}

/// An audit profile (`mailboxes`, `concurrency`) also serves a spot check of one mailbox:
/// `--mailbox` on the command line replaces the profile's list, and with it the concurrency
/// that only a list has.
#[tokio::test(flavor = "multi_thread")]
async fn an_audit_profile_serves_a_spot_check_of_one_mailbox() {
    let mock = Mock::start().await;
    let text = format!(
        "{}mailboxes = \"list.txt\"\nconcurrency = 4\n",
        smoke_profile(&mock, "audit")
    );
    let config = Config::new(&mock, &text);
    std::fs::write(config.dir.path().join("list.txt"), format!("{ALICE}\n")).unwrap();
    let token = mock.token(ALICE);
    let audit = xoauth(
        &config.args("check", "audit", &["--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(audit.code, 0, "{}", audit.all());
    assert_eq!(
        audit.stdout.lines().count(),
        4,
        "three cells and the summary"
    );

    let spot = config.args("check", "audit", &["--mailbox", ALICE, "--json"]);
    let run = xoauth(&spot, Some(&token), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["outcome"], "pass", "{}", run.all());
}
