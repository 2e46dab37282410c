//! The audit outputs rendered from one hand-built audit (passes, several failure kinds, a
//! throttled cell, hostile server text) and read back with real parsers: roxmltree for the
//! JUnit XML, html5ever (through scraper) for the page, a parser of the Prometheus exposition
//! grammar (and `promtool check metrics` when installed); their counts must be the summary's.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use super::*;
use crate::outcome::{Category, Failure, Stage};
use crate::report::{Outcome, Target};
use crate::token::{Origin, claims};
use crate::transport::Security;

/// Server text as hostile as it gets: markup, CDATA end, NUL, BEL, ESC, a bidi override,
/// a noncharacter, non-ASCII.
const HOSTILE: &str = "5.7.3 </pre><script>alert(1)</script> ]]> & \"q\" 'a' \u{0}\u{7}\u{1b}[2J \u{202e}evil \u{fffe} Zoë 日本語";
const SIGNATURE: &str = "c2VjcmV0LXNpZ25hdHVyZS1kbzQyLWxlYWs";
const EXP: i64 = 1_796_000_000;

fn raw_token() -> String {
    let payload = serde_json::json!({
        "aud": "https://outlook.office365.com",
        "roles": ["IMAP.AccessAsApp", "SMTP.SendAsApp"],
        "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "appid": "0b3d8a7e-1111-2222-3333-444455556666",
        "idtyp": "app",
        "exp": EXP,
    });
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{SIGNATURE}",
        B64URL.encode(payload.to_string())
    )
}

fn token_info() -> TokenInfo {
    TokenInfo {
        origin: Origin::ClientCredentials,
        claims: Some(claims::decode(&raw_token()).expect("fake token decodes")),
        claims_note: None,
        expires_at: Some(crate::transport::util::rfc3339(EXP)),
    }
}

fn report(protocol: Protocol, mailbox: &str, failure: Option<Failure>, ms: u64) -> Report {
    Report {
        protocol,
        outcome: if failure.is_some() {
            Outcome::Fail
        } else {
            Outcome::Pass
        },
        exit_code: failure
            .as_ref()
            .map_or(ExitStatus::Pass, |f| f.category.exit_status()),
        target: Target {
            host: "outlook.office365.com".into(),
            port: 993,
            security: Security::ImplicitTls,
            address: None,
        },
        user: mailbox.into(),
        mailbox: mailbox.into(),
        mechanism: None,
        token: Some(token_info()),
        preflight: Vec::new(),
        tls: None,
        capabilities: Vec::new(),
        steps: Vec::new(),
        folders: None,
        examined: None,
        found: None,
        stat: None,
        submission: None,
        failure,
        warnings: Vec::new(),
        elapsed_ms: ms,
        ids: Default::default(),
        transcript: None,
    }
}

fn failure(kind: FailureKind, stage: Stage, message: &str, cause: &str, fix: &str) -> Failure {
    let mut f = Failure::new(stage, kind, message).with_reply(vec![HOSTILE.to_string()]);
    f.explain(Explanation {
        cause: cause.into(),
        candidates: Vec::new(),
        fix: (!fix.is_empty()).then(|| fix.to_string()),
        evidence: Vec::new(),
    });
    f
}

fn cell(protocol: Protocol, mailbox: &str, f: Option<Failure>) -> Cell {
    Cell {
        protocol,
        attempts: 1,
        backoff_ms: Vec::new(),
        report: report(protocol, mailbox, f, 250),
    }
}

const SMTP_FIX: &str = "Set-CASMailbox -Identity alice@contoso.example -SmtpClientAuthenticationDisabled $false\nGet-CASMailbox alice@contoso.example | Format-List SmtpClientAuthenticationDisabled";
const HOSTILE_MAILBOX: &str = "zoë&<b>\"]]>\u{1b}@contoso.example";

/// Four mailboxes × three protocols: 6 passes, 6 failures of 5 kinds, one throttled retry.
fn audit() -> Audit {
    use Protocol::*;
    let alice = "alice@contoso.example";
    let smtp_off = failure(
        FailureKind::SmtpAuthDisabled,
        Stage::Auth,
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled",
        "SMTP AUTH is switched off for this mailbox",
        SMTP_FIX,
    );
    let rejected = failure(
        FailureKind::AuthRejected,
        Stage::Auth,
        HOSTILE,
        &format!("the server refused the token: {HOSTILE}"),
        "Add-MailboxPermission -Identity \"<mailbox>\" -User <SP object id> -AccessRights FullAccess",
    );
    let mut throttled = cell(
        Imap,
        "carol@contoso.example",
        Some(failure(
            FailureKind::Throttled,
            Stage::Auth,
            "NO [UNAVAILABLE] too many connections",
            "Exchange Online throttled the app",
            "",
        )),
    );
    throttled.attempts = 3;
    throttled.backoff_ms = vec![1000, 2000];
    let mut retried_pass = cell(Smtp, "carol@contoso.example", None);
    retried_pass.attempts = 2;
    retried_pass.backoff_ms = vec![500];
    Audit {
        started_at: 1_795_990_000,
        elapsed_ms: 12_345,
        user: None,
        token: Some(token_info()),
        protocols: vec![Imap, Pop, Smtp],
        concurrency: 4,
        mailboxes: vec![
            MailboxAudit {
                mailbox: alice.into(),
                line: 1,
                cells: vec![
                    cell(Imap, alice, None),
                    cell(Pop, alice, None),
                    cell(Smtp, alice, Some(smtp_off)),
                ],
                combined: Some(Explanation {
                    cause: "IMAP and POP work but SMTP AUTH is off for the mailbox".into(),
                    candidates: Vec::new(),
                    fix: Some(SMTP_FIX.into()),
                    evidence: Vec::new(),
                }),
            },
            MailboxAudit {
                mailbox: HOSTILE_MAILBOX.into(),
                line: 2,
                cells: vec![
                    cell(Imap, HOSTILE_MAILBOX, Some(rejected.clone())),
                    cell(Pop, HOSTILE_MAILBOX, Some(rejected)),
                    cell(
                        Smtp,
                        HOSTILE_MAILBOX,
                        Some(failure(
                            FailureKind::ConnectFailed,
                            Stage::Connect,
                            "connection refused",
                            "nothing listens on the port",
                            "",
                        )),
                    ),
                ],
                combined: None,
            },
            MailboxAudit {
                mailbox: "carol@contoso.example".into(),
                line: 3,
                cells: vec![
                    throttled,
                    cell(
                        Pop,
                        "carol@contoso.example",
                        Some(failure(
                            FailureKind::TokenRejected,
                            Stage::Token,
                            "AADSTS7000215: Invalid client secret provided.",
                            "the client secret is wrong",
                            "New-MgApplicationPassword -ApplicationId <app>",
                        )),
                    ),
                    retried_pass,
                ],
                combined: None,
            },
            MailboxAudit {
                mailbox: "dave@contoso.example".into(),
                line: 4,
                cells: vec![
                    cell(Imap, "dave@contoso.example", None),
                    cell(Pop, "dave@contoso.example", None),
                    cell(Smtp, "dave@contoso.example", None),
                ],
                combined: None,
            },
        ],
        skipped: vec![SkippedLine {
            line: 6,
            text: "not-an-address <&> \u{7}".into(),
            reason: "no @".into(),
        }],
        duplicates: vec![Duplicate {
            mailbox: "alice@contoso.example".into(),
            lines: vec![1, 5],
        }],
    }
}

#[test]
fn the_fixture_has_the_counts_the_outputs_are_checked_against() {
    let s = audit().summary();
    assert_eq!((s.mailboxes, s.cells, s.passed, s.failed), (4, 12, 6, 6));
    assert_eq!(s.by_kind.len(), 5);
    assert_eq!(s.by_kind["auth_rejected"], 2);
    let _ = Category::CheckFailed;
}

// ---------------------------------------------------------------- JUnit

#[test]
fn junit_parses_as_xml_and_its_counts_are_the_summary() {
    let a = audit();
    let s = a.summary();
    let xml = junit::render(&a);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some(s.cells.to_string().as_str()));
    assert_eq!(
        root.attribute("failures"),
        Some(s.failed.to_string().as_str())
    );

    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), s.cells);
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), s.failed);
    let mut by_kind = BTreeMap::new();
    for f in &failures {
        assert_eq!(f.attribute("message"), f.attribute("type"));
        *by_kind
            .entry(f.attribute("type").unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(by_kind, s.by_kind);

    // One suite per protocol, whose counts add up; classname = protocol, name = mailbox.
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite") && n.attribute("tests") != Some("0"))
        .collect();
    assert_eq!(suites.len(), 3);
    let sum = |attr: &str| -> usize {
        suites
            .iter()
            .map(|n| n.attribute(attr).unwrap().parse::<usize>().unwrap())
            .sum()
    };
    assert_eq!((sum("tests"), sum("failures")), (s.cells, s.failed));
    for suite in &suites {
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            assert_eq!(case.attribute("classname"), suite.attribute("name"));
            let time: f64 = case.attribute("time").unwrap().parse().unwrap();
            assert!((time - 0.25).abs() < 1e-9);
        }
    }
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert!(
        names.contains(&"zoë&<b>\"]]>\\x1b@contoso.example"),
        "{names:?}"
    );

    // Hostile text arrives as text: the markup is characters, the controls are shown.
    let text: String = failures.iter().filter_map(|f| f.text()).collect();
    assert!(text.contains("</pre><script>alert(1)</script> ]]> & \"q\""));
    assert!(text.contains("\\x00\\x07\\x1b[2J \\u{202e}evil \u{fffd} Zoë 日本語"));
    assert!(text.contains("fix: Set-CASMailbox"));
    assert!(text.contains("across protocols: IMAP and POP work"));
    assert!(text.contains("3 attempts, waited 1000 ms, 2000 ms"));
    // The skipped line and the duplicate are shown without counting as tests.
    assert!(xml.contains("line 6 skipped (no @): not-an-address &lt;&amp;&gt; \\x07"));
    assert!(xml.contains("listed on lines 1, 5"));
}

// ---------------------------------------------------------------- HTML

#[test]
fn html_parses_without_errors_and_its_grid_is_the_summary() {
    use scraper::{Html, Selector};
    let a = audit();
    let s = a.summary();
    let page = html::render(&a);
    let doc = Html::parse_document(&page);
    assert!(
        doc.errors.is_empty(),
        "HTML5 parse errors: {:?}",
        doc.errors
    );
    let sel = |css: &str| Selector::parse(css).unwrap();
    let count = |css: &str| doc.select(&sel(css)).count();

    assert_eq!(count("table.grid td.cell.pass"), s.passed);
    assert_eq!(count("table.grid td.cell.fail"), s.failed);
    assert_eq!(count("table.grid tbody tr"), s.mailboxes);
    assert_eq!(
        count("table.grid thead th[scope=col]"),
        1 + a.protocols.len()
    );
    assert_eq!(count("table.grid tbody th[scope=row]"), s.mailboxes);
    // Not colour alone: every cell says PASS or FAIL in words.
    for td in doc.select(&sel("table.grid td.cell")) {
        let text: String = td.text().collect();
        assert!(
            text.starts_with("PASS") || text.starts_with("FAIL"),
            "{text}"
        );
    }
    // Every FAIL links to its details, which exist.
    for link in doc.select(&sel("table.grid td.fail a")) {
        let id = link.value().attr("href").unwrap().trim_start_matches('#');
        assert_eq!(count(&format!("div.failure[id=\"{id}\"]")), 1, "{id}");
    }
    // Self-contained and inert: no script, no external asset, the CSS inline.
    for tag in ["script", "link", "img", "iframe", "object", "embed"] {
        assert_eq!(count(tag), 0, "<{tag}>");
    }
    assert_eq!(count("head style"), 1);
    for el in doc.select(&sel("[href], [src]")) {
        let v = el.value();
        let target = v.attr("href").or(v.attr("src")).unwrap();
        assert!(target.starts_with('#'), "external reference {target}");
    }
    // The hostile mailbox is one row header, with its text intact.
    let rows: Vec<String> = doc
        .select(&sel("table.grid tbody th"))
        .map(|th| th.text().collect())
        .collect();
    assert!(rows.contains(&"zoë&<b>\"]]>\\x1b@contoso.example".to_string()));
    let body: String = doc.root_element().text().collect();
    assert!(body.contains("</pre><script>alert(1)</script> ]]>"));
    assert!(!body.contains('\u{1b}') && !body.contains('\u{0}'));

    // Fixes as code; the combined explanation; the claims; the date; counts; the list.
    let fixes: Vec<String> = doc
        .select(&sel("pre > code"))
        .map(|c| c.text().collect())
        .collect();
    assert!(fixes.contains(&SMTP_FIX.to_string()), "{fixes:?}");
    let combined: String = doc
        .select(&sel(".combined"))
        .flat_map(|c| c.text())
        .collect();
    assert!(combined.contains("IMAP and POP work but SMTP AUTH is off"));
    for claim in [
        "https://outlook.office365.com",
        "IMAP.AccessAsApp SMTP.SendAsApp",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "0b3d8a7e-1111-2222-3333-444455556666",
        "2026-11-29T",
    ] {
        assert!(body.contains(claim), "{claim}");
    }
    let run = doc.select(&sel("header time")).next().unwrap();
    assert_eq!(
        run.value().attr("datetime"),
        Some(text::rfc3339(a.started_at).as_str())
    );
    assert!(body.contains("not-an-address <&> \\x07"));
    assert!(body.contains("1, 5"));
    assert_eq!(count("div.group"), a.groups().len());
}

// ---------------------------------------------------------------- Prometheus

/// A sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses the text exposition format (0.0.4): `# HELP name text`, `# TYPE name type`, and
/// samples `name{label="value",...} value`, label values with `\\`, `\"`, `\n` escapes. Every
/// family's HELP and TYPE must come before its samples, once.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    let mut samples = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let err = |m: &str| format!("line {}: {m}: {line:?}", no + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .ok_or_else(|| err("HELP without text"))?;
            if !name_ok(name) || !helped.insert(name.to_string()) {
                return Err(err("bad or repeated HELP"));
            }
            let mut chars = help.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                    return Err(err("bad escape in HELP"));
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| err("TYPE without type"))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(err("unknown type"));
            }
            if typed.insert(name.to_string(), kind.to_string()).is_some() {
                return Err(err("repeated TYPE"));
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("sample without value"))?;
        let name = &line[..name_end];
        if !name_ok(name) || !typed.contains_key(name) || !helped.contains(name) {
            return Err(err("sample before its HELP and TYPE, or bad name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            loop {
                let start = chars
                    .peek()
                    .map(|(i, _)| *i)
                    .ok_or_else(|| err("open labels"))?;
                if inner[start..].starts_with('}') {
                    rest = &inner[start + 1..];
                    break;
                }
                let eq = inner[start..]
                    .find("=\"")
                    .ok_or_else(|| err("label without ="))?;
                let label = &inner[start..start + eq];
                if !name_ok(label) || label.contains(':') {
                    return Err(err("bad label name"));
                }
                for _ in 0..eq + 2 {
                    chars.next();
                }
                let mut value = String::new();
                loop {
                    match chars.next().ok_or_else(|| err("unterminated value"))?.1 {
                        '"' => break,
                        '\\' => match chars.next().map(|c| c.1) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            _ => return Err(err("bad escape in label value")),
                        },
                        '\n' => return Err(err("raw line feed in label value")),
                        c => value.push(c),
                    }
                }
                labels.push((label.to_string(), value));
                if let Some((_, ',')) = chars.peek() {
                    chars.next();
                }
            }
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value"))?;
        let value: f64 = value.parse().map_err(|_| err("value is not a float"))?;
        samples.push((name.to_string(), labels, value));
    }
    Ok(samples)
}

#[test]
fn the_exposition_parser_refuses_what_the_format_forbids() {
    let head = "# HELP m h\n# TYPE m gauge\n";
    assert!(parse_exposition(&format!("{head}m{{a=\"x\"}} 1\n")).is_ok());
    for bad in [
        "m 1\n",
        "# HELP m h\n# TYPE m gauge\nm{a=\"x\\y\"} 1\n",
        "# HELP m h\n# TYPE m gauge\nm{a=\"x} 1\n",
        "# HELP m h\n# TYPE m gauge\nm{a=\"x\"}\n",
        "# HELP m h\n# TYPE m gauge\nm{a=\"x\"} one\n",
        "# HELP m h\n# TYPE m gauge\n# TYPE m gauge\nm 1\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "{bad}");
    }
}

#[test]
fn prometheus_parses_and_its_counts_are_the_summary() {
    let a = audit();
    let s = a.summary();
    let text = prometheus::render(&a);
    let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let of = |name: &str| -> Vec<&Sample> { samples.iter().filter(|s| s.0 == name).collect() };
    let label = |s: &Sample, k: &str| -> String {
        s.1.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };

    let success = of("xoauth_check_success");
    assert_eq!(success.len(), s.cells);
    assert_eq!(success.iter().map(|s| s.2).sum::<f64>() as usize, s.passed);
    assert_eq!(of("xoauth_check_duration_seconds").len(), s.cells);
    assert_eq!(of("xoauth_check_failure").len(), s.failed);
    let attempts: f64 = of("xoauth_check_attempts").iter().map(|s| s.2).sum();
    assert_eq!(attempts as usize, s.cells + 2 + 1);
    for outcome in of("xoauth_audit_cells") {
        let want = match label(outcome, "outcome").as_str() {
            "pass" => s.passed,
            "fail" => s.failed,
            other => panic!("outcome {other}"),
        };
        assert_eq!(outcome.2 as usize, want);
    }
    let by_kind: BTreeMap<String, usize> = of("xoauth_audit_failed_cells")
        .iter()
        .map(|x| (label(x, "kind"), x.2 as usize))
        .collect();
    assert_eq!(by_kind, s.by_kind);
    assert_eq!(of("xoauth_token_expiry_timestamp_seconds")[0].2 as i64, EXP);
    assert_eq!(of("xoauth_audit_duration_seconds")[0].2, 12.345);
    assert_eq!(
        of("xoauth_audit_last_run_timestamp_seconds")[0].2 as u64,
        a.started_at + 12
    );
    // The hostile mailbox comes back as its shown form, its quote and backslash escaped.
    let mailboxes: Vec<String> = success.iter().map(|x| label(x, "mailbox")).collect();
    assert!(mailboxes.contains(&"zoë&<b>\"]]>\\x1b@contoso.example".to_string()));
    assert!(text.contains("mailbox=\"zoë&<b>\\\"]]>\\\\x1b@contoso.example\""));
}

/// `promtool check metrics` (the Prometheus project's own checker and linter), when installed.
#[test]
fn prometheus_passes_promtool_when_installed() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let text = prometheus::render(&audit());
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("note: promtool is not installed; `promtool check metrics` skipped");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- Nagios

fn nagios_line_ok(line: &str) {
    use predicates::prelude::*;
    // 'label'=value[UOM];[warn];[crit];[min];[max], trailing fields optional.
    let re = r"^XOAUTH (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+ \| '[a-z_]+'=-?[0-9.]+s?(;[0-9:]*){0,4}( '[a-z_]+'=-?[0-9.]+s?(;[0-9:]*){0,4})*$";
    assert!(predicates::str::is_match(re).unwrap().eval(line), "{line}");
}

fn perf(line: &str, label: &str) -> Option<String> {
    let data = line.split_once(" | ")?.1;
    data.split(' ')
        .find_map(|p| p.strip_prefix(&format!("'{label}'=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

#[test]
fn nagios_line_and_state_follow_the_plugin_guidelines() {
    let now = EXP - 3600;
    let a = audit();
    let (line, state) = nagios::status(&a, now);
    nagios_line_ok(&line);
    assert_eq!((state, state.code()), (nagios::State::Critical, 2));
    assert!(
        line.starts_with("XOAUTH CRITICAL - 6 of 12 checks failed ("),
        "{line}"
    );
    assert_eq!(perf(&line, "cells").as_deref(), Some("12"));
    assert_eq!(perf(&line, "passed").as_deref(), Some("6"));
    assert_eq!(perf(&line, "failed").as_deref(), Some("6"));
    assert_eq!(perf(&line, "duration").as_deref(), Some("12.345s"));
    assert_eq!(perf(&line, "token_expiry").as_deref(), Some("3600s"));
    assert!(!line.contains('\n') && !line.contains('\u{1b}'));

    // Every cell passing: OK; a token about to expire: WARNING.
    let mut ok = audit();
    ok.mailboxes.retain(|m| m.mailbox.starts_with("dave"));
    ok.skipped.clear();
    let (line, state) = nagios::status(&ok, now);
    nagios_line_ok(&line);
    assert_eq!((state, state.code()), (nagios::State::Ok, 0), "{line}");
    let (line, state) = nagios::status(&ok, EXP - 60);
    assert_eq!(state, nagios::State::Warning, "{line}");
    assert!(line.contains("the token expires in 60 s"));

    // Only throttled: WARNING, as is a skipped line of the list.
    let mut throttled = audit();
    throttled
        .mailboxes
        .retain(|m| m.mailbox.starts_with("carol"));
    throttled.mailboxes[0].cells.remove(1);
    throttled.skipped.clear();
    let (line, state) = nagios::status(&throttled, now);
    assert_eq!((state, state.code()), (nagios::State::Warning, 1), "{line}");
    let mut skipped = ok.clone();
    skipped.skipped = audit().skipped;
    assert_eq!(nagios::status(&skipped, now).1, nagios::State::Warning);

    // Nothing checked: UNKNOWN.
    let mut empty = audit();
    empty.mailboxes.clear();
    let (line, state) = nagios::status(&empty, now);
    nagios_line_ok(&line);
    assert_eq!((state, state.code()), (nagios::State::Unknown, 3), "{line}");

    let line = nagios::unknown("cannot write a|b\nc\u{1b}");
    assert_eq!(line, "XOAUTH UNKNOWN - cannot write a/b\\x0ac\\x1b");
}

// ---------------------------------------------------------------- secrets

#[test]
fn no_output_carries_the_token() {
    let a = audit();
    let raw = raw_token();
    let payload = raw.split('.').nth(1).unwrap().to_string();
    for (name, text) in [
        ("junit", junit::render(&a)),
        ("html", html::render(&a)),
        ("prometheus", prometheus::render(&a)),
        ("nagios", nagios::status(&a, 0).0),
    ] {
        for secret in [raw.as_str(), SIGNATURE, payload.as_str()] {
            assert!(!text.contains(secret), "{name} carries the token");
        }
    }
}

#[test]
fn one_check_is_a_one_row_audit() {
    let reports = vec![
        report(Protocol::Imap, "ann@contoso.example", None, 10),
        report(
            Protocol::Smtp,
            "ann@contoso.example",
            Some(failure(
                FailureKind::AuthRejected,
                Stage::Auth,
                "no",
                "c",
                "f",
            )),
            20,
        ),
    ];
    let a = Audit::from_reports(100, 30, reports);
    let s = a.summary();
    assert_eq!((s.mailboxes, s.cells, s.passed, s.failed), (1, 2, 1, 1));
    assert_eq!(a.protocols, vec![Protocol::Imap, Protocol::Smtp]);
    assert_eq!(a.user, None);
    assert_eq!(a.token_expires_at(), Some(EXP));
    assert!(html::render(&a).contains("with an app-only token"));

    // A delegated token checking its user's own mailbox: the user is named.
    let mut delegated = report(Protocol::Imap, "ann@contoso.example", None, 10);
    let token = delegated.token.as_mut().unwrap();
    let claims = token.claims.as_mut().unwrap();
    claims.idtyp = None;
    claims.roles.clear();
    claims.scp = Some("IMAP.AccessAsUser.All".into());
    claims.upn = Some("ann@contoso.example".into());
    let a = Audit::from_reports(100, 30, vec![delegated]);
    assert_eq!(a.user.as_deref(), Some("ann@contoso.example"));
    assert!(html::render(&a).contains("with a delegated token of ann@contoso.example"));
}

/// The issue's size: 1,000 mailboxes × 3 protocols, mixed outcomes; every output still parses
/// and agrees (and renders in well under a second; the times are printed).
#[test]
fn a_thousand_mailboxes_render_parse_and_agree() {
    let base = audit();
    let mut big = base.clone();
    big.mailboxes = (0..1000)
        .map(|i| {
            let mut m = base.mailboxes[i % base.mailboxes.len()].clone();
            m.mailbox = format!("{i}-{}", m.mailbox);
            m
        })
        .collect();
    let s = big.summary();
    assert_eq!((s.cells, s.passed, s.failed), (3000, 1500, 1500));
    let clock = std::time::Instant::now();
    let (xml, page, prom) = (
        junit::render(&big),
        html::render(&big),
        prometheus::render(&big),
    );
    eprintln!(
        "1000 mailboxes: rendered in {:?}; JUnit {} KiB, HTML {} KiB, Prometheus {} KiB",
        clock.elapsed(),
        xml.len() / 1024,
        page.len() / 1024,
        prom.len() / 1024
    );
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!((cases, failures), (s.cells, s.failed));
    let html = scraper::Html::parse_document(&page);
    assert!(html.errors.is_empty(), "{:?}", html.errors.first());
    let fail = scraper::Selector::parse("table.grid td.cell.fail").unwrap();
    assert_eq!(html.select(&fail).count(), s.failed);
    let samples = parse_exposition(&prom).unwrap();
    let ok: f64 = samples
        .iter()
        .filter(|x| x.0 == "xoauth_check_success")
        .map(|x| x.2)
        .sum();
    assert_eq!(ok as usize, s.passed);
    let (line, _) = nagios::status(&big, EXP - 3600);
    assert!(line.contains("1500 of 3000 checks failed"), "{line}");
}
