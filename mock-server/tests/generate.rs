//! Large generated tenants: the binary writes the mailbox list and the expected grid, the mix
//! is the documented one, the mail services give each generated mailbox its outcome on the
//! wire, and the mock's memory stays small at 1,000 and 10,000 mailboxes.

mod common;

use common::binary::Binary;
use common::{Client, alice, start, xoauth2};
use xoauth_mock::{Config, DEMO_DAEMON_CLIENT_ID, Scenario, TokenSpec};

/// `--generate-mailboxes n` with both files; the files' text and the resident memory.
fn generated(n: usize) -> (String, String, u64) {
    let dir = tempfile_dir(&format!("gen-{n}"));
    let list = dir.join("mailboxes.txt");
    let csv = dir.join("expected.csv");
    let (list_arg, csv_arg) = (list.to_str().unwrap(), csv.to_str().unwrap());
    let count = n.to_string();
    let mut mock = Binary::start(
        &format!("generate-{n}"),
        &[
            "--generate-mailboxes",
            &count,
            "--mailboxes-out",
            list_arg,
            "--expected-out",
            csv_arg,
        ],
    );
    // The files are written before the env file that `start` waits for.
    let list = std::fs::read_to_string(&list).expect("mailbox list written");
    let csv = std::fs::read_to_string(&csv).expect("expected grid written");
    let rss = mock.rss_kib();
    mock.signal("TERM");
    let status = mock.wait(std::time::Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let _ = std::fs::remove_dir_all(dir);
    (list, csv, rss)
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xoauth-mock-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn binary_writes_the_list_and_the_expected_grid_with_the_documented_mix() {
    let (list, csv, rss_1k) = generated(1000);
    let mut lines = list.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("# ")), "{list}");
    let addresses: Vec<&str> = list.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(addresses.len(), 1000);
    assert_eq!(addresses[0], "allowed-0001@contoso.example");
    assert_eq!(addresses[999], "allowed-1000@contoso.example");
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("address,imap,pop,smtp"));
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    assert_eq!(rows.len(), 1000);
    let listed: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(listed, addresses, "the grid covers the list, in order");
    let mut mix = std::collections::BTreeMap::new();
    for row in &rows {
        let label = row[0].rsplit_once('-').map(|(l, _)| l).unwrap();
        *mix.entry((label, row[1], row[2], row[3])).or_insert(0) += 1;
    }
    let want = [
        (("allowed", "pass", "pass", "pass"), 500),
        (
            (
                "denied",
                "authenticated_not_connected",
                "auth_rejected",
                "auth_rejected",
            ),
            100,
        ),
        (
            (
                "imap-disabled",
                "authenticated_not_connected",
                "pass",
                "pass",
            ),
            100,
        ),
        (("no-sendas", "pass", "pass", "auth_rejected"), 100),
        (("pop-disabled", "pass", "auth_rejected", "pass"), 100),
        (("smtp-disabled", "pass", "pass", "smtp_auth_disabled"), 100),
    ];
    assert_eq!(mix.into_iter().collect::<Vec<_>>(), want);

    let (again, _, rss_10k) = generated(10_000);
    assert_eq!(
        again.lines().filter(|l| !l.starts_with('#')).count(),
        10_000
    );
    assert!(again.contains("\nallowed-00001@contoso.example\n"));
    eprintln!(
        "xoauth-mock VmRSS: {rss_1k} KiB with 1,000 generated mailboxes, {rss_10k} KiB with 10,000"
    );
    // About 2-3 KiB per generated mailbox (configuration, directory entry, empty Inbox).
    assert!(rss_10k < 128 * 1024, "{rss_10k} KiB for 10,000 mailboxes");
}

#[test]
fn without_generation_the_list_is_the_configured_mailboxes() {
    let dir = tempfile_dir("configured");
    let list = dir.join("mailboxes.txt");
    let csv = dir.join("expected.csv");
    let mock = Binary::start(
        "configured",
        &[
            "--mailboxes-out",
            list.to_str().unwrap(),
            "--expected-out",
            csv.to_str().unwrap(),
            "--expected-for",
            "alice@contoso.example",
        ],
    );
    let list = std::fs::read_to_string(&list).expect("written");
    let csv = std::fs::read_to_string(&csv).expect("written");
    drop(mock);
    let _ = std::fs::remove_dir_all(dir);
    let addresses: Vec<&str> = list.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(addresses.len(), 5);
    // alice's own mailbox passes; bob's cannot be opened by alice; sales she may open.
    assert!(
        csv.contains("\nalice@contoso.example,pass,pass,pass\n"),
        "{csv}"
    );
    assert!(
        csv.contains(
            "\nbob@contoso.example,authenticated_not_connected,auth_rejected,auth_rejected\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("\nsales@contoso.example,pass,pass,pass\n"),
        "{csv}"
    );
}

#[test]
fn a_file_that_cannot_be_written_stops_the_mock_with_an_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xoauth-mock"))
        .args([
            "--generate-mailboxes",
            "10",
            "--mailboxes-out",
            "/nonexistent-dir/x.txt",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write the mailbox list"), "{stderr}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xoauth-mock"))
        .args(["--generate-mailboxes", "0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "N must be at least 1");
}

#[tokio::test]
async fn generated_mailboxes_give_their_outcome_on_the_wire() {
    let mut config = Config::demo();
    config.generate.mailboxes = 6;
    let server = start(config).await;
    let app = server.issue_token(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID));
    let smtp = |user: &'static str, token: String| {
        let server = &server;
        async move {
            let mut c = Client::tls(server, server.smtps_addr()).await;
            c.line().await;
            c.c("EHLO client.example").await;
            c.reply().await;
            c.c(&format!("AUTH XOAUTH2 {}", xoauth2(user, &token)))
                .await;
            c.line().await
        }
    };
    for token in [app.clone(), alice(&server)] {
        assert_eq!(
            smtp("allowed-0001@contoso.example", token.clone()).await,
            "235 2.7.0 Authentication successful"
        );
        // FullAccess without SendAs: Exchange's 535 5.7.3.
        let r = smtp("no-sendas-0006@contoso.example", token.clone()).await;
        assert!(
            r.starts_with("535 5.7.3 Authentication unsuccessful"),
            "{r}"
        );
        let r = smtp("smtp-disabled-0005@contoso.example", token.clone()).await;
        assert!(
            r.contains("SmtpClientAuthentication is disabled for the Mailbox"),
            "{r}"
        );
        let r = smtp("denied-0002@contoso.example", token).await;
        assert!(r.starts_with("535 5.7.3 "), "{r}");
    }
    server.shutdown().await;
}

#[test]
fn a_scenario_can_generate_mailboxes() {
    let s = Scenario::from_toml_str(
        "[scenario]\nname = \"big\"\ndescription = \"A large tenant.\"\n\
         [generate]\nmailboxes = 20\ndomain = \"big.example\"\n",
    )
    .expect("valid");
    let addresses = s.config.generated_addresses().expect("valid");
    assert_eq!(addresses.len(), 20);
    assert_eq!(addresses[1], "denied-0002@big.example");
    let served = s.config.with_generated().expect("valid");
    assert_eq!(served.mailboxes.len(), 27);
}
