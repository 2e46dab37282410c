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
