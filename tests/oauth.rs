//! Obtaining tokens: each flow end to end through the CLI against the mock identity platform,
//! and each token-endpoint error explained.

use crate::util::*;
use xoauth_mock::ClientAuth;

/// A PEM file holding the app's certificate and key, as admins export it.
fn cert_and_key(dir: &tempfile::TempDir, cert: &str, key: &str) -> String {
    let mut pem = std::fs::read(fixture(cert)).unwrap();
    pem.extend(std::fs::read(fixture(key)).unwrap());
    let path = dir.path().join(format!("{cert}.with-key.pem"));
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_string()
}

/// App-only IMAP on the shared mailbox the daemon app has FullAccess to.
fn daemon_imap(mock: &Mock, extra: &[&str]) -> Vec<String> {
    let args = as_user(mock.imap_args(), "sales@contoso.example");
    mock.oauth(args, DAEMON, extra)
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_with_a_secret() {
    let mock = Mock::start().await;
    let args = daemon_imap(&mock, &["--client-secret-env", "S", "--json"]);
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["token"]["origin"], "client-credentials");
    let claims = &r["token"]["claims"];
    assert_eq!(claims["aud"], "https://outlook.office365.com");
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "IMAP.AccessAsApp")
    );
    assert_eq!(claims["appid"], DAEMON);
    assert_eq!(r["steps"][0]["stage"], "token");
    let req = mock.server.token_requests();
    let last = req.last().unwrap();
    assert_eq!(last.grant_type, "client_credentials");
    assert_eq!(last.client_auth, ClientAuth::Secret);
    assert_eq!(
        last.scope.as_deref(),
        Some("https://outlook.office365.com/.default")
    );
    assert!(!run.all().contains(DAEMON_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_with_a_certificate_pem_and_pkcs12() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = cert_and_key(&dir, "app-cert.pem", "app-key.pem");
    let run = xoauth(
        &daemon_imap(&mock, &["--certificate", &pem, "--json"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["claims"]["appid"], DAEMON);
    assert_eq!(
        mock.server.token_requests().last().unwrap().client_auth,
        ClientAuth::Assertion
    );

    let p12 = fixture("app.p12");
    let args = daemon_imap(
        &mock,
        &[
            "--certificate",
            p12.to_str().unwrap(),
            "--certificate-password-env",
            "P",
        ],
    );
    let run = xoauth_env(&args, &[("P", "xoauth")], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_certificate_is_aadsts700027_explained() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = cert_and_key(&dir, "other-cert.pem", "other-key.pem");
    let run = xoauth(
        &daemon_imap(&mock, &["--certificate", &pem, "--json"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "token_rejected");
    assert_eq!(f["stage"], "token");
    assert!(
        f["server_reply"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("AADSTS700027"))
    );
    assert!(f["cause"].as_str().unwrap().contains("certificate"));
    assert!(f["fix"].as_str().unwrap().contains(DAEMON));
    assert!(
        mock.server.command_log().is_empty(),
        "no mail session without a token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_errors_are_explained_and_the_secret_never_shown() {
    let mock = Mock::start().await;
    let args = daemon_imap(&mock, &["--client-secret-env", "S"]);
    let run = xoauth_env(&args, &[("S", "wrong-secret-value-77")], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("AADSTS7000215"), "{}", run.stdout);
    assert!(run.stdout.contains("secret's ID"), "{}", run.stdout);
    assert!(!run.all().contains("wrong-secret-value-77"));
    let run = xoauth_env(&args, &[("S", EXPIRED_SECRET)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stdout.contains("AADSTS7000222"), "{}", run.stdout);
    assert!(!run.all().contains(EXPIRED_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_app_tenant_and_scope_errors_are_explained() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        "00000000-0000-0000-0000-00000000dead",
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.json()["failure"]["cause"]
            .as_str()
            .unwrap()
            .contains("no application")
    );

    let mut args = daemon_imap(&mock, &["--client-secret-env", "S", "--json"]);
    let t = args.iter().position(|a| a == "contoso.example").unwrap();
    args[t] = "fabrikam.example".into();
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.json()["failure"]["cause"]
            .as_str()
            .unwrap()
            .contains("tenant does not exist")
    );

    let args = daemon_imap(
        &mock,
        &[
            "--client-secret-env",
            "S",
            "--scope",
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "--json",
        ],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.json()["failure"]["cause"]
            .as_str()
            .unwrap()
            .contains("/.default")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn app_token_without_full_access_is_not_connected_and_names_the_service_principal() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        as_user(mock.imap_args(), "payroll@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["kind"], "authenticated_not_connected");
    let oid = r["token"]["claims"]["oid"].as_str().unwrap().to_string();
    assert!(
        r["failure"]["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("-User '{oid}'")) // quoted since issue 9
    );
}

/// Plays the user: waits for the code on stderr and approves (or declines) it at the mock.
async fn device_code_run(mock: &Mock, approve: Option<&str>, extra: &[&str]) -> Run {
    let mut args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "device-code", "--json"],
    );
    args.extend(strings(extra));
    let mut live = spawn_xoauth(&args, &[]);
    let code = live.device_code().await;
    match approve {
        Some(user) => assert!(mock.server.approve_device_code(&code, user)),
        None if extra.is_empty() => assert!(mock.server.decline_device_code(&code)),
        None => {}
    }
    live.finish().await
}

fn fast_device_codes(c: &mut xoauth_mock::Config) {
    c.idp.device_code_interval_secs = 1;
}

#[tokio::test(flavor = "multi_thread")]
async fn device_code_approved() {
    let mock = Mock::with(fast_device_codes).await;
    let run = device_code_run(&mock, Some(ALICE), &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["token"]["origin"], "device-code");
    assert_eq!(r["token"]["claims"]["upn"], ALICE);
    assert!(
        r["token"]["claims"]["scp"]
            .as_str()
            .unwrap()
            .contains("IMAP.AccessAsUser.All")
    );
    let grants: Vec<String> = mock
        .server
        .token_requests()
        .iter()
        .map(|r| r.grant_type.clone())
        .collect();
    assert!(
        grants
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code"),
        "{grants:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_code_declined() {
    let mock = Mock::with(fast_device_codes).await;
    let run = device_code_run(&mock, None, &[]).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "sign_in_incomplete");
    assert!(f["message"].as_str().unwrap().contains("declined"), "{f}");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_code_expired() {
    let mock = Mock::with(|c| {
        c.idp.device_code_interval_secs = 1;
        c.idp.device_code_expires_secs = 2;
    })
    .await;
    let run = device_code_run(&mock, None, &["--login-wait", "30"]).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "sign_in_incomplete");
    assert!(f["message"].as_str().unwrap().contains("expired"), "{f}");
}

/// Plays the browser: follows the printed authorize URL to the loopback redirect.
async fn browser(mock: &Mock, live: &mut Live) {
    let line = live.line(|l| l.trim_start().starts_with("https://")).await;
    let url = line.trim().to_string();
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{url}");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://localhost:"), "{location}");
    let back = location.replacen("http://localhost:", "http://127.0.0.1:", 1);
    let page = reqwest::get(&back).await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn interactive_with_pkce_and_loopback_redirect() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--no-browser", "--json"],
    );
    let mut live = spawn_xoauth(&args, &[]);
    browser(&mock, &mut live).await;
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "interactive");
    let redeem = mock
        .server
        .token_requests()
        .into_iter()
        .find(|r| r.grant_type == "authorization_code")
        .expect("the code was redeemed");
    assert!(redeem.had_code_verifier, "PKCE verifier sent");
    assert_eq!(redeem.client_auth, ClientAuth::None);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_command_prints_claims_or_only_the_raw_token() {
    let mock = Mock::start().await;
    let base = strings(&[
        "token",
        "--user",
        ALICE,
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
    ]);
    let args = mock.oauth(
        as_user(base.clone(), "sales@contoso.example"),
        DAEMON,
        &["--client-secret-env", "S"],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("roles IMAP.AccessAsApp"),
        "{}",
        run.stdout
    );
    assert!(!contains_jwt(&run.all()), "claims, not the token");
    let mut print = args.clone();
    print.push("--print".into());
    let run = xoauth_env(&print, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout holds the token alone: {}",
        run.stdout
    );
    assert!(lines[0].starts_with("eyJ") && lines[0].split('.').count() == 3);
    assert!(run.stderr.contains("roles IMAP.AccessAsApp"));
    // A given token's claims can be read too.
    let given = strings(&[
        "token",
        "--user",
        ALICE,
        "--access-token-env",
        "T",
        "--json",
    ]);
    let run = xoauth_env(&given, &[("T", &mock.token(ALICE))], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["claims"]["upn"], ALICE);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_flag_errors_exit_2() {
    let mock = Mock::start().await;
    let cases: Vec<Vec<String>> = vec![
        // A credential with a delegated flow.
        mock.oauth(
            mock.imap_args(),
            DAEMON,
            &["--flow", "device-code", "--client-secret-env", "S"],
        ),
        // Client credentials without a credential.
        mock.oauth(mock.imap_args(), DAEMON, &["--flow", "client-credentials"]),
        // OAuth flags without a client id.
        with_token(mock.imap_args(), &["--tenant", "contoso.example"]),
        // A token and a client id at once.
        with_token(mock.oauth(mock.imap_args(), PUBLIC, &[]), &[]),
        // Token endpoints must be https (except on loopback).
        {
            let mut a = mock.oauth(mock.imap_args(), PUBLIC, &["--flow", "device-code"]);
            let i = a.iter().position(|x| x == "--authority").unwrap();
            a[i + 1] = "http://login.example.com".into();
            a
        },
    ];
    for args in cases {
        let run = xoauth_env(&args, &[("XOAUTH_TEST_TOKEN", "x")], None).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(run.stderr.starts_with("xoauth: error:"), "{}", run.stderr);
    }
    // No tenant for Microsoft.
    let args = strings(&[
        "imap",
        "--user",
        ALICE,
        "--client-id",
        PUBLIC,
        "--flow",
        "device-code",
    ]);
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--tenant"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_only_token_needs_no_user() {
    let mock = Mock::start().await;
    let env = [("S", DAEMON_SECRET)];
    // The token command: no --user at all.
    let token = mock.oauth(
        strings(&["token", "--ca-file", mock.ca_file.to_str().unwrap()]),
        DAEMON,
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&token, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["token"]["origin"], "client-credentials");
    assert_eq!(r["token"]["claims"]["appid"], DAEMON);

    // A mail check opens --mailbox, which is enough.
    let mut imap = mock.imap_args();
    let u = imap.iter().position(|a| a == "--user").unwrap();
    imap.drain(u..u + 2);
    let mailbox = {
        let mut a = imap.clone();
        a.extend(strings(&["--mailbox", "sales@contoso.example"]));
        mock.oauth(a, DAEMON, &["--client-secret-env", "S", "--json"])
    };
    let run = xoauth_env(&mailbox, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["mailbox"], "sales@contoso.example");

    // Neither --user nor --mailbox: nothing to open, said plainly.
    let nothing = mock.oauth(imap.clone(), DAEMON, &["--client-secret-env", "S"]);
    let run = xoauth_env(&nothing, &env, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--mailbox"), "{}", run.stderr);

    // A delegated sign-in still needs the account.
    let delegated = mock.oauth(imap, PUBLIC, &["--flow", "device-code"]);
    let run = xoauth(&delegated, None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("--user ADDR is required"),
        "{}",
        run.stderr
    );
}

/// A token endpoint on plain loopback http that answers every request with `body`: the shapes
/// of `expires_in` real providers send that the mock does not.
async fn token_endpoint(body: String) -> std::net::SocketAddr {
    identity_endpoint(move |_| body.clone()).await
}

/// An identity provider on plain loopback http that answers each request with the body
/// `reply` gives for its path.
async fn identity_endpoint(
    reply: impl Fn(&str) -> String + Send + Sync + 'static,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = std::sync::Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                // Read the request: headers, then Content-Length bytes of form body.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                let path = text.split_whitespace().nth(1).unwrap_or_default();
                let body = reply(path);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn expires_in_as_a_string_negative_or_missing_is_accepted() {
    let mock = Mock::start().await;
    let token = mock
        .server
        .issue_token(&xoauth_mock::TokenSpec::user(ALICE));
    for expires in [
        r#","expires_in":"3599""#,
        r#","expires_in":-600"#,
        r#","expires_in":0"#,
        "",
    ] {
        let body = format!(r#"{{"token_type":"Bearer","access_token":"{token}"{expires}}}"#);
        let addr = token_endpoint(body).await;
        let args = strings(&[
            "token",
            "--provider",
            "custom",
            "--client-id",
            "app",
            "--token-url",
            &format!("http://{addr}/token"),
            "--scope",
            "mail",
            "--client-secret-env",
            "S",
            "--no-cache",
            "--json",
        ]);
        let run = xoauth_env(&args, &[("S", "secret-value-31")], None).await;
        assert_eq!(run.code, 0, "{expires}: {}", run.all());
        let r = run.json();
        assert_eq!(r["token"]["origin"], "client-credentials", "{expires}");
        assert_eq!(r["token"]["claims"]["upn"], ALICE, "{expires}");
        assert!(
            !contains_jwt(&run.all()),
            "{expires}: the token is not shown"
        );
    }
}

/// The device authorization reply in the shapes real providers send and oauth2 alone refuses:
/// `expires_in` and `interval` as strings, zero, negative or missing. The sign-in goes on, and
/// the prompt says the lifetime in seconds below two minutes.
#[tokio::test(flavor = "multi_thread")]
async fn device_code_times_as_strings_zero_negative_or_missing_are_accepted() {
    let mock = Mock::start().await;
    let token = mock
        .server
        .issue_token(&xoauth_mock::TokenSpec::user(ALICE));
    for (times, says) in [
        // Whole numbers, which oauth2 reads: under a minute was "0 min".
        (
            r#","expires_in":45,"interval":1"#,
            "(it expires in 45 seconds)",
        ),
        (
            r#","expires_in":"900","interval":"5""#,
            "(it expires in 15 min)",
        ),
        (
            r#","expires_in":"45","interval":0"#,
            "(it expires in 45 seconds)",
        ),
        (
            r#","expires_in":-1,"interval":-1"#,
            "did not say when it expires",
        ),
        ("", "did not say when it expires; xoauth waits 20 seconds"),
    ] {
        let device = format!(
            r#"{{"device_code":"dc-31","user_code":"CODE-31","verification_uri":"https://idp.example/device"{times}}}"#
        );
        let access =
            format!(r#"{{"token_type":"Bearer","access_token":"{token}","expires_in":3599}}"#);
        let addr = identity_endpoint(move |path| {
            if path.starts_with("/device") {
                device.clone()
            } else {
                access.clone()
            }
        })
        .await;
        let args = strings(&[
            "token",
            "--provider",
            "custom",
            "--user",
            ALICE,
            "--client-id",
            "app",
            "--flow",
            "device-code",
            "--device-url",
            &format!("http://{addr}/device"),
            "--token-url",
            &format!("http://{addr}/token"),
            "--scope",
            "mail",
            "--login-wait",
            "20",
            "--no-cache",
            "--json",
        ]);
        let run = xoauth(&args, None, None).await;
        assert_eq!(run.code, 0, "{times}: {}", run.all());
        assert!(
            run.stderr.contains("enter the code CODE-31") && run.stderr.contains(says),
            "{times}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("0 min"), "{}", run.stderr);
        assert_eq!(run.json()["token"]["origin"], "device-code", "{times}");
        assert!(!contains_jwt(&run.all()), "{times}: the token is not shown");
    }
}
