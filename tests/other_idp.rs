//! Signing in where no browser can open (SSH, a server) and at a standards-following identity
//! provider: a registered loopback redirect with a path (RFC 8252 §7.3), endpoints from the
//! discovery document (`--issuer`), and `verification_uri_complete` shown. No real browser: the
//! tests play it, or put a fake opener on PATH.

use crate::util::*;

/// The public app's redirect, registered the RFC 8252 way instead of Entra's.
const CALLBACK: &str = "http://127.0.0.1/callback";

fn register_callback(c: &mut xoauth_mock::Config) {
    for app in &mut c.apps {
        if app.client_id == PUBLIC {
            app.redirect_uris = vec![CALLBACK.to_string()];
        }
    }
    c.idp.device_code_interval_secs = 1;
}

/// Follows the authorize URL printed on a line of its own, as a browser would, and returns
/// the redirect (Location) the provider sent it to, after delivering it.
async fn play_browser(mock: &Mock, live: &mut Live) -> String {
    let line = live.line(|l| l.trim_start().starts_with("https://")).await;
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(line.trim()).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{line}");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let back = location.replacen("http://localhost:", "http://127.0.0.1:", 1);
    assert_eq!(reqwest::get(&back).await.unwrap().status(), 200, "{back}");
    location
}

fn bin() -> String {
    assert_cmd::cargo::cargo_bin("xoauth")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn over_ssh_without_a_display_the_device_code_command_is_offered_and_works() {
    let mock = Mock::with(|c| c.idp.device_code_interval_secs = 1).await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--json"],
    );
    let ssh = [("SSH_CONNECTION", "10.0.0.2 50022 10.0.0.1 22")];
    let mut live = spawn_xoauth(&args, &ssh);
    live.line(|l| {
        l.starts_with(
            "No browser can be opened here: this is an SSH session without a graphical display",
        )
    })
    .await;
    live.line(|l| l.contains("by running:")).await;
    let offered = live.line(|_| true).await;
    let expected = format!(
        "{} {}",
        bin(),
        args.join(" ")
            .replace("--flow interactive", "--flow device-code")
    );
    assert_eq!(offered.trim(), expected);
    // The run can still go on by hand (a port forward): the page is printed, and works.
    let location = play_browser(&mock, &mut live).await;
    assert!(location.contains("?code="), "{location}");
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "interactive");

    // The offered command, run word for word, signs in with a code.
    let words: Vec<String> = offered.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[0], bin());
    let mut live = spawn_xoauth(&words[1..], &ssh);
    let code = live.device_code().await;
    assert!(mock.server.approve_device_code(&code, ALICE));
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "device-code");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_browser_opener_ends_in_a_device_code_fix_not_a_bare_timeout() {
    let mock = Mock::start().await;
    // A display, but no opener that works: an empty PATH.
    let empty = tempfile::tempdir().unwrap();
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--login-wait", "2", "--json"],
    );
    let env = [("DISPLAY", ":99"), ("PATH", empty.path().to_str().unwrap())];
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr
            .contains("No browser can be opened here: the system's browser opener failed"),
        "{}",
        run.stderr
    );
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "sign_in_incomplete");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no browser could be opened here"),
        "{f}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("{} imap ", bin())) && fix.contains("--flow device-code"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_working_opener_is_given_the_page_and_nothing_is_said_about_device_codes() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened.txt");
    let opener = dir.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", opened.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--json"],
    );
    let env = [("DISPLAY", ":99"), ("PATH", dir.path().to_str().unwrap())];
    let mut live = spawn_xoauth(&args, &env);
    let printed = live.line(|l| l.trim_start().starts_with("https://")).await;
    // The opener got the page xoauth printed.
    let mut url = String::new();
    for _ in 0..100 {
        url = std::fs::read_to_string(&opened).unwrap_or_default();
        if !url.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(url, printed.trim());
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap();
    let back = location.replacen("http://localhost:", "http://127.0.0.1:", 1);
    assert_eq!(reqwest::get(&back).await.unwrap().status(), 200);
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("No browser"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_registered_with_a_path_completes_the_sign_in() {
    let mock = Mock::with(register_callback).await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &[
            "--flow",
            "interactive",
            "--no-browser",
            "--redirect-uri",
            CALLBACK,
            "--json",
        ],
    );
    let mut live = spawn_xoauth(&args, &[]);
    let location = play_browser(&mock, &mut live).await;
    // The port was chosen at run time; host and path are the registered ones.
    let rest = location.strip_prefix("http://127.0.0.1:").expect(&location);
    let (port, path) = rest.split_once('/').unwrap();
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{location}");
    assert!(path.starts_with("callback?code="), "{location}");
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "interactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_registered_path_the_provider_refuses_the_sign_in() {
    // What the issue describes: the old redirect (no path) is not the registered one.
    let mock = Mock::with(register_callback).await;
    let args = mock.oauth(
        mock.imap_args(),
        PUBLIC,
        &["--flow", "interactive", "--no-browser", "--login-wait", "1"],
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
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("AADSTS50011"));
    assert_eq!(live.finish().await.code, 3);
}

/// `imap … --provider custom --issuer URL --client-id PUBLIC --scope …`, against the mock.
fn by_issuer(mock: &Mock, issuer: &str, extra: &[&str]) -> Vec<String> {
    let mut args = mock.imap_args();
    args.extend(strings(&[
        "--provider",
        "custom",
        "--issuer",
        issuer,
        "--client-id",
        PUBLIC,
        "--scope",
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "--no-cache",
        "--json",
    ]));
    args.extend(strings(extra));
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn the_issuer_s_discovery_document_gives_the_endpoints() {
    let mock = Mock::with(|c| {
        register_callback(c);
        c.idp.device_code_verification_uri_complete = true;
    })
    .await;
    let tid = mock.server.tenant_id();
    let issuer = format!("{}/{tid}/v2.0", mock.server.idp_url());
    // Device code: the device and token endpoints come from the document.
    let args = by_issuer(&mock, &issuer, &["--flow", "device-code"]);
    let mut live = spawn_xoauth(&args, &[]);
    let code = live.device_code().await;
    let complete = live.line(|l| l.starts_with("Or open ")).await;
    assert_eq!(
        complete,
        format!(
            "Or open {}/devicelogin?user_code={code}, which carries the code.",
            mock.server.idp_url()
        )
    );
    // The page it names carries the code.
    let page_url = format!("{}/devicelogin?user_code={code}", mock.server.idp_url());
    let page = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_der(mock.server.ca_der().as_ref()).unwrap(),
        )
        .build()
        .unwrap()
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("value=\"{code}\"")), "{page}");
    assert!(mock.server.approve_device_code(&code, ALICE));
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    let paths: Vec<String> = mock
        .server
        .token_requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths.contains(&format!("/{tid}/oauth2/v2.0/devicecode"))
            && paths.contains(&format!("/{tid}/oauth2/v2.0/token")),
        "{paths:?}"
    );
    // Interactive: the authorize endpoint too, with the registered redirect.
    let args = by_issuer(
        &mock,
        &issuer,
        &[
            "--flow",
            "interactive",
            "--no-browser",
            "--redirect-uri",
            CALLBACK,
        ],
    );
    let mut live = spawn_xoauth(&args, &[]);
    play_browser(&mock, &mut live).await;
    let run = live.finish().await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "interactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_issuer_is_refused_saying_why() {
    let mock = Mock::start().await;
    let base = mock.server.idp_url();
    // Fetched by domain name, the document names the tenant id: not the issuer asked for.
    let by_name = by_issuer(
        &mock,
        &format!("{base}/contoso.example/v2.0"),
        &["--flow", "device-code"],
    );
    // No discovery document there at all.
    let nowhere = by_issuer(
        &mock,
        &format!("{base}/nowhere"),
        &["--flow", "device-code"],
    );
    for (args, says) in [
        (by_name, "names the issuer"),
        (nowhere, "not a discovery document"),
    ] {
        let run = xoauth(&args, None, None).await;
        assert_eq!(run.code, 3, "{}", run.all());
        let f = &run.json()["failure"];
        assert!(f["message"].as_str().unwrap().contains(says), "{f}");
        assert!(f["fix"].as_str().unwrap().contains("--issuer"), "{f}");
        assert!(
            mock.server.token_requests().is_empty(),
            "no token request without endpoints"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_redirect_uris_and_a_misplaced_issuer_are_usage_errors() {
    let mock = Mock::start().await;
    let interactive = |extra: &[&str]| {
        let mut e = vec!["--flow", "interactive"];
        e.extend(extra);
        mock.oauth(mock.imap_args(), PUBLIC, &e)
    };
    let cases = [
        (
            interactive(&["--redirect-uri", "https://127.0.0.1/callback"]),
            "must be plain http on a loopback address",
        ),
        (
            interactive(&["--redirect-uri", "http://app.example/callback"]),
            "must be a loopback address",
        ),
        (
            interactive(&["--issuer", "https://idp.example"]),
            "--issuer is for --provider custom",
        ),
        (
            by_issuer(&mock, "http://idp.example/realms/mail", &[]),
            "must use https",
        ),
    ];
    for (args, says) in cases {
        let run = xoauth(&args, None, None).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
}
