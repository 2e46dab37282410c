//! A thousand mailboxes with mixed outcomes, audited against the mock with every file output at
//! once: every cell is what the mock's tenant says it must be, the JSON lines are in the
//! schema, the JUnit XML and the HTML parse with real parsers, the Prometheus file with
//! promtool (when installed), and all of them count the same passes and failures.

use xoauth_mock::{Config, generate};

use crate::util::*;

const N: usize = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_mailboxes_audit_as_the_tenant_says_and_every_output_agrees() {
    let mock = Mock::with(|c| c.generate.mailboxes = N).await;
    let mut config = Config::demo();
    config.generate.mailboxes = N;
    let addresses = config.generated_addresses().unwrap();
    let expected = generate::expected(&config.with_generated().unwrap(), DAEMON, &addresses);

    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mailboxes.txt");
    std::fs::write(&list, addresses.join("\n")).unwrap();
    let (junit, html, prom) = (
        dir.path().join("audit.xml"),
        dir.path().join("audit.html"),
        dir.path().join("audit.prom"),
    );
    let mut args = mock.check_args(false);
    let i = args.iter().position(|a| a == "--user").unwrap();
    args.drain(i..i + 2);
    args.extend(strings(&[
        "--mailboxes",
        list.to_str().unwrap(),
        "--concurrency",
        "32",
        "--json",
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--prometheus",
        prom.to_str().unwrap(),
    ]));
    let args = mock.oauth(args, DAEMON, &["--client-secret-env", "S"]);
    // xoauth_env checks every JSON line against the schema.
    let run = xoauth_env(&args, &[("S", DAEMON_SECRET)], None).await;
    assert_eq!(run.code, 1, "{}", run.stderr);

    // Every cell is the tenant's expected outcome, in the list's order.
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, cells) = lines.split_last().unwrap();
    assert_eq!(cells.len(), 3 * N);
    let want: Vec<(String, String, String)> = expected
        .iter()
        .flat_map(|row| {
            [("imap", row.imap), ("pop", row.pop), ("smtp", row.smtp)]
                .map(|(p, k)| (row.address.clone(), p.to_string(), k.to_string()))
        })
        .collect();
    let got: Vec<(String, String, String)> = cells
        .iter()
        .map(|c| {
            (
                c["mailbox"].as_str().unwrap().to_string(),
                c["protocol"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap_or("pass").to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let s = &summary["summary"];
    let (passed, failed) = (s["passed"].as_u64().unwrap(), s["failed"].as_u64().unwrap());
    let passes = want.iter().filter(|c| c.2 == "pass").count() as u64;
    assert_eq!((passed, failed), (passes, 3 * N as u64 - passes));
    // Disagreeing protocols are explained per mailbox: every mailbox with IMAP switched off
    // (the mock's mix: one in ten) has a combined explanation on its cells.
    let combined = cells
        .iter()
        .filter(|c| c["protocol"] == "imap" && !c["combined"].is_null())
        .count();
    assert!(
        combined >= N / 10,
        "{combined} mailboxes with a combined explanation"
    );

    // JUnit: a test case per cell, a failure per failed cell.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count() as u64;
    assert_eq!(
        (count("testcase"), count("failure")),
        (3 * N as u64, failed)
    );

    // HTML: parses without an error, a grid cell per check.
    let page = std::fs::read_to_string(&html).unwrap();
    let doc = scraper::Html::parse_document(&page);
    assert!(
        doc.errors.is_empty(),
        "{:?}",
        &doc.errors[..doc.errors.len().min(5)]
    );
    let sel = |css: &str| scraper::Selector::parse(css).unwrap();
    assert_eq!(
        (
            doc.select(&sel("table.grid td.cell.pass")).count() as u64,
            doc.select(&sel("table.grid td.cell.fail")).count() as u64
        ),
        (passed, failed)
    );

    // Prometheus: the same counts, a success sample per cell, and promtool's approval.
    let metrics = std::fs::read_to_string(&prom).unwrap();
    for line in [
        format!("xoauth_audit_cells{{outcome=\"pass\"}} {passed}"),
        format!("xoauth_audit_cells{{outcome=\"fail\"}} {failed}"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}");
    }
    let samples = metrics
        .lines()
        .filter(|l| l.starts_with("xoauth_check_success{"))
        .count();
    assert_eq!(samples, 3 * N);
    if let Ok(out) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom).unwrap())
        .output()
    {
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("note: promtool is not installed; `promtool check metrics` skipped");
    }

    // One token for the whole audit; none of it in any output.
    assert_eq!(mock.server.token_requests().len(), 1);
    for text in [&xml, &page, &metrics, &run.stdout, &run.stderr] {
        assert!(!text.contains(DAEMON_SECRET));
        assert!(!text.contains("eyJ"), "a JWT in an output");
    }
}
