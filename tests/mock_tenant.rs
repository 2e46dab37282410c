//! The mock's generated tenant and throttling mode, held to what the real `xoauth` reports: the
//! expected grid the mock publishes for its generated mailboxes is, cell by cell, what a check
//! of each mailbox finds (for the app and for the delegate), and a throttled sign-in is
//! reported as `throttled` (exit 1) and goes through once the mock stops throttling.

use xoauth_mock::{Config, TokenSpec, generate};

use crate::util::{ALICE, DAEMON, Mock, as_user, with_token, xoauth};

/// `check --json` of every protocol for `mailbox` with `token`: (protocol, cell) per check,
/// the cell `pass` or the failure kind.
async fn cells(mock: &Mock, mailbox: &str, token: &str) -> Vec<(String, String)> {
    let args = with_token(as_user(mock.check_args(false), mailbox), &["--json"]);
    let run = xoauth(&args, Some(token), None).await;
    assert!(run.code == 0 || run.code == 1, "{mailbox}: {}", run.all());
    let report = run.json();
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let cell = match c["outcome"].as_str() {
                Some("pass") => "pass".to_string(),
                _ => c["failure"]["kind"].as_str().unwrap_or("?").to_string(),
            };
            (c["protocol"].as_str().unwrap().to_string(), cell)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_mailboxes_audit_exactly_as_the_expected_grid_says() {
    const N: usize = 10;
    let mock = Mock::with(|c| c.generate.mailboxes = N).await;
    let mut config = Config::demo();
    config.generate.mailboxes = N;
    let addresses = config.generated_addresses().unwrap();
    assert_eq!(addresses.len(), N);
    let served = config.with_generated().unwrap();
    for (principal, token) in [
        (DAEMON, mock.server.issue_token(&TokenSpec::app(DAEMON))),
        (ALICE, mock.token(ALICE)),
    ] {
        let expected = generate::expected(&served, principal, &addresses);
        let mut kinds = std::collections::HashSet::new();
        for row in &expected {
            let want = [
                ("imap".to_string(), row.imap.to_string()),
                ("pop".to_string(), row.pop.to_string()),
                ("smtp".to_string(), row.smtp.to_string()),
            ];
            let got = cells(&mock, &row.address, &token).await;
            assert_eq!(got, want, "{principal} checking {}", row.address);
            kinds.insert((row.imap, row.pop, row.smtp));
        }
        // The ten cover all six outcomes (allowed repeats).
        assert_eq!(kinds.len(), 6, "{principal}: {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_imap_sign_in_is_reported_as_throttled_then_the_retry_passes() {
    let mock = Mock::with(|c| {
        c.faults.throttle_first = 1;
        c.faults.throttle_backoff_ms = 50;
    })
    .await;
    let token = mock.token(ALICE);
    let args = with_token(mock.imap_args(), &["--json"]);
    let run = xoauth(&args, Some(&token), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "throttled", "{}", run.stdout);
    let reply = report["failure"]["server_reply"].to_string();
    assert!(
        reply.contains("BAD Request is throttled. Suggested Backoff Time: 50 milliseconds"),
        "{reply}"
    );
    assert!(!run.all().contains(&token), "the token leaked");
    // The mock throttles only the first sign-in to the mailbox: the retry gets through.
    let again = xoauth(&args, Some(&token), None).await;
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(again.json()["outcome"], "pass");

    // POP3 and SMTP too, on a mailbox not signed in to yet: every cell throttled, then passing.
    let sales = "sales@contoso.example";
    let throttled = ["imap", "pop", "smtp"].map(|p| (p.to_string(), "throttled".to_string()));
    assert_eq!(cells(&mock, sales, &token).await, throttled);
    let passing = ["imap", "pop", "smtp"].map(|p| (p.to_string(), "pass".to_string()));
    assert_eq!(cells(&mock, sales, &token).await, passing);
}
