//! What a new admin's slips with the token flags produce: a secret typed where its variable's
//! name or its file's path belongs is never echoed, and the messages say what to give instead.

use crate::util::*;

/// A JWT, an Entra client secret and a long random string: what `"$TOKEN"` or `"$SECRET"`
/// expands to when typed after a flag that wants a name.
const SECRETS: [&str; 3] = [
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0cmlhbC1zdWJqZWN0LTQyIn0.\
     c2lnbmF0dXJlLXRyaWFsLTk5OA",
    "Xy8Q~q3LmZpR7vT2wK9nB4cD6fG1hJ5kL0sA8uE.x",
    "k8Zq2Rt7Wm4Np9Lx3Vb6Hc1Jd5Fg0Ys8Ea2Tu7Qo4Ri9Pw3Mn6",
];

/// Every flag that names where a secret is, with the flags it needs to be taken that far.
fn secret_flags() -> Vec<(&'static str, Vec<&'static str>)> {
    let oauth = vec![
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--tenant",
        "contoso.example",
        "--authority",
        "http://127.0.0.1:9",
    ];
    let mut certificate = oauth.clone();
    certificate.extend(["--certificate", "/nonexistent/app.pfx"]);
    vec![
        ("--access-token-env", vec![]),
        ("--access-token-file", vec![]),
        ("--client-secret-env", oauth.clone()),
        ("--client-secret-file", oauth),
        ("--certificate-password-env", certificate),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_given_as_a_name_or_path_is_never_printed() {
    for secret in SECRETS {
        for (flag, needs) in secret_flags() {
            for output in [&[][..], &["-v"][..], &["--json"][..], &["--json", "-v"][..]] {
                let mut args = strings(&[
                    "imap",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "9",
                    "--user",
                    ALICE,
                ]);
                args.extend(strings(&needs));
                args.extend(strings(&[flag, secret]));
                args.extend(strings(output));
                let run = xoauth(&args, None, None).await;
                let all = run.all();
                assert!(run.code == 2 || run.code == 3, "{args:?}: {all}");
                // Neither the secret nor a recognisable piece of it.
                for piece in [secret, &secret[8..24], &secret[secret.len() - 16..]] {
                    assert!(!all.contains(piece), "{flag} echoed the secret:\n{all}");
                }
                assert!(all.contains(flag), "{flag} is not named:\n{all}");
                assert!(all.contains("not shown"), "{flag}: no reason given:\n{all}");
                // A fix that says `export` names a variable, never the value.
                assert!(
                    !all.contains("export "),
                    "{flag}: an export of no name:\n{all}"
                );
            }
        }
    }
}

/// `mock.imap_args()` without `--user`.
fn without_user(mut args: Vec<String>) -> Vec<String> {
    let i = args.iter().position(|a| a == "--user").unwrap();
    args.drain(i..i + 2);
    args
}

/// A given token may be app-only, which only its claims tell: --mailbox is enough, as the help
/// says. A delegated one is then held against the mailbox by the pre-flight.
#[tokio::test(flavor = "multi_thread")]
async fn a_given_token_with_a_mailbox_needs_no_user() {
    let mock = Mock::start().await;
    let args = with_token(
        without_user(mock.imap_args()),
        &["--mailbox", "sales@contoso.example"],
    );
    let app = mock
        .server
        .issue_token(&xoauth_mock::TokenSpec::app(DAEMON));
    let run = xoauth(&args, Some(&app), None).await;
    assert_eq!(run.code, 0, "{}", run.all());

    let alice = mock.token(ALICE);
    let run = xoauth(&args, Some(&alice), None).await;
    assert_ne!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout
            .contains("is not the token's user (alice@contoso.example)"),
        "{}",
        run.all()
    );
}

/// With an app-only token, a --user that is not the --mailbox would be ignored while the report
/// still said "as" them: refused instead.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_only_run_refuses_a_user_it_would_ignore() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        mock.imap_args(),
        DAEMON,
        &[
            "--client-secret-env",
            "S",
            "--mailbox",
            "sales@contoso.example",
        ],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("--user alice@contoso.example would be ignored")
            && run.stderr.contains("drop --user"),
        "{}",
        run.stderr
    );
}
