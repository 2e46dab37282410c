//! `xoauth demo`: starts the Exchange Online mock in-process on loopback and runs the checks an
//! admin would — IMAP, POP and SMTP, a shared mailbox, a test message sent and found again, and
//! two failures that must come out explained — so the tool can be seen working with no tenant.
//! It exits 0 only when every case came out as expected.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use xoauth::plan::{Check, Endpoint, ImapOptions, Plan, SendPlan};
use xoauth::report::{FailureKind, Report};
use xoauth::sasl::MechanismChoice;
use xoauth::secret::Secret;
use xoauth::token::TokenSource;
use xoauth::transport::{Limits, Security};
use xoauth_mock::{Config, MockServer};

use crate::cli::OutputArgs;

/// The mock tenant's users and static tokens (mock-server/config/contoso.toml).
const ALICE: &str = "alice@contoso.example";
const ALICE_TOKEN: &str = "mock-access-token-alice-0001";
const BOB: &str = "bob@contoso.example";
const BOB_TOKEN: &str = "mock-access-token-bob-0002";

/// What a check must come out as.
#[derive(Clone, Copy)]
enum Expect {
    Pass,
    /// Pass, and the message sent earlier in the same case was found over IMAP.
    PassFound,
    Fail(FailureKind),
}

impl Expect {
    fn met_by(self, r: &Report) -> bool {
        match self {
            Expect::Pass => r.passed(),
            Expect::PassFound => r.passed() && r.found.is_some(),
            Expect::Fail(kind) => r.failure.as_ref().is_some_and(|f| f.kind == kind),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::Pass => "pass",
            Expect::PassFound => "pass and find the sent message",
            Expect::Fail(_) => "fail, explained",
        }
    }
}

struct Case {
    title: &'static str,
    plan: Plan,
    expect: Vec<Expect>,
}

#[derive(Serialize)]
struct CaseResult {
    case: &'static str,
    expected: Vec<&'static str>,
    as_expected: bool,
    reports: Vec<Report>,
}

fn endpoint(addr: std::net::SocketAddr, security: Security) -> Endpoint {
    Endpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
        security,
    }
}

fn cases(server: &MockServer, output: &OutputArgs) -> Vec<Case> {
    let timeout = Duration::from_secs_f64(output.timeout.clamp(0.1, 300.0));
    let plan = |user: &str, token: &str, mailbox: Option<&str>, checks: Vec<Check>| Plan {
        user: user.to_string(),
        mailbox: mailbox.map(str::to_string),
        token: TokenSource::Value(Secret::new(token.to_string())),
        mechanism: MechanismChoice::Auto,
        ca_files: Vec::new(),
        extra_roots: vec![server.ca_der()],
        timeout,
        limits: Limits::default(),
        transcript: output.verbose,
        checks,
    };
    let imaps = endpoint(server.imaps_addr(), Security::ImplicitTls);
    let imap = |examine: Option<&str>, find: Option<String>| Check::Imap {
        endpoint: imaps.clone(),
        options: ImapOptions {
            examine: examine.map(str::to_string),
            find_message_id: find,
        },
    };
    let smtp = endpoint(server.smtp_submission_addr(), Security::StartTls);
    let send = SendPlan::new(ALICE.into(), vec![ALICE.into()], xoauth::plan::new_run_id());
    let sent_id = send.message_id.clone();
    vec![
        Case {
            title: "IMAP: the user's own mailbox (implicit TLS)",
            plan: plan(ALICE, ALICE_TOKEN, None, vec![imap(Some("INBOX"), None)]),
            expect: vec![Expect::Pass],
        },
        Case {
            title: "IMAP: a shared mailbox the user has FullAccess to (STARTTLS)",
            plan: plan(
                ALICE,
                ALICE_TOKEN,
                Some("sales@contoso.example"),
                vec![Check::Imap {
                    endpoint: endpoint(server.imap_starttls_addr(), Security::StartTls),
                    options: ImapOptions {
                        examine: Some("Inbox".into()),
                        find_message_id: None,
                    },
                }],
            ),
            expect: vec![Expect::Pass],
        },
        Case {
            title: "IMAP: a shared mailbox the user may not open",
            plan: plan(
                ALICE,
                ALICE_TOKEN,
                Some("payroll@contoso.example"),
                vec![imap(None, None)],
            ),
            expect: vec![Expect::Fail(FailureKind::AuthenticatedNotConnected)],
        },
        Case {
            title: "POP3: the user's maildrop (STAT only, nothing retrieved or deleted)",
            plan: plan(
                ALICE,
                ALICE_TOKEN,
                None,
                vec![Check::Pop {
                    endpoint: endpoint(server.pop3s_addr(), Security::ImplicitTls),
                }],
            ),
            expect: vec![Expect::Pass],
        },
        Case {
            title: "SMTP: submit a test message, then find it again over IMAP by its Message-ID",
            plan: plan(
                ALICE,
                ALICE_TOKEN,
                None,
                vec![
                    Check::Smtp {
                        endpoint: smtp.clone(),
                        send: Some(send),
                    },
                    imap(None, Some(sent_id)),
                ],
            ),
            expect: vec![Expect::Pass, Expect::PassFound],
        },
        Case {
            title: "SMTP: a mailbox with SMTP AUTH disabled",
            plan: plan(
                BOB,
                BOB_TOKEN,
                None,
                vec![Check::Smtp {
                    endpoint: smtp,
                    send: None,
                }],
            ),
            expect: vec![Expect::Fail(FailureKind::SmtpAuthDisabled)],
        },
    ]
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
    let mut results = Vec::new();
    for case in cases(&server, output) {
        let reports = match xoauth::run::run(&case.plan).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("xoauth: error: {e}");
                return ExitCode::from(2);
            }
        };
        let as_expected = reports.len() == case.expect.len()
            && reports.iter().zip(&case.expect).all(|(r, e)| e.met_by(r));
        results.push(CaseResult {
            case: case.title,
            expected: case.expect.iter().map(|e| e.describe()).collect(),
            as_expected,
            reports,
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
        println!(
            "xoauth demo: an in-process mock of Exchange Online on loopback (tenant contoso.example)\n"
        );
        for (i, r) in results.iter().enumerate() {
            println!(
                "[{}/{}] {} — expected: {}",
                i + 1,
                results.len(),
                r.case,
                r.expected.join(", then ")
            );
            for report in &r.reports {
                print!("{}", report.render_human());
            }
            let verdict = if r.as_expected {
                "as expected"
            } else {
                "NOT AS EXPECTED"
            };
            println!("=> {verdict}\n");
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
