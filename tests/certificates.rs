//! A refused server certificate is shown (subject, issuer, names, validity) and explained with
//! the CA files the admin gave; verification stays on and the handshake still fails.

use tokio::net::TcpListener;

use crate::util::*;

/// A private CA and a TLS listener on 127.0.0.1 whose certificate it signs for `names`,
/// valid over `years`; the CA is written to a PEM file for --ca-file.
struct PrivateServer {
    port: u16,
    ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn private_server(names: &[&str], years: (i32, i32)) -> PrivateServer {
    let (acceptor, ca_pem) = private_ca_acceptor("Contoso Test Issuing CA", names, Some(years));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            // The client refuses the certificate, so the handshake never completes.
            tokio::spawn(async move {
                let _ = acceptor.accept(s).await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("contoso-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    PrivateServer {
        port,
        ca_file,
        _dir: dir,
    }
}

fn imap(port: u16, ca_file: Option<&std::path::Path>) -> Vec<String> {
    let mut v = strings(&[
        "imap",
        "--provider",
        "custom",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        ALICE,
        "--timeout",
        "10",
        "--json",
    ]);
    if let Some(f) = ca_file {
        v.extend(strings(&["--ca-file", f.to_str().unwrap()]));
    }
    with_token(v, &[])
}

const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.e30.c2ln";

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_shown_and_the_wrong_ca_file_named() {
    let server = private_server(&["127.0.0.1", "localhost"], (2020, 2099)).await;
    // A CA file that holds some other CA (the mock's).
    let other = Mock::start().await;
    let run = xoauth(&imap(server.port, Some(&other.ca_file)), Some(TOKEN), None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["kind"], "tls_untrusted", "{}", run.stdout);
    let tls = &r["tls"];
    assert_eq!(tls["verified"], false, "{}", run.stdout);
    let cert = &tls["certificate"];
    assert!(
        cert["subject"]
            .as_str()
            .unwrap()
            .contains("mail.contoso.example")
    );
    assert!(
        cert["issuer"]
            .as_str()
            .unwrap()
            .contains("Contoso Test Issuing CA")
    );
    assert_eq!(cert["subject_alt_names"][0], "127.0.0.1");
    assert!(
        cert["not_after"]
            .as_str()
            .unwrap()
            .starts_with("2099-01-01")
    );
    let fix = r["failure"]["fix"].as_str().unwrap();
    let file = other.ca_file.display().to_string();
    assert!(
        fix.contains(&format!(
            "{file} does not contain CN=Contoso Test Issuing CA"
        )),
        "{fix}"
    );
    assert!(
        !fix.contains("pass"),
        "the CA file was already passed: {fix}"
    );
    assert!(
        r["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("issued by CN=Contoso Test Issuing CA"),
        "{}",
        run.stdout
    );

    // Without any --ca-file the advice is to pass the issuer's CA.
    let run = xoauth(&imap(server.port, None), Some(TOKEN), None).await;
    let r = run.json();
    let fix = r["failure"]["fix"].as_str().unwrap();
    assert!(
        fix.contains("--ca-file") && fix.contains("Contoso Test Issuing CA"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_mismatch_lists_the_names_the_certificate_carries() {
    let server = private_server(
        &["mail.contoso.example", "imap.contoso.example"],
        (2020, 2099),
    )
    .await;
    let run = xoauth(&imap(server.port, Some(&server.ca_file)), Some(TOKEN), None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["kind"], "tls_name_mismatch", "{}", run.stdout);
    let cause = r["failure"]["cause"].as_str().unwrap();
    assert!(
        cause.contains("mail.contoso.example, imap.contoso.example, not for 127.0.0.1"),
        "{cause}"
    );
    assert_eq!(
        r["tls"]["certificate"]["subject_alt_names"][1],
        "imap.contoso.example"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_says_when() {
    let server = private_server(&["127.0.0.1"], (2019, 2020)).await;
    let run = xoauth(&imap(server.port, Some(&server.ca_file)), Some(TOKEN), None).await;
    assert_eq!(run.code, 4, "{}", run.all());
    let r = run.json();
    assert_eq!(r["failure"]["kind"], "tls_expired", "{}", run.stdout);
    let cause = r["failure"]["cause"].as_str().unwrap();
    assert!(cause.contains("expired on 2020-01-01T00:00:00Z"), "{cause}");
    assert_eq!(r["tls"]["verified"], false);
}
