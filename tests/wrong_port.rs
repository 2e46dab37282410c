//! The wrong port for the TLS mode, as an admin first types it: implicit TLS to a STARTTLS port
//! or a web server, STARTTLS to an implicit-TLS port; and host flags that carry the port.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::util::*;

/// `sub --provider custom --host 127.0.0.1 --port P --ca-file CA --user alice --json`.
fn args(mock: &Mock, sub: &str, port: u16, extra: &[&str]) -> Vec<String> {
    let mut v = strings(&[
        sub,
        "--provider",
        "custom",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
        "--user",
        ALICE,
        "--json",
    ]);
    v.extend(strings(extra));
    with_token(v, &[])
}

fn failure(r: &serde_json::Value) -> (&str, &str, &str, &str) {
    let f = &r["failure"];
    (
        f["kind"].as_str().unwrap_or_default(),
        f["message"].as_str().unwrap_or_default(),
        f["cause"].as_str().unwrap_or_default(),
        f["fix"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_to_the_imap_starttls_port_names_the_greeting_and_the_flag() {
    let mock = Mock::start().await;
    let port = mock.server.imap_starttls_addr().port();
    let run = xoauth(
        &args(&mock, "imap", port, &["--timeout", "10"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    let (kind, message, _, fix) = failure(&r);
    assert_eq!(kind, "plaintext_port", "{}", run.stdout);
    assert!(message.contains("IMAP greeting in plain text"), "{message}");
    assert!(!message.contains("InvalidContentType"), "{message}");
    assert!(fix.contains("--starttls") && fix.contains("993"), "{fix}");
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_to_smtp_submission_says_drop_implicit_tls() {
    let mock = Mock::start().await;
    let port = mock.server.smtp_submission_addr().port();
    let run = xoauth(
        &args(&mock, "smtp", port, &["--implicit-tls", "--timeout", "10"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    let (kind, message, _, fix) = failure(&r);
    assert_eq!(kind, "plaintext_port", "{}", run.stdout);
    assert!(message.contains("SMTP greeting"), "{message}");
    assert!(
        fix.contains("drop --implicit-tls") && fix.contains("465"),
        "{fix}"
    );
}

/// An HTTP server answers the ClientHello with a 400 in plain text.
#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_to_a_web_server_says_it_is_http() {
    let mock = Mock::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    let run = xoauth(
        &args(&mock, "imap", port, &["--timeout", "10"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    let (kind, message, cause, fix) = failure(&r);
    assert_eq!(kind, "plaintext_port", "{}", run.stdout);
    assert!(message.contains("HTTP response"), "{message}");
    assert!(cause.contains("HTTP, not by IMAP"), "{cause}");
    assert!(fix.contains("993"), "{fix}");
}

/// The implicit-TLS listener says nothing until a ClientHello: without the probe xoauth would
/// wait out the whole --timeout and then only say "no answer".
#[tokio::test(flavor = "multi_thread")]
async fn starttls_to_the_implicit_tls_port_is_named_well_before_the_timeout() {
    let mock = Mock::start().await;
    for (sub, port, extra, wanted) in [
        (
            "imap",
            mock.server.imaps_addr().port(),
            "--starttls",
            "drop --starttls",
        ),
        (
            "pop",
            mock.server.pop3s_addr().port(),
            "--starttls",
            "drop --starttls",
        ),
        // SMTP speaks STARTTLS unless told otherwise.
        (
            "smtp",
            mock.server.smtps_addr().port(),
            "-v",
            "--implicit-tls",
        ),
    ] {
        let start = Instant::now();
        let run = xoauth(
            &args(&mock, sub, port, &[extra, "--timeout", "20"]),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        let took = start.elapsed();
        assert_eq!(run.code, 4, "{sub}: {}", run.all());
        let r = run.json();
        let (kind, message, _, fix) = failure(&r);
        assert_eq!(kind, "implicit_tls_port", "{sub}: {}", run.stdout);
        assert!(message.contains("implicit TLS"), "{message}");
        assert!(fix.contains(wanted), "{sub}: {fix}");
        assert!(took < Duration::from_secs(10), "{sub} took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_with_its_port_is_used_as_host_and_port() {
    let mock = Mock::start().await;
    let addr = mock.server.imaps_addr();
    let run = xoauth(
        &with_token(
            strings(&[
                "imap",
                "--provider",
                "custom",
                "--host",
                &addr.to_string(),
                "--ca-file",
                mock.ca_file.to_str().unwrap(),
                "--user",
                ALICE,
            ]),
            &[],
        ),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains(&format!("at 127.0.0.1:{} (implicit TLS)", addr.port())),
        "{}",
        run.stdout
    );
}

/// The mock listens on IPv4 only, so the IPv6 forms are checked as far as the report shows
/// them: bracketed with the port, never `::1:993`.
#[tokio::test(flavor = "multi_thread")]
async fn ipv6_hosts_are_bracketed_and_a_bare_address_is_not_host_port() {
    for host in ["[::1]:9", "::1"] {
        let run = xoauth(
            &with_token(
                strings(&[
                    "imap",
                    "--provider",
                    "custom",
                    "--host",
                    host,
                    "--port",
                    "9",
                    "--user",
                    ALICE,
                    "--timeout",
                    "3",
                ]),
                &[],
            ),
            Some("eyJ0eXAiOiJKV1QifQ.e30.c2ln"),
            None,
        )
        .await;
        assert!(
            run.stdout.contains("at [::1]:9 (implicit TLS)"),
            "{host}: {}",
            run.all()
        );
        assert!(!run.all().contains("could not resolve"), "{}", run.all());
    }
    // A port twice, and a port where a number must be, are usage errors that say why.
    for (host, wanted) in [
        ("mail.example:993", "names port 993 but --port says 9"),
        ("mail.example:imap", "must be a number"),
    ] {
        let run = xoauth(
            &with_token(
                strings(&[
                    "imap",
                    "--provider",
                    "custom",
                    "--host",
                    host,
                    "--port",
                    "9",
                    "--user",
                    ALICE,
                ]),
                &[],
            ),
            Some("eyJ0eXAiOiJKV1QifQ.e30.c2ln"),
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains(wanted), "{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_that_is_a_directory_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = xoauth(
        &with_token(
            strings(&[
                "imap",
                "--provider",
                "custom",
                "--host",
                "127.0.0.1",
                "--user",
                ALICE,
                "--ca-file",
                dir.path().to_str().unwrap(),
            ]),
            &[],
        ),
        Some("eyJ0eXAiOiJKV1QifQ.e30.c2ln"),
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("is a directory, expected a PEM file"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("directory").count(), 1, "{}", run.stderr);
}

/// Runs `sub` against another protocol's port of the mock (chosen by `port`) and checks that
/// the failure names the service that answered and where the wanted one is served: a network
/// failure (exit 4), not a protocol error (exit 1).
async fn another_protocols_port(
    sub: &str,
    port: impl FnOnce(&xoauth_mock::MockServer) -> std::net::SocketAddr,
    extra: &[&str],
    served: &str,
    wanted: &str,
    ports: &str,
) {
    let mock = Mock::start().await;
    let port = port(&mock.server).port();
    let mut extra = extra.to_vec();
    extra.extend(["--timeout", "10"]);
    let run = xoauth(
        &args(&mock, sub, port, &extra),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    let (kind, message, cause, fix) = failure(&r);
    assert_eq!(kind, "wrong_protocol_port", "{}", run.stdout);
    assert_eq!(r["failure"]["category"], "network", "{}", run.stdout);
    assert_eq!(r["failure"]["stage"], "greeting", "{}", run.stdout);
    assert_eq!(
        message,
        format!("this port is served by {served}, not {wanted}: {ports}"),
        "{}",
        run.stdout
    );
    assert_eq!(
        cause,
        format!("this port is served by {served}, not {wanted}")
    );
    assert!(fix.contains(ports), "{fix}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_on_the_imaps_port_says_the_port_is_imaps() {
    another_protocols_port(
        "pop",
        |m| m.imaps_addr(),
        &[],
        "IMAP",
        "POP3",
        "POP3 is 995 (implicit TLS) or 110 with --starttls",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_on_the_pop3s_port_says_the_port_is_pops() {
    another_protocols_port(
        "imap",
        |m| m.pop3s_addr(),
        &[],
        "POP3",
        "IMAP",
        "IMAP is 993 (implicit TLS) or 143 with --starttls",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_with_starttls_on_the_smtp_port_says_the_port_is_smtp() {
    another_protocols_port(
        "imap",
        |m| m.smtp_submission_addr(),
        &["--starttls"],
        "SMTP",
        "IMAP",
        "IMAP is 993 (implicit TLS) or 143 with --starttls",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_on_the_imap_port_says_the_port_is_imap() {
    another_protocols_port(
        "smtp",
        |m| m.imap_starttls_addr(),
        &[],
        "IMAP",
        "SMTP",
        "SMTP is 587 with STARTTLS (the default) or 465 with --implicit-tls",
    )
    .await;
    // The human report says the same, with the step that failed.
    let mock = Mock::start().await;
    let port = mock.server.imap_starttls_addr().port();
    let mut v = args(&mock, "smtp", port, &["--timeout", "10"]);
    v.retain(|a| a != "--json");
    let run = xoauth(&v, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.all().contains("this port is served by IMAP, not SMTP"),
        "{}",
        run.all()
    );
}
