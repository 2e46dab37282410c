//! `check --junit/--html/--prometheus/--nagios` end to end against the mock: the files are
//! written whole, parse with real parsers and agree with each other and with the exit code;
//! an output that cannot be written stops the run before any server is contacted.

use std::path::Path;

use crate::util::*;

const BOB_ADDR: &str = "bob@contoso.example";

fn count_testcases(xml: &str) -> (usize, Vec<String>) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    let kinds = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| n.attribute("type").unwrap_or_default().to_string())
        .collect();
    (cases, kinds)
}

/// `promtool check metrics` on the file, when promtool is installed.
fn promtool(path: &Path) {
    let Ok(out) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
    else {
        eprintln!("note: promtool is not installed; `promtool check metrics` skipped");
        return;
    };
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_writes_junit_html_and_prometheus_that_agree() {
    // bob: IMAP and POP pass, SMTP AUTH is disabled for his mailbox.
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (junit, html, prom) = (
        dir.path().join("audit.xml"),
        dir.path().join("audit.html"),
        dir.path().join("audit.prom"),
    );
    let token = mock.token(BOB_ADDR);
    let args = with_token(
        as_user(mock.check_args(false), BOB_ADDR),
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--prometheus",
            prom.to_str().unwrap(),
        ],
    );
    let run = xoauth(&args, Some(&token), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("summary: IMAP PASS, POP PASS, SMTP FAIL")
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let (cases, kinds) = count_testcases(&xml);
    assert_eq!((cases, kinds), (3, vec!["smtp_auth_disabled".to_string()]));

    let page = std::fs::read_to_string(&html).unwrap();
    let doc = scraper::Html::parse_document(&page);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let sel = |css: &str| scraper::Selector::parse(css).unwrap();
    assert_eq!(doc.select(&sel("table.grid td.cell.pass")).count(), 2);
    assert_eq!(doc.select(&sel("table.grid td.cell.fail")).count(), 1);
    let fix: String = doc
        .select(&sel("pre > code"))
        .flat_map(|c| c.text())
        .collect();
    assert!(fix.contains("Set-CASMailbox"), "{fix}");

    let metrics = std::fs::read_to_string(&prom).unwrap();
    for line in [
        "xoauth_check_success{mailbox=\"bob@contoso.example\",protocol=\"imap\"} 1",
        "xoauth_check_success{mailbox=\"bob@contoso.example\",protocol=\"smtp\"} 0",
        "xoauth_audit_cells{outcome=\"pass\"} 2",
        "xoauth_audit_cells{outcome=\"fail\"} 1",
        "xoauth_audit_failed_cells{kind=\"smtp_auth_disabled\"} 1",
        "xoauth_audit_exit_code 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    assert!(metrics.contains("\nxoauth_token_expiry_timestamp_seconds "));
    promtool(&prom);

    // Nothing carries the token; no temporary file stays.
    for text in [&xml, &page, &metrics, &run.stdout, &run.stderr] {
        assert!(!text.contains(&token));
        assert!(!text.contains(token.rsplit('.').next().unwrap()));
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nagios_prints_one_status_line_with_the_plugin_exit_code() {
    let mock = Mock::start().await;
    // Every check passes: OK, 0.
    let run = xoauth(
        &with_token(mock.check_args(false), &["--nagios"]),
        Some(&mock.token(ALICE)),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(
            "XOAUTH OK - all 3 checks passed (1 mailbox) | 'cells'=3;;;0 'passed'=3;;;0;3 \
             'failed'=0;;0;0;3 'duration'="
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" 'token_expiry'="), "{}", run.stdout);

    // SMTP AUTH disabled: CRITICAL, 2.
    let run = xoauth(
        &with_token(as_user(mock.check_args(false), BOB_ADDR), &["--nagios"]),
        Some(&mock.token(BOB_ADDR)),
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout
            .starts_with("XOAUTH CRITICAL - 1 of 3 checks failed (smtp_auth_disabled 1)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1);

    // A token the server refuses: CRITICAL too (mail access is broken), never the token.
    let run = xoauth(
        &with_token(mock.check_args(false), &["--nagios"]),
        Some(BAD_TOKEN),
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout
            .starts_with("XOAUTH CRITICAL - 3 of 3 checks failed")
    );
    assert!(!run.all().contains("bogus-token-4f2a9c"));

    // Usage errors: UNKNOWN, 3, still one line.
    for extra in [
        &["--nagios", "--json"][..],
        &["--nagios", "--no-such-flag"][..],
    ] {
        let run = xoauth(
            &with_token(mock.check_args(false), extra),
            Some(&mock.token(ALICE)),
            None,
        )
        .await;
        assert_eq!(run.code, 3, "{extra:?}: {}", run.all());
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
        assert!(
            run.stdout.starts_with("XOAUTH UNKNOWN - "),
            "{}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_that_cannot_be_written_stops_the_run_before_any_check() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("audit.html");
    let junit = dir.path().join("audit.xml");
    let args = with_token(
        mock.check_args(false),
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            missing.to_str().unwrap(),
        ],
    );
    let run = xoauth(&args, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("--html") && run.stderr.contains("no-such-dir"),
        "{}",
        run.stderr
    );
    // Nothing was checked (the mock heard no command) and nothing was written.
    assert_eq!(mock.server.command_log(), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // In plugin mode the same is UNKNOWN, exit 3.
    let mut nagios = args.clone();
    nagios.push("--nagios".into());
    let run = xoauth(&nagios, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stdout.starts_with("XOAUTH UNKNOWN - --html "),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A writable path runs the checks (the same mock hears them).
    let ok = with_token(
        mock.check_args(false),
        &["--junit", junit.to_str().unwrap()],
    );
    let run = xoauth(&ok, Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!mock.server.command_log().is_empty());
    assert!(junit.exists());
}
