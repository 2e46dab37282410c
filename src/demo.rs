//! `xoauth demo`: starts the Exchange Online mock in-process on loopback — mail servers and
//! identity platform — and does what an admin would: obtains tokens (device code, approved here
//! automatically; client credentials with a certificate), then checks IMAP, POP and SMTP, a
//! shared mailbox, a test message sent and found again, and two failures that must come out
//! explained. It exits 0 only when every case came out as expected.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use xoauth::outcome::ExitStatus;
use xoauth::plan::{
    Check, ClientCredential, Endpoint, Flow, ImapOptions, OAuthPlan, Plan, Protocol, Provider,
    SendPlan, TokenPlan,
};
use xoauth::report::{FailureKind, Report, TokenInfo};
use xoauth::sasl::MechanismChoice;
use xoauth::secret::Secret;
use xoauth::token::TokenSource;
use xoauth::token::provider::{Authority, CustomUrls, default_scopes};
use xoauth::transport::{Limits, Security};
use xoauth_mock::{Config, DEMO_DAEMON_CLIENT_ID, DEMO_PUBLIC_CLIENT_ID, MockServer};

use crate::cli::OutputArgs;

/// The mock tenant (mock-server/config/contoso.toml).
const TENANT: &str = "contoso.example";
const ALICE: &str = "alice@contoso.example";
const BOB: &str = "bob@contoso.example";
const SALES: &str = "sales@contoso.example";

/// The demo app's certificate credential (the mock's fixture, public on purpose).
const APP_CERT_AND_KEY: &str = xoauth_mock::DEMO_APP_CREDENTIAL_PEM;

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

/// What every plan of the demo shares.
struct Setup<'a> {
    server: &'a MockServer,
    timeout: Duration,
    verbose: bool,
}

impl Setup<'_> {
    fn plan(
        &self,
        user: &str,
        mailbox: Option<&str>,
        token: TokenPlan,
        checks: Vec<Check>,
    ) -> Plan {
        Plan {
            user: Some(user.to_string()),
            mailbox: mailbox.map(str::to_string),
            token,
            mechanism: MechanismChoice::Auto,
            ca_files: Vec::new(),
            extra_roots: vec![self.server.ca_der()],
            timeout: self.timeout,
            limits: Limits::default(),
            transcript: self.verbose,
            pipelining: true,
            hve: false,
            checks,
        }
    }

    fn oauth(&self, client_id: &str, flow: Flow, user: Option<&str>) -> OAuthPlan {
        let authority = Authority::resolve(
            Provider::Microsoft,
            Some(TENANT),
            Some(&self.server.idp_url()),
            &CustomUrls::default(),
        )
        .expect("the mock's authority is valid");
        let app_only = flow == Flow::ClientCredentials;
        OAuthPlan {
            authority,
            tenant: TENANT.to_string(),
            client_id: client_id.to_string(),
            flow,
            scopes: default_scopes(
                Provider::Microsoft,
                app_only,
                &[Protocol::Imap, Protocol::Pop, Protocol::Smtp],
            )
            .expect("Microsoft has default scopes"),
            credential: app_only.then(|| {
                ClientCredential::CertificatePem(Secret::new(APP_CERT_AND_KEY.as_bytes().to_vec()))
            }),
            login_hint: user.map(str::to_string),
            // The demo must not touch the user's keyring.
            cache: false,
            refresh: false,
            open_browser: false,
            user_wait: Duration::from_secs(60),
            redirect_uri: None,
            discovery: None,
            device_code_command: None,
        }
    }

    /// A delegated token by device code, approved at the mock as `user` when the code shows.
    async fn device_code_token(&self, user: &str) -> Result<(Secret<String>, TokenInfo), String> {
        let plan = self.plan(
            user,
            None,
            TokenPlan::OAuth(Box::new(self.oauth(
                DEMO_PUBLIC_CLIENT_ID,
                Flow::DeviceCode,
                Some(user),
            ))),
            Vec::new(),
        );
        let server = self.server;
        let approve = move |code: &str| {
            eprintln!("(the demo approves code {code} at the mock identity platform as {user})");
            server.approve_device_code(code, user);
        };
        match xoauth::run::obtain_token_with(&plan, Some(&approve)).await {
            Ok(Ok(o)) => Ok((o.token.access, o.info)),
            Ok(Err(f)) => Err(f.message),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn given(token: &Secret<String>) -> TokenPlan {
    TokenPlan::Given(TokenSource::Value(token.clone()))
}

fn cases(setup: &Setup<'_>, alice: &Secret<String>, bob: &Secret<String>) -> Vec<Case> {
    let server = setup.server;
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
    let app_only = TokenPlan::OAuth(Box::new(setup.oauth(
        DEMO_DAEMON_CLIENT_ID,
        Flow::ClientCredentials,
        None,
    )));
    vec![
        Case {
            title: "IMAP: the user's own mailbox (implicit TLS)",
            plan: setup.plan(ALICE, None, given(alice), vec![imap(Some("INBOX"), None)]),
            expect: vec![Expect::Pass],
        },
        Case {
            title: "IMAP: a shared mailbox the user has FullAccess to (STARTTLS)",
            plan: setup.plan(
                ALICE,
                Some(SALES),
                given(alice),
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
            plan: setup.plan(
                ALICE,
                Some("payroll@contoso.example"),
                given(alice),
                vec![imap(None, None)],
            ),
            expect: vec![Expect::Fail(FailureKind::AuthenticatedNotConnected)],
        },
        Case {
            title: "POP3: the user's maildrop (STAT only, nothing retrieved or deleted)",
            plan: setup.plan(
                ALICE,
                None,
                given(alice),
                vec![Check::Pop {
                    endpoint: endpoint(server.pop3s_addr(), Security::ImplicitTls),
                }],
            ),
            expect: vec![Expect::Pass],
        },
        Case {
            title: "SMTP: submit a test message, then find it again over IMAP by its Message-ID",
            plan: setup.plan(
                ALICE,
                None,
                given(alice),
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
            plan: setup.plan(
                BOB,
                None,
                given(bob),
                vec![Check::Smtp {
                    endpoint: smtp,
                    send: None,
                }],
            ),
            expect: vec![Expect::Fail(FailureKind::SmtpAuthDisabled)],
        },
        Case {
            title: "App-only: client credentials with a certificate, IMAP on a shared mailbox",
            plan: setup.plan(SALES, None, app_only, vec![imap(Some("INBOX"), None)]),
            expect: vec![Expect::Pass],
        },
    ]
}

pub async fn run(output: &OutputArgs) -> ExitCode {
    let started = Instant::now();
    let mut config = Config::demo();
    // Poll every second rather than Entra's five: the demo approves codes at once.
    config.idp.device_code_interval_secs = 1;
    let server = match MockServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("xoauth: error: cannot start the mock server: {e}");
            return ExitStatus::Network.into();
        }
    };
    let setup = Setup {
        server: &server,
        timeout: Duration::from_secs_f64(output.timeout.clamp(0.1, 300.0)),
        verbose: output.verbose,
    };
    let mut tokens = Vec::new();
    for user in [ALICE, BOB] {
        match setup.device_code_token(user).await {
            Ok(t) => tokens.push(t),
            Err(e) => {
                eprintln!("xoauth: error: the demo could not obtain a token for {user}: {e}");
                return ExitStatus::Token.into();
            }
        }
    }
    if !output.json {
        println!(
            "xoauth demo: an in-process mock of Exchange Online and the Microsoft identity \
             platform on loopback (tenant {TENANT})\n"
        );
        for (user, (_, info)) in [ALICE, BOB].iter().zip(&tokens) {
            println!("token for {user} {}", info.summary());
        }
        println!();
    }
    let mut results = Vec::new();
    for case in cases(&setup, &tokens[0].0, &tokens[1].0) {
        let reports = match xoauth::run::run(&case.plan).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("xoauth: error: {e}");
                return ExitStatus::Usage.into();
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
        ExitStatus::Pass.into()
    } else {
        ExitStatus::CheckFailed.into()
    }
}
