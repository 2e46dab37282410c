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

/// `args` without the flag `flag` and its value.
fn without(mut args: Vec<String>, flag: &str) -> Vec<String> {
    let i = args.iter().position(|a| a == flag).unwrap();
    args.drain(i..i + 2);
    args
}

/// A loopback server that reads each request (headers and body) and answers `reply` as is.
async fn raw_server(reply: &'static str) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // Up to the end of the headers and the body they announce (or a TLS hello,
                // which has neither: answer whatever came first).
                loop {
                    let n = match tokio::time::timeout(
                        std::time::Duration::from_secs(2),
                        conn.read(&mut buf),
                    )
                    .await
                    {
                        Ok(Ok(n)) if n > 0 => n,
                        _ => break,
                    };
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_lowercase();
                    if !text.starts_with("post") && !text.starts_with("get") {
                        break;
                    }
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

const NOT_FOUND_PAGE: &str = "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\
    Content-Length: 37\r\nConnection: close\r\n\r\n<html><body>not found</body></html>\r\n";

/// The failure of a JSON report as one string, for searching.
fn failure_of(run: &Run) -> String {
    let f = &run.json()["failure"];
    format!(
        "message: {} | cause: {} | fix: {}",
        f["message"], f["cause"], f["fix"]
    )
}

/// An identity provider whose certificate this machine does not trust (a TLS-inspecting
/// proxy's re-signed one, here the mock's without --ca-file) is a trust problem with a CA fix,
/// not a network path to check.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_identity_provider_certificate_says_so_and_names_ca_file() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        without(
            as_user(mock.imap_args(), "sales@contoso.example"),
            "--ca-file",
        ),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    let text = failure_of(&run);
    for words in ["not trusted", "TLS-inspecting proxy", "--ca-file"] {
        assert!(text.contains(words), "{words:?} missing: {text}");
    }
    assert!(!text.contains("check the network path"), "{text}");
    // With its CA the same run gets the token: --ca-file reaches the token endpoint too.
    let mut trusted = args.clone();
    trusted.extend(strings(&["--ca-file", mock.ca_file.to_str().unwrap()]));
    let run = xoauth_env(&trusted, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

/// A plain-HTTP server on the authority's https:// port does not speak HTTPS, said so.
#[tokio::test(flavor = "multi_thread")]
async fn an_authority_that_does_not_speak_https_is_said_so() {
    let mock = Mock::start().await;
    let plain = raw_server(NOT_FOUND_PAGE).await;
    let mut args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let i = args.iter().position(|a| a == "--authority").unwrap();
    args[i + 1] = format!("https://{plain}");
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    let text = failure_of(&run);
    assert!(text.contains("does not speak HTTPS"), "{text}");
    assert!(!text.contains("check the network path"), "{text}");
}

/// MSAL's authority form (with the tenant) and a bare host:port are refused before any request,
/// in --authority's own terms.
#[tokio::test(flavor = "multi_thread")]
async fn an_authority_with_a_tenant_or_without_a_scheme_is_refused() {
    let mock = Mock::start().await;
    let base = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S"],
    );
    let i = base.iter().position(|a| a == "--authority").unwrap();
    let idp = mock.server.idp_url();
    let host_port = idp.split("://").nth(1).unwrap().to_string();
    for (authority, says) in [
        (
            format!("{idp}/contoso.example"),
            "--authority must be the login host only",
        ),
        (host_port, "has no scheme"),
    ] {
        let mut args = base.clone();
        args[i + 1] = authority.clone();
        let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
        assert_eq!(run.code, 2, "{authority}: {}", run.all());
        assert!(run.stderr.contains(says), "{authority}: {}", run.stderr);
        assert!(run.stderr.contains("--tenant") || says == "has no scheme");
        assert!(!run.stderr.contains("authorize URL"), "{}", run.stderr);
    }
}

/// A reply that is no OAuth JSON (an HTML 404 page) means the URL is no token endpoint; there
/// is no error_description to read.
#[tokio::test(flavor = "multi_thread")]
async fn a_reply_that_is_no_oauth_json_names_the_url_not_error_description() {
    let mock = Mock::start().await;
    let page = raw_server(NOT_FOUND_PAGE).await;
    let mut args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let i = args.iter().position(|a| a == "--authority").unwrap();
    args[i + 1] = format!("http://{page}");
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let text = failure_of(&run);
    assert!(text.contains("is not an OAuth token endpoint"), "{text}");
    assert!(text.contains("an HTML page"), "{text}");
    assert!(!text.contains("read error_description"), "{text}");
}
