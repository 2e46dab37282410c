//! `xoauth check --mailboxes`: a bulk audit against the mock, app-only and delegated, its
//! outputs agreeing on the counts, and its bad input refused with exit code 2.

use crate::util::*;

const SALES: &str = "sales@contoso.example";
const PAYROLL: &str = "payroll@contoso.example";
const CAROL: &str = "carol@contoso.example";

/// The demo tenant where the daemon app may also open bob (whose SMTP AUTH is off) and carol
/// (POP off), but not alice or payroll.
async fn tenant() -> Mock {
    Mock::with(|c| {
        for m in &mut c.mailboxes {
            if m.address == BOB || m.address == CAROL {
                m.full_access.push(DAEMON.to_string());
            }
        }
    })
    .await
}

/// `check` against every listener of the mock, without `--user`.
fn check_args(mock: &Mock) -> Vec<String> {
    let mut args = mock.check_args(false);
    let i = args.iter().position(|a| a == "--user").unwrap();
    args.drain(i..i + 2);
    args
}

/// `args` without the port flags of protocols other than `keep`, plus `--protocols keep`.
fn only(mut args: Vec<String>, keep: &[&str]) -> Vec<String> {
    for p in ["imap", "pop", "smtp"] {
        if !keep.contains(&p) {
            let flag = format!("--{p}-port");
            let i = args.iter().position(|a| *a == flag).unwrap();
            args.drain(i..i + 2);
        }
    }
    args.extend(strings(&["--protocols", &keep.join(",")]));
    args
}

/// App-only: `--client-id DAEMON --client-secret-env S`, the list in a file.
fn app_only(mock: &Mock, list: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = check_args(mock);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap()]));
    mock.oauth(
        args,
        DAEMON,
        &[&["--client-secret-env", "S"][..], extra].concat(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The cell lines of an audit's JSON output, and its summary line.
fn lines(run: &Run) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut docs: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = docs.pop().unwrap();
    (docs, summary)
}

/// mailbox → protocol → outcome (or failure kind).
fn grid(cells: &[serde_json::Value]) -> Vec<(String, String, String)> {
    cells
        .iter()
        .map(|c| {
            (
                c["mailbox"].as_str().unwrap().to_string(),
                c["protocol"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap_or("pass").to_string(),
            )
        })
        .collect()
}

const LIST: &str = "# mailboxes the daemon should open\n\
                    sales@contoso.example\n\
                    alice@contoso.example\n\
                    not-an-address\n\
                    carol@contoso.example\n\
                    bob@contoso.example\n\
                    payroll@contoso.example\n\
                    SALES@contoso.example\n";

/// The grid the demo tenant gives the daemon app for [`LIST`].
fn expected_app_only_grid() -> Vec<(String, String, String)> {
    let rows: [(&str, [&str; 3]); 5] = [
        (SALES, ["pass", "pass", "pass"]),
        (
            ALICE,
            [
                "authenticated_not_connected",
                "auth_rejected",
                "auth_rejected",
            ],
        ),
        (CAROL, ["pass", "auth_rejected", "pass"]),
        (BOB, ["pass", "pass", "smtp_auth_disabled"]),
        (
            PAYROLL,
            [
                "authenticated_not_connected",
                "auth_rejected",
                "auth_rejected",
            ],
        ),
    ];
    rows.iter()
        .flat_map(|(m, kinds)| {
            ["imap", "pop", "smtp"]
                .iter()
                .zip(kinds)
                .map(|(p, k)| (m.to_string(), p.to_string(), k.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn app_only_audit_runs_every_mailbox_and_protocol_with_one_token() {
    let mock = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", LIST);
    let run = xoauth_env(
        &app_only(&mock, &list, &["--json"]),
        &[("S", DAEMON_SECRET)],
        None,
    )
    .await;
    // A line that is not an address makes the run exit 2, after checking the rest.
    assert_eq!(run.code, 2, "{}", run.all());
    let (cells, summary) = lines(&run);
    assert_eq!(grid(&cells), expected_app_only_grid());
    for c in &cells {
        // App-only: each mailbox is the identity and the mailbox opened.
        assert_eq!(c["report"]["mailbox"], c["mailbox"], "{c:#}");
        assert_eq!(c["report"]["user"], c["mailbox"], "{c:#}");
        assert_eq!(c["attempts"], 1);
        if c["outcome"] == "fail" {
            assert!(c["cause"].as_str().unwrap().len() > 10, "{c:#}");
            assert!(c["fix"].is_string(), "{c:#}");
        }
    }
    assert_eq!(cells[0]["line"], 2);
    let s = &summary["summary"];
    assert_eq!(
        (s["mailboxes"].as_u64(), s["cells"].as_u64()),
        (Some(5), Some(15))
    );
    assert_eq!(
        (s["passed"].as_u64(), s["failed"].as_u64()),
        (Some(7), Some(8))
    );
    assert_eq!(s["by_kind"]["auth_rejected"], 5);
    assert_eq!(s["by_kind"]["authenticated_not_connected"], 2);
    assert_eq!(s["by_kind"]["smtp_auth_disabled"], 1);
    assert_eq!(summary["skipped"][0]["line"], 4);
    assert_eq!(summary["skipped"][0]["text"], "not-an-address");
    assert_eq!(
        summary["duplicates"],
        serde_json::json!([{ "mailbox": SALES, "lines": [2, 8] }])
    );
    assert_eq!(summary["user"], serde_json::Value::Null);
    assert_eq!(summary["token"]["claims"]["appid"], DAEMON);
    // One token for the whole audit.
    assert_eq!(mock.server.token_requests().len(), 1);
}

/// "Result: 7 passed, 8 failed" → (7, 8).
fn human_counts(stdout: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Result: "))
        .unwrap_or_else(|| panic!("no Result line:\n{stdout}"));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_human_summary_and_the_json_lines_agree() {
    let mock = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", LIST);
    let env = [("S", DAEMON_SECRET)];
    let human = xoauth_env(&app_only(&mock, &list, &[]), &env, None).await;
    let json = xoauth_env(&app_only(&mock, &list, &["--json"]), &env, None).await;
    assert_eq!(human.code, json.code, "{}\n{}", human.all(), json.all());
    let (cells, summary) = lines(&json);
    let s = &summary["summary"];
    assert_eq!(
        human_counts(&human.stdout),
        (s["passed"].as_u64().unwrap(), s["failed"].as_u64().unwrap())
    );
    let failed_json = cells.iter().filter(|c| c["outcome"] == "fail").count() as u64;
    assert_eq!(failed_json, s["failed"].as_u64().unwrap());
    let out = &human.stdout;
    // The grid: one row per mailbox, in the list's order.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_lowercase()) && l.contains("@"))
        .filter(|l| l.contains("pass") || l.contains("FAIL"))
        .filter(|l| !l.contains("("))
        .collect();
    assert_eq!(rows.len(), 5, "{out}");
    assert!(
        rows[0].contains(SALES) && !rows[0].contains("FAIL"),
        "{out}"
    );
    // The protocols disagree for three mailboxes, and each disagreement has one meaning: it is
    // said once per mailbox instead of once per failing cell. Alice and payroll are refused
    // everywhere, IMAP after authenticating: one grant for the app's service principal (the
    // token's oid), said once as a template for both.
    assert!(out.contains("What the protocols say together:"), "{out}");
    assert!(
        out.contains("✗ 2 mailbox(es): IMAP, POP and SMTP all refused the app"),
        "{out}"
    );
    assert!(
        out.contains(
            "Add-MailboxPermission -Identity '<mailbox>' -User 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' -AccessRights FullAccess"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("for each of: {ALICE}, {PAYROLL}")),
        "{out}"
    );
    // Carol: IMAP and SMTP pass, only POP is refused: POP's own switch.
    assert!(
        out.contains(&format!(
            "Set-CASMailbox -Identity '{CAROL}' -PopEnabled $true"
        )),
        "{out}"
    );
    // Cells a combination explains are not repeated one by one.
    assert!(!out.contains("Failures by cause:"), "{out}");
    assert!(
        out.contains("line 4: \"not-an-address\": does not look like an e-mail address"),
        "{out}"
    );
    assert!(out.contains(&format!("{SALES} on lines 2, 8")), "{out}");
    assert!(out.contains("(exit 2)"), "{out}");
    // Not a terminal: no progress bar on stderr.
    assert!(!human.stderr.contains("checks"), "{}", human.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delegated_user_audits_the_shared_mailboxes_it_may_open() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(
        &dir,
        "shared.txt",
        &format!("{SALES}\n{PAYROLL}\n{ALICE}\n"),
    );
    let mut args = only(mock.check_args(false), &["imap", "pop"]);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "--json"]));
    let args = with_token(args, &[]);
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let (cells, summary) = lines(&run);
    let outcome: Vec<(String, String, String)> = grid(&cells);
    assert_eq!(
        outcome
            .iter()
            .map(|(m, p, k)| (m.as_str(), p.as_str(), k.as_str() == "pass"))
            .collect::<Vec<_>>(),
        [
            (SALES, "imap", true),
            (SALES, "pop", true),
            (PAYROLL, "imap", false),
            (PAYROLL, "pop", false),
            (ALICE, "imap", true),
            (ALICE, "pop", true),
        ]
    );
    for c in &cells {
        assert_eq!(c["report"]["user"], ALICE, "{c:#}");
        assert_eq!(c["report"]["mailbox"], c["mailbox"], "{c:#}");
    }
    assert_eq!(summary["user"], ALICE);
    assert_eq!(summary["protocols"], serde_json::json!(["imap", "pop"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exchange_csv_export_on_standard_input() {
    let mock = tenant().await;
    let csv = "\u{feff}#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\
               \"DisplayName\",\"Alias\",\"PrimarySmtpAddress\",\"UserPrincipalName\"\r\n\
               \"Sales, EMEA\",\"sales\",\"sales@contoso.example\",\"sales@contoso.onmicrosoft.com\"\r\n\
               \"Bob\",\"bob\",\"bob@contoso.example\",\"bob@contoso.onmicrosoft.com\"\r\n";
    let mut args = only(check_args(&mock), &["imap"]);
    args.extend(strings(&["--mailboxes", "-", "--json"]));
    let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], Some(csv)).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let (cells, summary) = lines(&run);
    assert_eq!(
        grid(&cells),
        [
            (SALES.into(), "imap".into(), "pass".into()),
            (BOB.into(), "imap".into(), "pass".into())
        ]
    );
    assert_eq!(cells[1]["line"], 4);
    assert_eq!(summary["outcome"], "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_expires_during_the_audit_is_renewed_before_the_next_cell() {
    // Tokens live 200 s, inside the 5-minute renewal margin: each cell gets a new one, through
    // the same flow.
    let mock = Mock::with(|c| {
        c.idp.token_lifetime_secs = 200;
        for m in &mut c.mailboxes {
            m.full_access.push(DAEMON.to_string());
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", &format!("{SALES}\n{BOB}\n"));
    let mut args = only(check_args(&mock), &["imap", "pop"]);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "--json"]));
    let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    // One at the start, one before each of the four cells.
    let grants = mock.server.token_requests();
    assert_eq!(grants.len(), 5, "{grants:?}");
    assert!(grants.iter().all(|g| g.grant_type == "client_credentials"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_given_token_that_has_expired_is_not_tried_on_the_remaining_cells() {
    let mock = tenant().await;
    let expired = mock.server.issue_token(&xoauth_mock::TokenSpec {
        lifetime_secs: -60,
        ..xoauth_mock::TokenSpec::app(DAEMON)
    });
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", &format!("{SALES}\n{BOB}\n"));
    let mut args = check_args(&mock);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "--json"]));
    let args = with_token(args, &[]);
    let run = xoauth(&args, Some(&expired), None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (cells, _) = lines(&run);
    assert_eq!(cells.len(), 6);
    for c in &cells {
        assert_eq!(c["kind"], "token_unusable", "{c:#}");
        assert!(
            c["report"]["failure"]["message"]
                .as_str()
                .unwrap()
                .contains("the access token expired at"),
            "{c:#}"
        );
        assert!(c["fix"].as_str().unwrap().contains("renews"), "{c:#}");
        assert_eq!(stages(&c["report"]), ["token"]);
    }
    // Nothing was sent to a server with it.
    assert!(
        !mock.server.command_log().iter().any(|c| c.contains("AUTH")),
        "{:?}",
        mock.server.command_log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_lists_and_flags_are_usage_errors() {
    let mock = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let empty = write(&dir, "empty.txt", "# nothing yet\n\n");
    let no_column = write(
        &dir,
        "mailboxes.csv",
        "\"DisplayName\",\"Alias\"\n\"Sales\",\"sales\"\n",
    );
    let only_bad = write(&dir, "bad.txt", "alice\nbob\n");
    let good = write(&dir, "good.txt", &format!("{SALES}\n"));
    let missing = dir.path().join("missing.txt");
    let env = [("S", DAEMON_SECRET)];
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            app_only(&mock, &missing, &[]),
            "missing.txt: cannot read it",
        ),
        (app_only(&mock, dir.path(), &[]), "cannot read it"),
        (app_only(&mock, &empty, &[]), "it holds no address"),
        (
            app_only(&mock, &no_column, &[]),
            "no column of its header (line 1) holds addresses: found \"DisplayName\", \"Alias\"",
        ),
        (
            app_only(&mock, &only_bad, &[]),
            "2 line(s) are not addresses, the first on line 1",
        ),
        (app_only(&mock, &good, &["--mailbox", SALES]), "--mailbox"),
        (
            app_only(&mock, &good, &["--concurrency", "0"]),
            "--concurrency 0: give a number of mailboxes checked at once from 1 to 256",
        ),
        (
            app_only(&mock, &good, &["--concurrency", "257"]),
            "from 1 to 256",
        ),
        (
            app_only(&mock, &good, &["--user", ALICE]),
            "drop --user; with --mailboxes each listed mailbox is opened as itself",
        ),
        (
            app_only(&mock, &good, &["--send", "--to", ALICE]),
            "--send does not go with --mailboxes",
        ),
        (
            mock.oauth(
                [
                    check_args(&mock),
                    strings(&["--mailbox", SALES, "--concurrency", "4"]),
                ]
                .concat(),
                DAEMON,
                &["--client-secret-env", "S"],
            ),
            "--concurrency",
        ),
    ];
    for (args, expected) in cases {
        for json in [false, true] {
            let mut args = args.clone();
            if json {
                args.push("--json".into());
            }
            let run = xoauth_env(&args, &env, None).await;
            assert_eq!(run.code, 2, "{args:?}\n{}", run.all());
            assert!(
                run.stderr.contains(expected),
                "{args:?}: {expected}\n{}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
    // The list and the token cannot both come on standard input.
    let mut args = check_args(&mock);
    args.extend(strings(&["--mailboxes", "-"]));
    let run = xoauth(&args, None, Some(&format!("{SALES}\n"))).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("cannot carry the access token too"),
        "{}",
        run.stderr
    );
    // No server was asked anything.
    assert!(mock.server.command_log().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_needs_no_user_for_client_credentials() {
    let mock = Mock::start().await;
    let args = mock.oauth(
        strings(&[
            "token",
            "--json",
            "--ca-file",
            mock.ca_file.to_str().unwrap(),
        ]),
        DAEMON,
        &["--client-secret-env", "S"],
    );
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["token"]["origin"], "client-credentials");
    assert_eq!(r["token"]["claims"]["appid"], DAEMON);
    assert_eq!(
        mock.server.token_requests()[0].grant_type,
        "client_credentials"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_cannot_be_had_fails_every_cell_once_with_one_cause() {
    let mock = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", &format!("{SALES}\n{BOB}\n{CAROL}\n"));
    let env = [("S", "not-the-secret")];
    let run = xoauth_env(&app_only(&mock, &list, &["--json"]), &env, None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    let (cells, summary) = lines(&run);
    assert_eq!(cells.len(), 9);
    assert!(
        cells.iter().all(|c| c["kind"] == "token_rejected"),
        "{}",
        run.stdout
    );
    assert_eq!(summary["token"], serde_json::Value::Null);
    // Asked once, not once per cell; no server was contacted.
    assert_eq!(mock.server.token_requests().len(), 1);
    assert!(mock.server.command_log().is_empty());
    let human = xoauth_env(&app_only(&mock, &list, &[]), &env, None).await;
    assert!(
        human.stdout.contains("✗ 9 check(s) [token_rejected]"),
        "{}",
        human.stdout
    );
    assert!(!human.all().contains("not-the-secret"), "{}", human.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_cell_is_tried_again_after_a_back_off_and_reports_its_tries() {
    // SMTP's throttling reply (432 4.3.2 ... sender thread limit exceeded) suggests no wait:
    // 2 s each, three tries in all.
    let mock = Mock::with(|c| c.faults.throttle = vec![xoauth_mock::MailService::Smtp]).await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", &format!("{SALES}\n"));
    let mut args = only(check_args(&mock), &["smtp"]);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "--json"]));
    let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
    let started = std::time::Instant::now();
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let (cells, _) = lines(&run);
    assert_eq!(cells[0]["kind"], "throttled", "{:#}", cells[0]);
    assert_eq!(cells[0]["attempts"], 3);
    assert_eq!(cells[0]["backoff_ms"], serde_json::json!([2000, 2000]));
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    let auths = mock
        .server
        .command_log()
        .iter()
        .filter(|c| c.starts_with("SMTP AUTH"))
        .count();
    assert_eq!(auths, 3, "{:?}", mock.server.command_log());
}

/// A generated tenant of ten shared mailboxes (one of each outcome, see `xoauth-mock --help`)
/// audited over the three protocols with `args`: each mailbox's combined fix and candidates,
/// by the address's label (`no-sendas`, `pop-disabled`, …).
async fn combined_advice(
    args: Vec<String>,
    env: &[(&str, &str)],
) -> std::collections::BTreeMap<String, String> {
    let mut config = xoauth_mock::Config::demo();
    config.generate.mailboxes = 10;
    let addresses = config.generated_addresses().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "generated.txt", &addresses.join("\n"));
    let mut args = args;
    args.extend(strings(&["--mailboxes", list.to_str().unwrap(), "--json"]));
    let run = xoauth_env(&args, env, None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let (cells, _) = lines(&run);
    cells
        .iter()
        .filter(|c| c["protocol"] == "smtp" && !c["combined"].is_null())
        .map(|c| {
            let label = c["mailbox"].as_str().unwrap().rsplit_once('-').unwrap().0;
            (label.to_string(), c["combined"].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn combined_advice_never_asks_for_a_permission_the_token_holds() {
    let mock = Mock::with(|c| c.generate.mailboxes = 10).await;
    // App-only: the daemon's token carries IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp.
    let args = mock.oauth(check_args(&mock), DAEMON, &["--client-secret-env", "S"]);
    let app = combined_advice(args, &[("S", DAEMON_SECRET)]).await;
    let sendas = &app["no-sendas"];
    assert!(
        sendas.contains("Add-RecipientPermission -Identity 'no-sendas-0006@contoso.example'"),
        "{sendas}"
    );
    // The trustee is the service principal the token names (its oid), not a placeholder.
    assert!(
        sendas.contains("-Trustee '") && !sendas.contains("<service principal"),
        "{sendas}"
    );
    assert!(!sendas.contains("Add a permission"), "{sendas}");
    assert!(!sendas.contains("New-ManagementRoleAssignment"), "{sendas}");
    let pop = &app["pop-disabled"];
    assert!(pop.contains("-PopEnabled $true"), "{pop}");
    assert!(!pop.contains("if it was on already"), "{pop}");
    assert!(!pop.contains("Add a permission"), "{pop}");

    // Delegated: alice's token, with SMTP.Send in its scp, opening the shared mailboxes.
    let mut args = mock.check_args(false);
    let i = args.iter().position(|a| a == "--user").unwrap();
    args[i + 1] = ALICE.to_string();
    let args = with_token(args, &[]);
    let token = mock.token(ALICE);
    let alice = combined_advice(args, &[("XOAUTH_TEST_TOKEN", &token)]).await;
    let sendas = &alice["no-sendas"];
    assert!(
        sendas.contains(
            "Add-RecipientPermission -Identity 'no-sendas-0006@contoso.example' -Trustee \
             'alice@contoso.example' -AccessRights SendAs"
        ),
        "{sendas}"
    );
    assert!(!sendas.contains("request https://"), "{sendas}");
    let pop = &alice["pop-disabled"];
    assert!(!pop.contains("request https://"), "{pop}");
}

/// A server on 127.0.0.1 that holds the first connection it accepts (no byte sent) until
/// `others` more have been accepted, or `limit` passed, and closes every other one at once;
/// it returns how many others had come when it let the first go.
async fn holds_the_first(
    others: usize,
    limit: std::time::Duration,
) -> (u16, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        let mut seen = 0;
        let until = tokio::time::Instant::now() + limit;
        while seen < others {
            match tokio::time::timeout_at(until, listener.accept()).await {
                Ok(Ok((other, _))) => {
                    drop(other);
                    seen += 1;
                }
                _ => break,
            }
        }
        drop(first);
        // The rest (when the client is slower than the limit) are closed as they come.
        tokio::spawn(async move {
            while let Ok((other, _)) = listener.accept().await {
                drop(other);
            }
        });
        seen
    });
    (port, served)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_mailbox_holds_only_its_own_slot_and_rows_stay_in_list_order() {
    // Concurrency 2, eleven mailboxes, the first connection held open: the other ten must all
    // be checked while it hangs (each ends at once: the server closes it), and the output is
    // still in the list's order. An audit that keeps finished rows queued behind the oldest
    // one (`buffered`) gets one other mailbox through, then waits for the slow one.
    let (port, served) = holds_the_first(10, std::time::Duration::from_secs(20)).await;
    let dir = tempfile::tempdir().unwrap();
    let boxes: Vec<String> = (1..=11)
        .map(|i| format!("box{i:02}@contoso.example"))
        .collect();
    let list = write(&dir, "list.txt", &(boxes.join("\n") + "\n"));
    let args = with_token(
        strings(&[
            "check",
            "--provider",
            "custom",
            "--host",
            "127.0.0.1",
            "--imap-port",
            &port.to_string(),
            "--protocols",
            "imap",
            "--user",
            ALICE,
            "--timeout",
            "30",
            "--concurrency",
            "2",
            "--mailboxes",
            list.to_str().unwrap(),
            "--json",
        ]),
        &[],
    );
    let run = xoauth(&args, Some("not-a-real-token"), None).await;
    let others = served.await.unwrap();
    assert_eq!(
        others, 10,
        "while one mailbox's check hung, only {others} of the other 10 were started"
    );
    assert_eq!(run.code, 4, "{}", run.all());
    let (cells, summary) = lines(&run);
    let order: Vec<&str> = cells
        .iter()
        .map(|c| c["mailbox"].as_str().unwrap())
        .collect();
    assert_eq!(order, boxes, "{summary:#}");
}
