//! What goes where: `token --print` keeps standard output for the token, `--json` keeps it
//! for JSON (errors too), untrusted text never reaches the terminal raw, flags say what they
//! accept, and a mechanism refusal names what the server offers.

use base64::Engine as _;

use crate::util::*;

/// Characters that drive a terminal or reorder what it shows, as a hostile server or token
/// would send them.
const NASTY: [char; 9] = [
    '\x1b', '\r', '\x07', '\x00', '\x7f', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}',
];

fn assert_no_raw_controls(text: &str) {
    for c in NASTY {
        assert!(
            !text.contains(c),
            "raw U+{:04X} in the output:\n{text}",
            c as u32
        );
    }
}

/// An unsigned JWT whose claims are `payload`; xoauth reads claims without verifying them.
fn jwt(payload: &serde_json::Value) -> String {
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(br#"{"typ":"JWT","alg":"RS256"}"#),
        b64(payload.to_string().as_bytes())
    )
}

/// A token whose every text claim tries to take over the terminal; `\n` forges a report line.
fn hostile_token() -> String {
    let evil = "x\x1b[2J\x07\x00\x7f\u{85}\u{9b}\u{202e}\u{2066}\r\nPASS  forged";
    jwt(&serde_json::json!({
        "aud": format!("https://outlook.office.com{evil}"),
        "scp": format!("IMAP.AccessAsUser.All{evil}"),
        "roles": [format!("IMAP.AccessAsApp{evil}")],
        "upn": format!("alice{evil}@contoso.example"),
        "tid": format!("tid{evil}"),
        "appid": format!("app{evil}"),
        "oid": format!("oid{evil}"),
        "exp": 4_000_000_000i64,
    }))
}

// --- item 3: token --print ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn token_print_keeps_stdout_for_the_token_alone() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    let print = |extra: &[&str]| {
        let mut a = strings(&["token", "--print", "--user", ALICE]);
        a.extend(strings(extra));
        a
    };

    // Success: the token and its newline, nothing else; the report goes to stderr.
    let run = xoauth(
        &print(&["--access-token-env", "XOAUTH_TEST_TOKEN"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(run.stderr.contains("token (env)"), "{}", run.stderr);

    // A token failure: exit 3, the report on stderr, stdout empty (not captured as a token).
    let run = xoauth(
        &print(&["--access-token-env", "XOAUTH_NOT_SET_ANYWHERE"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert_eq!(run.stdout, "", "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains("XOAUTH_NOT_SET_ANYWHERE"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("FAIL"), "{}", run.stderr);

    // Usage errors (ours and clap's): exit 2, stdout empty.
    for extra in [
        &["--access-token-env", "X", "--timeout", "0"][..],
        &["--access-token-env", "X", "--frobnicate"],
        &["--access-token-env", "X", "--access-token-file", "f"],
        &["--client-id", "x", "--access-token-env", "X"],
    ] {
        let run = xoauth(&print(extra), None, None).await;
        assert_eq!(run.code, 2, "{extra:?}: {}", run.all());
        assert_eq!(run.stdout, "", "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains("error"), "{extra:?}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_print_with_json_is_refused() {
    let run = xoauth(
        &strings(&[
            "token",
            "--print",
            "--json",
            "--user",
            ALICE,
            "--access-token-env",
            "XOAUTH_TEST_TOKEN",
        ]),
        Some("a.b.c"),
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(run.stdout, "", "--print keeps stdout for a token");
    assert!(
        run.stderr.contains("--print") && run.stderr.contains("--json"),
        "{}",
        run.stderr
    );
}

// --- item 16: --json usage errors ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn json_usage_errors_are_a_json_object_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let empty_ca = dir.path().join("empty.pem");
    std::fs::write(&empty_ca, "not a certificate\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Our own plan errors.
        (
            strings(&[
                "imap",
                "--user",
                "alice",
                "--json",
                "--access-token-env",
                "X",
            ]),
            "e-mail address",
        ),
        // clap's parse errors.
        (
            strings(&["imap", "--json", "--user", ALICE, "--frobnicate"]),
            "--frobnicate",
        ),
        (strings(&["imap", "--json"]), "--user"),
        (
            strings(&["check", "--json", "--user", ALICE, "--timeout", "inf"]),
            "--timeout",
        ),
        (strings(&["cache", "list", "--json", "--bogus"]), "--bogus"),
        // A configuration error found when the run starts.
        (
            strings(&[
                "imap",
                "--json",
                "--user",
                ALICE,
                "--host",
                "127.0.0.1",
                "--ca-file",
                empty_ca.to_str().unwrap(),
                "--access-token-env",
                "X",
            ]),
            "no PEM certificate",
        ),
    ];
    for (args, mention) in cases {
        let run = xoauth(&args, None, None).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        let doc = run.json();
        assert_eq!(doc["exit_code"], 2, "{args:?}: {doc}");
        assert_eq!(doc["error"]["kind"], "usage", "{args:?}: {doc}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{args:?}: {message}");
        // Humans still get the message on stderr.
        assert!(run.stderr.contains(mention), "{args:?}: {}", run.stderr);
    }
    // Without --json, stdout stays empty.
    let run = xoauth(
        &strings(&["imap", "--user", "alice", "--access-token-env", "X"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
}

// --- item 16: flag values --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn wait_flags_refuse_infinite_and_huge_values_with_the_range() {
    for flag in ["--timeout", "--login-wait"] {
        for (value, why) in [
            ("1e300", "too large"),
            ("86401", "too large"),
            ("inf", "not a finite number"),
            ("-inf", "not a finite number"),
            ("NaN", "not a finite number"),
            ("0", "more than 0"),
            ("soon", "not a number"),
        ] {
            let arg = format!("{flag}={value}");
            let run = xoauth(
                &strings(&["imap", "--user", ALICE, &arg, "--access-token-env", "X"]),
                None,
                None,
            )
            .await;
            assert_eq!(run.code, 2, "{arg}: {}", run.all());
            assert!(run.stderr.contains(flag), "{arg}: {}", run.stderr);
            assert!(run.stderr.contains(why), "{arg}: {}", run.stderr);
            assert!(run.stderr.contains("86400"), "{arg}: {}", run.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn user_must_be_one_address() {
    for (value, why) in [
        ("a@x.example,b@y.example", "single address"),
        ("a@x.example;b@y.example", "single address"),
        ("a@x.example b@y.example", "space"),
        ("a@x\x1b[2J.example", "control character"),
        ("a@x\t.example", "control character"),
        ("a@b@x.example", "more than one @"),
        ("Alice <a@x.example>", "space"),
        ("<a@x.example>", "without a name or <>"),
        ("alice", "e-mail address"),
    ] {
        let run = xoauth(
            &strings(&["imap", "--user", value, "--access-token-env", "X"]),
            None,
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{value:?}: {}", run.all());
        assert!(run.stderr.contains("--user"), "{value:?}: {}", run.stderr);
        assert!(run.stderr.contains(why), "{value:?}: {}", run.stderr);
        assert_no_raw_controls(&run.stderr);
    }
    // The same rule for every address flag.
    let run = xoauth(
        &strings(&[
            "imap",
            "--user",
            ALICE,
            "--mailbox",
            "a@x.example,b@x.example",
            "--access-token-env",
            "X",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--mailbox"), "{}", run.stderr);
}

// --- item 16: help -----------------------------------------------------------------------------

/// The description clap shows for `flag` in `help`: the rest of its line, or the next line.
fn description<'a>(help: &'a str, flag: &str) -> &'a str {
    let lines: Vec<&str> = help.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.trim_start()
                .split([' ', ','])
                .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
        })
        .unwrap_or_else(|| panic!("{flag} missing from help:\n{help}"));
    let rest = lines[at]
        .trim_start()
        .split_once("  ")
        .map_or("", |(_, r)| r.trim());
    if !rest.is_empty() {
        return rest;
    }
    let next = lines.get(at + 1).map_or("", |l| l.trim());
    if next.starts_with('-') { "" } else { next }
}

#[tokio::test(flavor = "multi_thread")]
async fn help_describes_every_flag_and_only_flags_that_do_something() {
    let check = xoauth(&strings(&["check", "--help"]), None, None).await;
    assert_eq!(check.code, 0);
    for flag in [
        "--imap-host",
        "--imap-port",
        "--pop-host",
        "--pop-port",
        "--smtp-host",
        "--smtp-port",
    ] {
        assert!(
            !description(&check.stdout, flag).is_empty(),
            "{flag} has no description:\n{}",
            check.stdout
        );
    }
    let imap = xoauth(&strings(&["imap", "--help"]), None, None).await;
    let ca = description(&imap.stdout, "--ca-file");
    assert!(ca.contains("repeatable"), "--ca-file: {ca}");

    let token = xoauth(&strings(&["token", "--help"]), None, None).await;
    assert_eq!(token.code, 0);
    for flag in ["--mailbox", "--mechanism"] {
        assert!(
            !token.stdout.contains(flag),
            "`token --help` lists {flag}:\n{}",
            token.stdout
        );
        let run = xoauth(
            &strings(&[
                "token",
                "--user",
                ALICE,
                flag,
                if flag == "--mailbox" {
                    "sales@contoso.example"
                } else {
                    "oauthbearer"
                },
                "--access-token-env",
                "XOAUTH_TEST_TOKEN",
            ]),
            Some("a.b.c"),
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{flag}: {}", run.all());
        assert!(run.stderr.contains("does nothing"), "{}", run.stderr);
    }

    // Every flag and every listed value of every command says what it is.
    for command in [
        &["imap"][..],
        &["pop"],
        &["smtp"],
        &["check"],
        &["token"],
        &["cache", "list"],
        &["cache", "clear"],
        &["setup-script"],
        &["demo"],
    ] {
        let mut args = strings(command);
        args.push("--help".into());
        let help = xoauth(&args, None, None).await;
        assert_eq!(help.code, 0, "{command:?}: {}", help.all());
        let problems = undescribed(&help.stdout);
        assert!(
            problems.is_empty(),
            "{command:?} --help: {problems:?}:\n{}",
            help.stdout
        );
    }
    // `--json` says what each command prints, not what `check` does.
    for command in ["token", "demo"] {
        let help = xoauth(&strings(&[command, "--help"]), None, None).await;
        let json = description(&help.stdout, "--json");
        assert!(
            !json.contains("per check") && !json.contains("wraps"),
            "{command} --json: {json}"
        );
    }
}

/// The flags and possible values in `help` that have no description.
fn undescribed(help: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut in_values = false;
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t == "Possible values:" {
            in_values = true;
            continue;
        }
        if t.is_empty() {
            in_values = false;
            continue;
        }
        if in_values {
            if let Some(value) = t.strip_prefix("- ") {
                let described = value
                    .split_once(':')
                    .is_some_and(|(_, d)| !d.trim().is_empty());
                if !described {
                    problems.push(format!("the value {value:?} has no description"));
                }
            }
            continue;
        }
        // An option line: `-u, --user <ADDR>  text` (short help) or the flag alone with the
        // text on the next line (long help).
        // clap indents flags by at most 6 spaces and their text by more (a text may start
        // with a flag: "--provider custom: ...").
        let indent = |l: &str| l.len() - l.trim_start().len();
        if t.starts_with('-') && indent(line) <= 6 {
            let flag = t
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .unwrap_or(t);
            let same_line = t.split_once("  ").map_or("", |(_, r)| r.trim());
            let next = lines.get(i + 1).copied().unwrap_or_default();
            if same_line.is_empty() && (next.trim().is_empty() || indent(next) <= 6) {
                problems.push(format!("{flag} has no description"));
            }
        }
    }
    problems
}

// --- item 16: the keyring warning ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_token_warning_is_said_once_per_check_run() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        as_user(mock.check_args(false), "sales@contoso.example"),
        DAEMON,
        &["--cache", "--client-secret-env", "S"],
    );
    // No keyring at all, whatever this machine has (a misspelt XOAUTH_KEYRING; `none` is quiet): the cache warns and the run goes on.
    let run = xoauth_env(
        &args,
        &[("S", DAEMON_SECRET), ("XOAUTH_KEYRING", "bogus")],
        None,
    )
    .await;
    let warnings = run.stdout.matches("token cache unavailable").count();
    assert_eq!(warnings, 1, "{}", run.all());
    assert!(run.stdout.contains("summary:"), "{}", run.stdout);

    // JSON keeps the warning in every check: each report stands alone.
    let mut json = args.clone();
    json.push("--json".into());
    let run = xoauth_env(
        &json,
        &[("S", DAEMON_SECRET), ("XOAUTH_KEYRING", "bogus")],
        None,
    )
    .await;
    for check in run.json()["checks"].as_array().unwrap() {
        let w = check["warnings"].to_string();
        assert!(w.contains("token cache unavailable"), "{w}");
    }
}

// --- item 12: mechanism refusals -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_mechanism_the_server_lacks_names_the_one_it_offers() {
    let mock = Mock::start().await;
    let token = mock.token(ALICE);
    for args in [mock.imap_args(), mock.pop_args(), mock.smtp_args()] {
        let sub = args[0].clone();
        let run = xoauth(
            &with_token(args, &["--mechanism", "oauthbearer"]),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(run.code, 1, "{sub}: {}", run.all());
        let out = &run.stdout;
        assert!(out.contains("does not offer OAUTHBEARER"), "{sub}: {out}");
        assert!(out.contains("it offers XOAUTH2"), "{sub}: {out}");
        assert!(out.contains("--mechanism auto"), "{sub}: {out}");
        assert!(
            !out.contains("does not advertise an OAuth SASL mechanism"),
            "{sub}: the cause contradicts the offer:\n{out}"
        );
    }
}

// --- item 14: escaping -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn hostile_claims_are_escaped_in_every_human_output() {
    let mock = Mock::start().await;
    let token = hostile_token();
    let runs = [
        xoauth(
            &strings(&[
                "token",
                "--user",
                ALICE,
                "--access-token-env",
                "XOAUTH_TEST_TOKEN",
            ]),
            Some(&token),
            None,
        )
        .await,
        xoauth(&with_token(mock.imap_args(), &[]), Some(&token), None).await,
        xoauth(&with_token(mock.check_args(false), &[]), Some(&token), None).await,
    ];
    for run in &runs {
        assert_no_raw_controls(&run.all());
        assert!(run.stdout.contains("\\x1b[2J"), "{}", run.stdout);
        assert!(run.stdout.contains("\\u{202e}"), "{}", run.stdout);
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("PASS  forged")),
            "a claim forged a report line:\n{}",
            run.stdout
        );
    }
    // JSON carries the claims as they are (serde escapes them).
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json"]),
        Some(&token),
        None,
    )
    .await;
    let upn = run.json()["token"]["claims"]["upn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(upn.contains('\u{202e}') && upn.contains('\n'), "{upn:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn folder_names_are_escaped() {
    let mock = Mock::with(|c| {
        let alice = c
            .mailboxes
            .iter_mut()
            .find(|m| m.address.eq_ignore_ascii_case(ALICE))
            .unwrap();
        alice.folders.push(xoauth_mock::FolderConfig {
            name: "Invoice\u{202e}fdp.exe".into(),
            messages: 0,
        });
    })
    .await;
    let run = xoauth(
        &with_token(mock.imap_args(), &[]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("Invoice\\u{202e}fdp.exe"),
        "{}",
        run.stdout
    );
    assert_no_raw_controls(&run.all());
}

/// Every text field of a report, filled with terminal controls, rendered for a human: none of
/// them comes out raw (server replies, error challenges, IdP descriptions, causes, warnings).
#[test]
fn every_rendered_report_field_is_escaped() {
    use xoauth::report::*;
    let evil = "e\x1b]0;title\x07\r\n\u{9b}31m\u{202e}\u{2066}\x00\x7f\u{85}";
    let s = |what: &str| format!("{what}{evil}");
    let mut failure = Failure::new(Stage::Auth, FailureKind::AuthRejected, s("message"))
        .with_reply(vec![s("reply")]);
    failure.challenge = Some(Box::new(xoauth::sasl::ErrorChallenge {
        raw: s("raw"),
        decoded: Some(s("decoded")),
        json: None,
    }));
    failure.explanation = Some(Box::new(xoauth::diagnose::Explanation {
        cause: s("cause"),
        candidates: vec![s("candidate")],
        fix: Some(s("fix")),
        evidence: vec![s("evidence")],
    }));
    let report = Report {
        protocol: xoauth::plan::Protocol::Smtp,
        outcome: Outcome::Fail,
        exit_code: xoauth::outcome::ExitStatus::CheckFailed,
        target: Target {
            host: s("host"),
            port: 587,
            security: xoauth::transport::Security::StartTls,
            address: None,
        },
        user: s("user"),
        mailbox: s("mailbox"),
        mechanism: None,
        token: None,
        preflight: vec![xoauth::diagnose::Finding {
            blocking: true,
            message: s("preflight"),
            fix: None,
        }],
        tls: None,
        capabilities: vec![s("cap")],
        steps: vec![Step {
            stage: Stage::Greeting,
            ok: true,
            elapsed_ms: 1,
            detail: s("detail"),
            round_trips: Some(1),
        }],
        folders: Some(vec![Folder {
            name: s("folder"),
            wire_name: None,
            delimiter: None,
            attributes: vec![],
        }]),
        examined: Some(Examined {
            folder: s("examined"),
            messages: 1,
            recent: 0,
            uid_validity: None,
        }),
        found: Some(Found {
            folder: s("found"),
            message_id: s("mid"),
            matches: vec![1],
        }),
        stat: None,
        submission: Some(Submission {
            message_id: s("mid"),
            from: s("from"),
            to: vec![s("to")],
            subject: s("subject"),
            reply: s("queued"),
        }),
        failure: Some(failure.clone()),
        warnings: vec![s("warning")],
        elapsed_ms: 1,
        ids: xoauth::report::Ids {
            run_id: s("run"),
            server_name: Some(s("server")),
            provider: Some(xoauth::report::ProviderIds {
                error_codes: vec![1],
                trace_id: Some(s("trace")),
                correlation_id: Some(s("correlation")),
                timestamp: Some(s("timestamp")),
            }),
            stages: vec![xoauth::report::StageStart {
                stage: Stage::Greeting,
                started_at: s("started"),
            }],
        },
        transcript: Some(vec![xoauth::transport::tap::Entry {
            at_ms: 0,
            direction: xoauth::transport::tap::Direction::Server,
            text: s("transcript"),
        }]),
    };
    let combined = Combined::new(vec![report.clone()]);
    let token = TokenReport {
        outcome: Outcome::Fail,
        exit_code: xoauth::outcome::ExitStatus::Token,
        token: None,
        failure: Some(failure),
        warnings: vec![s("token warning")],
        ids: xoauth::report::Ids {
            run_id: s("run"),
            server_name: Some(s("server")),
            provider: Some(xoauth::report::ProviderIds {
                error_codes: vec![1],
                trace_id: Some(s("trace")),
                correlation_id: Some(s("correlation")),
                timestamp: Some(s("timestamp")),
            }),
            stages: vec![xoauth::report::StageStart {
                stage: Stage::Greeting,
                started_at: s("started"),
            }],
        },
    };
    for out in [
        report.render_human(),
        combined.render_human(),
        token.render_human(),
    ] {
        assert_no_raw_controls(&out);
        // The injected newline did not start a line of its own.
        assert!(!out.lines().any(|l| l.starts_with('\u{9b}')), "{out}");
        assert!(
            out.contains("\\x1b]0;title\\x07\\x0d\\x0a\\x9b31m\\u{202e}"),
            "{out}"
        );
    }
}
