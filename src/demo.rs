//! `xoauth demo`: starts the Exchange Online mock in-process on loopback and runs the checks an
//! admin would, including one that must fail, so the tool can be seen working with no tenant.
//! It exits 0 only when every case came out as expected.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use xoauth::plan::{Endpoint, ImapPlan};
use xoauth::report::{FailureKind, Report};
use xoauth::sasl::MechanismChoice;
use xoauth::secret::Secret;
use xoauth::token::TokenSource;
use xoauth::transport::{Limits, Security};
use xoauth_mock::{Config, MockServer};

use crate::cli::OutputArgs;

/// The mock tenant's static tokens (mock-server/config/contoso.toml).
const ALICE: &str = "alice@contoso.example";
const ALICE_TOKEN: &str = "mock-access-token-alice-0001";

struct Case {
    title: &'static str,
    mailbox: Option<&'static str>,
    security: Security,
    examine: Option<&'static str>,
    /// `None`: must pass; `Some(kind)`: must fail with this kind.
    expect: Option<FailureKind>,
}

const CASES: [Case; 3] = [
    Case {
        title: "the user's own mailbox (implicit TLS)",
        mailbox: None,
        security: Security::ImplicitTls,
        examine: Some("INBOX"),
        expect: None,
    },
    Case {
        title: "a shared mailbox the user has FullAccess to (STARTTLS)",
        mailbox: Some("sales@contoso.example"),
        security: Security::StartTls,
        examine: Some("Inbox"),
        expect: None,
    },
    Case {
        title: "a shared mailbox the user may not open (expected failure)",
        mailbox: Some("payroll@contoso.example"),
        security: Security::ImplicitTls,
        examine: None,
        expect: Some(FailureKind::AuthenticatedNotConnected),
    },
];

#[derive(Serialize)]
struct CaseResult<'a> {
    case: &'a str,
    expected: &'a str,
    as_expected: bool,
    report: Report,
}

pub async fn run(output: &OutputArgs) -> ExitCode {
    let started = Instant::now();
    let server = match MockServer::start(Config::demo()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("xoauth: error: cannot start the mock server: {e}");
            return ExitCode::from(4);
        }
    };
    let timeout = Duration::from_secs_f64(output.timeout.clamp(0.1, 300.0));
    let mut results = Vec::new();
    for case in &CASES {
        let addr = match case.security {
            Security::ImplicitTls => server.imaps_addr(),
            Security::StartTls => server.imap_starttls_addr(),
        };
        let plan = ImapPlan {
            endpoint: Endpoint {
                host: addr.ip().to_string(),
                port: addr.port(),
                security: case.security,
            },
            user: ALICE.to_string(),
            mailbox: case.mailbox.map(str::to_string),
            mechanism: MechanismChoice::Auto,
            examine: case.examine.map(str::to_string),
            ca_files: Vec::new(),
            extra_roots: vec![server.ca_der()],
            token: TokenSource::Value(Secret::new(ALICE_TOKEN.to_string())),
            timeout,
            limits: Limits::default(),
            transcript: output.verbose,
        };
        let report = match xoauth::run::imap(&plan).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("xoauth: error: {e}");
                return ExitCode::from(2);
            }
        };
        let as_expected = match case.expect {
            None => report.passed(),
            Some(kind) => report.failure.as_ref().is_some_and(|f| f.kind == kind),
        };
        results.push(CaseResult {
            case: case.title,
            expected: if case.expect.is_none() {
                "pass"
            } else {
                "fail"
            },
            as_expected,
            report,
        });
    }
    server.shutdown().await;
    let good = results.iter().filter(|r| r.as_expected).count();
    if output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).unwrap_or_default()
        );
    } else {
        println!("xoauth demo: an in-process mock of Exchange Online on loopback, user {ALICE}\n");
        for (i, r) in results.iter().enumerate() {
            println!(
                "[{}/{}] {} — expected to {}",
                i + 1,
                results.len(),
                r.case,
                r.expected
            );
            print!("{}", r.report.render_human());
            println!(
                "=> {}\n",
                if r.as_expected {
                    "as expected"
                } else {
                    "NOT AS EXPECTED"
                }
            );
        }
        println!(
            "{good}/{} cases came out as expected ({} ms)",
            results.len(),
            started.elapsed().as_millis()
        );
    }
    if good == results.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
