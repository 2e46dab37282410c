//! Bad flags and bad input: a clear message and the documented exit code, never a panic.

use crate::util::*;

async fn usage(args: &[&str]) -> Run {
    xoauth(&strings(args), Some("not-needed-for-usage-errors"), None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["imap", "--access-token-env", "XOAUTH_TEST_TOKEN"],
            "--user",
        ),
        (
            &[
                "imap",
                "--user",
                "alice",
                "--access-token-env",
                "XOAUTH_TEST_TOKEN",
            ],
            "e-mail address",
        ),
        (
            &[
                "imap",
                "--provider",
                "custom",
                "--user",
                ALICE,
                "--access-token-env",
                "X",
            ],
            "--host",
        ),
        (
            &[
                "imap",
                "--user",
                ALICE,
                "--timeout",
                "0",
                "--access-token-env",
                "X",
            ],
            "--timeout",
        ),
        (
            &[
                "imap",
                "--user",
                ALICE,
                "--port",
                "99999",
                "--access-token-env",
                "X",
            ],
            "port",
        ),
        (
            &[
                "imap",
                "--user",
                ALICE,
                "--mechanism",
                "plain",
                "--access-token-env",
                "X",
            ],
            "plain",
        ),
        (&["frobnicate"], "frobnicate"),
        (
            &[
                "imap",
                "--user",
                ALICE,
                "--ca-file",
                "/nonexistent/ca.pem",
                "--access-token-env",
                "XOAUTH_TEST_TOKEN",
            ],
            "/nonexistent/ca.pem",
        ),
    ];
    for (args, mention) in cases {
        let run = usage(args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains(mention),
            "{args:?} should mention {mention}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

/// `--tenant` is a path segment of the identity platform's URLs: a value that would change
/// them is refused before any request (the loopback authority would answer otherwise).
#[tokio::test(flavor = "multi_thread")]
async fn an_oauth_tenant_that_would_change_the_urls_exits_2_naming_the_flag() {
    let base = |tenant: &str, extra: &[&str]| {
        let mut a = strings(&[
            "token",
            "--user",
            ALICE,
            "--client-id",
            "00000000-0000-0000-0000-0000000000c1",
            "--tenant",
            tenant,
            "--authority",
            "http://127.0.0.1:1",
            "--no-cache",
        ]);
        a.extend(strings(extra));
        a
    };
    let device = ["--flow", "device-code"];
    let app = ["--client-secret-env", "S"];
    let cases: &[(&str, &[&str])] = &[
        ("..", &device),
        ("contoso.example/../other", &device),
        ("contoso.example?x=1", &device),
        ("contoso.example#x", &device),
        ("contoso example.com", &device),
        ("contoso.example\r\nX", &device),
        ("contoso", &device),
        ("..", &app),
        ("common", &app),
        ("organizations", &app),
    ];
    for (tenant, extra) in cases {
        let run = xoauth_env(&base(tenant, extra), &[("S", "secret-value-9")], None).await;
        assert_eq!(run.code, 2, "{tenant:?} {extra:?}: {}", run.all());
        assert!(
            run.stderr.contains("--tenant"),
            "{tenant:?}: {}",
            run.stderr
        );
        assert!(!run.all().contains("To sign in"), "{}", run.all());
        assert!(!run.all().contains("secret-value-9"), "{}", run.all());
    }
}

/// `--to`/`--from` without `--send` are refused by `check` as by `smtp`, whatever the
/// protocols: silently ignored, they would hide a forgotten `--send`.
#[tokio::test(flavor = "multi_thread")]
async fn to_and_from_without_send_exit_2_in_check_as_in_smtp() {
    let token = ["--user", ALICE, "--access-token-env", "XOAUTH_TEST_TOKEN"];
    let with = |cmd: &[&'static str]| [cmd, &token[..]].concat();
    for args in [
        with(&["smtp", "--to", BOB]),
        with(&["check", "--protocols", "imap", "--to", BOB]),
        with(&["check", "--protocols", "pop,imap", "--from", ALICE]),
        with(&["check", "--to", BOB]),
    ] {
        let run = usage(&args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr
                .contains("--to and --from only make sense with --send"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_without_certificates_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.pem");
    std::fs::write(&file, "not a certificate\n").unwrap();
    let run = usage(&[
        "imap",
        "--user",
        ALICE,
        "--host",
        "127.0.0.1",
        "--ca-file",
        file.to_str().unwrap(),
        "--access-token-env",
        "XOAUTH_TEST_TOKEN",
    ])
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("no PEM certificate"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_errors_exit_3() {
    let run = usage(&[
        "imap",
        "--user",
        ALICE,
        "--host",
        "127.0.0.1",
        "--access-token-env",
        "XOAUTH_NOT_SET_ANYWHERE",
        "--json",
    ])
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "token_unusable");
    assert!(
        run.json()["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("XOAUTH_NOT_SET_ANYWHERE")
    );

    let run = xoauth(
        &strings(&[
            "imap",
            "--user",
            ALICE,
            "--host",
            "127.0.0.1",
            "--access-token-file",
            "-",
        ]),
        None,
        Some("  \n"),
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("empty"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn help_and_version_exit_0() {
    let run = xoauth(&strings(&["--help"]), None, None).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit codes"));
    let run = xoauth(&strings(&["imap", "--help"]), None, None).await;
    assert_eq!(run.code, 0);
    for flag in [
        "--starttls",
        "--mailbox",
        "--ca-file",
        "--access-token-env",
        "--access-token-file",
        "--timeout",
        "--json",
        "--verbose",
    ] {
        assert!(run.stdout.contains(flag), "{flag} missing from help");
    }
    assert!(
        !run.stdout.contains("--access-token <"),
        "the refused flag stays hidden"
    );
    let run = xoauth(&strings(&["--version"]), None, None).await;
    assert_eq!(run.code, 0);
}
