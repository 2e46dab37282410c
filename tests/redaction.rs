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
