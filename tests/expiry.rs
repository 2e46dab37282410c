//! Expiry warnings through the real binary: an access token with minutes left is warned
//! about, and an expired client certificate is refused before anything is sent.

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_little_time_left_is_warned_about() {
    let mock = Mock::start().await;
    let mut spec = xoauth_mock::TokenSpec::user(ALICE);
    spec.lifetime_secs = 120;
    let token = mock.server.issue_token(&spec);
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("the access token expires in "),
        "{warnings}"
    );
    assert!(!contains_jwt(&warnings));
    // An hour-long token is not.
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert!(!run.json()["warnings"].to_string().contains("expires in"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_client_certificate_is_refused_before_any_request() {
    let mock = Mock::start().await;
    let key_pem = std::fs::read_to_string(fixture("app-key.pem")).unwrap();
    let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("expired.pem");
    std::fs::write(&pem, format!("{}{key_pem}", cert.pem())).unwrap();
    let args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--certificate", pem.to_str().unwrap(), "--json"],
    );
    let run = xoauth(&args, None, None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "credential_unusable", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("expired at 2021-01-01T00:00:00Z"),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("upload it to the app registration"),
        "{f}"
    );
    assert!(mock.server.token_requests().is_empty(), "nothing was sent");
    assert!(!run.all().contains("PRIVATE KEY"));
}
