//! `xoauth legacy-auth`: the three export formats give the same report, bad input is exit 2
//! with the reason, the KQL names the library's client-app list, and a 100,000-row export is
//! summarised in state that grows with distinct names, not rows.

use std::io::Read;

use serde_json::Value;
use xoauth::legacy::protocols::{ACTIVESYNC, LEGACY_APPS};
use xoauth::legacy::{Reader, Summary};

use crate::schema::assert_valid_as;
use crate::util::{strings, xoauth};

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy")
        .join(name)
        .display()
        .to_string()
}

fn protocol<'a>(doc: &'a Value, client_app: &str) -> &'a Value {
    doc["legacy_protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client_app"] == client_app)
        .unwrap_or_else(|| panic!("no {client_app} in {doc:#}"))
}

fn names(tally: &Value) -> Vec<&str> {
    tally["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

/// The three fixtures hold the same eight sign-ins: the report must not depend on the format.
#[tokio::test]
async fn every_export_format_gives_the_same_report() {
    for (file, format) in [
        ("signins.csv", "csv"),
        ("entra.json", "entra_json"),
        ("graph.json", "graph_json"),
    ] {
        let run = xoauth(
            &strings(&["legacy-auth", "--file", &fixture(file), "--json"]),
            None,
            None,
        )
        .await;
        assert_eq!(run.code, 0, "{file}: {}", run.all());
        let doc = run.json();
        assert_valid_as("legacy_auth", &doc, file);
        assert_eq!(doc["format"], format, "{file}");
        assert_eq!(doc["modern"], 1, "{file}");
        assert_eq!(doc["legacy_sign_ins"], 5, "{file}");
        // Dave's ActiveSync sign-in used a certificate: not Basic, left out.
        assert_eq!(doc["excluded_certificate_activesync"], 1, "{file}");
        let eas = protocol(&doc, ACTIVESYNC);
        assert_eq!(names(&eas["users"]), ["erin@contoso.com"], "{file}");
        let imap = protocol(&doc, "IMAP4");
        assert_eq!(
            (
                imap["sign_ins"].as_u64(),
                imap["succeeded"].as_u64(),
                imap["failed"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{file}"
        );
        assert_eq!(
            names(&imap["users_succeeded"]),
            ["alice@contoso.com"],
            "{file}"
        );
        assert_eq!(imap["ips"]["distinct"], 2, "{file}");
        assert_eq!(imap["last_seen"], "2025-12-01T09:00:00Z", "{file}");
        let smtp = protocol(&doc, "Authenticated SMTP");
        assert_eq!(
            smtp["last_seen"], "2025-12-01T09:30:00Z",
            "{file}: +01:00 offset"
        );
        assert!(
            smtp["next_step"]
                .as_str()
                .unwrap()
                .contains("SmtpClientAuthenticationDisabled")
        );
        assert_eq!(protocol(&doc, "POP3")["last_seen"], Value::Null, "{file}");
        // The undated POP3 row and the row without a client app are warnings with lines.
        let shown = doc["warnings"]["shown"].as_array().unwrap();
        assert!(
            shown
                .iter()
                .any(|w| w["message"].as_str().unwrap().contains("date")),
            "{file}: {shown:?}"
        );
        assert!(shown.iter().all(|w| w["line"].as_u64().is_some()));
    }
}

#[tokio::test]
async fn the_human_table_and_stdin() {
    let csv = std::fs::read_to_string(fixture("signins.csv")).unwrap();
    let run = xoauth(&strings(&["legacy-auth", "--file", "-"]), None, Some(&csv)).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("standard input (Entra sign-in CSV)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("xoauth imap --user"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("line 10: 3 fields where the header has 57"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("line 9: empty \"Client app\""),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn since_leaves_out_older_sign_ins() {
    // The fixtures are from 2025-12-01; a 1-day window from now leaves every dated one out.
    let run = xoauth(
        &strings(&[
            "legacy-auth",
            "--file",
            &fixture("entra.json"),
            "--since",
            "1d",
            "--json",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let doc = run.json();
    assert_valid_as("legacy_auth", &doc, "--since");
    assert_eq!(doc["before_window"], 5);
    assert_eq!(
        doc["legacy_sign_ins"], 1,
        "the undated POP3 sign-in cannot be placed: counted"
    );
    let bad = xoauth(
        &strings(&[
            "legacy-auth",
            "--file",
            &fixture("entra.json"),
            "--since",
            "1w",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
}

#[tokio::test]
async fn unusable_input_is_exit_2_with_the_reason() {
    let cases = [
        ("missing-columns.csv", "\"Username\", \"Client app\""),
        ("not-an-export.txt", "not a sign-in log export"),
        ("does-not-exist.csv", "does-not-exist.csv"),
    ];
    for (file, want) in cases {
        let run = xoauth(
            &strings(&["legacy-auth", "--file", &fixture(file), "--json"]),
            None,
            None,
        )
        .await;
        assert_eq!(run.code, 2, "{file}: {}", run.all());
        assert!(run.stderr.contains(want), "{file}: {}", run.stderr);
        assert_eq!(run.json()["error"]["kind"], "usage", "{file}");
    }
    for (input, want) in [
        ("", "empty"),
        ("[{\"clientAppUsed\":\"IMAP4\",", "ends in the middle"),
        ("{\"value\": 3}", "without a \"value\" array"),
        ("[\"a\"]", "not a sign-in object"),
    ] {
        let run = xoauth(&strings(&["legacy-auth", "--file", "-"]), None, Some(input)).await;
        assert_eq!(run.code, 2, "{input:?}: {}", run.all());
        assert!(run.stderr.contains(want), "{input:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[tokio::test]
async fn kql_names_every_legacy_client_app_and_the_certificate_rule() {
    let run = xoauth(&strings(&["legacy-auth", "--kql"]), None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let kql = &run.stdout;
    let list = kql
        .lines()
        .find_map(|l| {
            l.strip_prefix("let legacy = dynamic([")?
                .strip_suffix("]);")
        })
        .unwrap_or_else(|| panic!("no client-app list:\n{kql}"));
    let listed: Vec<&str> = list.split(", ").map(|s| s.trim_matches('"')).collect();
    let table: Vec<&str> = LEGACY_APPS.iter().map(|a| a.client_app).collect();
    assert_eq!(listed, table);
    for want in [
        "SigninLogs\n",
        "| where TimeGenerated > ago(7d)\n",
        "| where ClientAppUsed in~ (legacy)\n",
        "| where not(ClientAppUsed =~ \"Exchange ActiveSync\" and Methods has \"certificate\")\n",
        "Succeeded = countif(ResultType == \"0\")",
        "by ClientAppUsed\n",
    ] {
        assert!(kql.contains(want), "{want:?} not in\n{kql}");
    }
    // Stages in order: window, legacy filter, certificate exclusion, summary.
    let at = |s: &str| kql.find(s).unwrap();
    assert!(
        at("ago(") < at("in~ (legacy)")
            && at("in~ (legacy)") < at("has \"certificate\"")
            && at("has \"certificate\"") < at("summarize")
    );
    let month = xoauth(
        &strings(&["legacy-auth", "--kql", "--since", "30d"]),
        None,
        None,
    )
    .await;
    assert!(month.stdout.contains("ago(30d)"), "{}", month.stdout);
}

/// A sign-in export produced on demand, row by row: the test never holds the whole file.
struct Generated {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
}

const HEADER: &str = "Date (UTC),Request ID,User,Username,Application,IP address,Status,Sign-in error code,Failure reason,Client app\n";

fn generated_row(i: u64) -> String {
    let app = [
        "IMAP4",
        "POP3",
        "Authenticated SMTP",
        "Exchange ActiveSync",
        "Browser",
    ][(i % 5) as usize];
    format!(
        "2025-11-{:02}T{:02}:{:02}:{:02}.123Z,req-{i},User {u},user{u}@contoso.com,\"Mail, the app\",10.0.{}.{},{},{},,{app}\n",
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 60) % 60,
        (i / 7) % 4,
        i % 50,
        if i.is_multiple_of(3) {
            "Failure"
        } else {
            "Success"
        },
        if i.is_multiple_of(3) { 50126 } else { 0 },
        u = i % 200,
    )
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            if self.next == 0 {
                self.pending = HEADER.as_bytes().to_vec();
            } else if self.next <= self.rows {
                self.pending = generated_row(self.next - 1).into_bytes();
            } else {
                return Ok(0);
            }
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

fn summarise(rows: u64) -> Summary {
    let input = std::io::BufReader::new(Generated {
        rows,
        next: 0,
        pending: Vec::new(),
    });
    let reader = Reader::new(Box::new(input)).unwrap();
    let mut summary = Summary::new("generated", None);
    summary.read_all(reader).unwrap();
    summary
}

/// Memory is bounded by what the summary retains: the same names after 10,000 rows as after
/// 100,000 (200 users, 1 app, 200 addresses), while every count keeps growing exactly.
#[test]
fn a_100k_row_export_is_summarised_in_state_that_does_not_grow_with_rows() {
    let small = summarise(10_000);
    let big = summarise(100_000);
    assert_eq!(big.records, 100_000);
    assert_eq!(big.modern, 20_000);
    assert_eq!(big.legacy_sign_ins(), 80_000);
    assert_eq!(big.warning_count, 0, "{:?}", big.warnings);
    let imap = &big.protocols[0];
    assert_eq!(imap.sign_ins, 20_000);
    assert_eq!(
        imap.failed,
        (0..100_000u64)
            .filter(|i| i.is_multiple_of(5) && i.is_multiple_of(3))
            .count() as u64
    );
    assert_eq!(imap.apps.top(), [("Mail, the app", 20_000)]);
    assert_eq!(big.retained_names(), small.retained_names());
    assert!(
        big.retained_names() < 4 * 4 * 201 + 10,
        "{}",
        big.retained_names()
    );
}

/// The same 100,000 rows through the binary from a file: exact counts, a schema-valid summary.
#[tokio::test]
async fn a_100k_row_file_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    std::io::copy(
        &mut Generated {
            rows: 100_000,
            next: 0,
            pending: Vec::new(),
        },
        &mut out,
    )
    .unwrap();
    drop(out);
    let run = xoauth(
        &strings(&[
            "legacy-auth",
            "--file",
            &path.display().to_string(),
            "--json",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let doc = run.json();
    assert_valid_as("legacy_auth", &doc, "100k");
    assert_eq!(doc["records"], 100_000);
    assert_eq!(doc["legacy_sign_ins"], 80_000);
    // POP3 is every fifth row (i % 5 == 1), so its users are 1, 6, 11, … of the 200.
    assert_eq!(protocol(&doc, "POP3")["users"]["distinct"], 40);
    assert_eq!(
        protocol(&doc, "POP3")["users"]["top"]
            .as_array()
            .unwrap()
            .len(),
        20,
        "the list is capped"
    );
}

/// `--html FILE`: one self-contained page saying what `--json` says, in the audit's style.
#[tokio::test(flavor = "multi_thread")]
async fn the_html_page_has_the_same_numbers_and_no_script() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("legacy.html");
    let json = xoauth(
        &strings(&[
            "legacy-auth",
            "--file",
            &fixture("graph.json"),
            "--json",
            "--html",
            page.to_str().unwrap(),
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.all());
    let doc = json.json();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    for p in doc["legacy_protocols"].as_array().unwrap() {
        let n = p["sign_ins"].as_u64().unwrap();
        if n > 0 {
            let app = p["client_app"].as_str().unwrap();
            assert!(
                html.contains(&format!("<th scope=\"row\">{app}</th><td>{n}</td>")),
                "{app} {n}: {html}"
            );
        }
    }
    // An unwritable page is exit 2.
    let run = xoauth(
        &strings(&[
            "legacy-auth",
            "--file",
            &fixture("graph.json"),
            "--html",
            "/nonexistent-dir/x.html",
        ]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
}
