//! Runs a plan: the one module that knows every layer. Token → transport → driver → report,
//! in that order and no other. The token is read once per run (standard input cannot be read
//! twice) and the checks run one after another, so a sent message can be found again.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::diagnose::{self, Evidence};
use crate::outcome::ExitStatus;
use crate::outcome::{Failure, Ids, Recorder, Stage};
use crate::plan::{Check, Plan, SendPlan};
use crate::protocol::{self, Facts, Request, tls_summary, transport_failure};
use crate::report::{Outcome, Report, Target, TokenInfo};
use crate::transport::tap::{Tap, Transcript};
use crate::transport::tls::{self, CaFileError};
use crate::transport::{self, Connection, Security, Upgrader};

pub mod audit;
pub mod legacy_graph;

/// Why a plan could not run at all (as opposed to a check that ran and failed): exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    #[error(transparent)]
    Http(#[from] crate::token::http::HttpSetupError),
}

/// The trust settings of a plan, loaded once.
pub(crate) struct Trust {
    roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    config: Arc<rustls::ClientConfig>,
}

pub(crate) fn trust(plan: &Plan) -> Result<Trust, RunError> {
    let mut roots = plan.extra_roots.clone();
    for path in &plan.ca_files {
        roots.extend(tls::load_ca_file(path)?);
    }
    let config = tls::client_config(&roots)?;
    Ok(Trust { roots, config })
}

/// A token obtained for a plan, with what the report says about it.
pub struct Obtained {
    pub token: crate::token::Token,
    pub info: TokenInfo,
    pub elapsed: Duration,
}

/// Obtains the plan's token (reading it, or running its flow with the cache). `Ok(Err(f))` is
/// a token failure to report; `Err` means the plan could not run.
pub async fn obtain_token(plan: &Plan) -> Result<Result<Obtained, Failure>, RunError> {
    obtain_token_with(plan, None).await
}

/// The same, calling `on_device_code` with a device-code flow's user code.
pub async fn obtain_token_with(
    plan: &Plan,
    on_device_code: Option<&crate::token::DeviceCodeHook<'_>>,
) -> Result<Result<Obtained, Failure>, RunError> {
    let trust = trust(plan)?;
    obtain_with(plan, &trust, on_device_code).await
}

async fn obtain_with(
    plan: &Plan,
    trust: &Trust,
    on_device_code: Option<&crate::token::DeviceCodeHook<'_>>,
) -> Result<Result<Obtained, Failure>, RunError> {
    Ok(obtain_timed(plan, trust, on_device_code, Instant::now())
        .await?
        .map_err(|(failure, _)| failure))
}

/// Obtains the token; a failure comes with the time it took, from `started` (reading standard
/// input, waiting for a sign-in), so the report does not say "0 ms" after a long wait.
pub(crate) async fn obtain_timed(
    plan: &Plan,
    trust: &Trust,
    on_device_code: Option<&crate::token::DeviceCodeHook<'_>>,
    started: Instant,
) -> Result<Result<Obtained, (Failure, Duration)>, RunError> {
    let http = crate::token::http::client(&trust.roots, plan.timeout)?;
    let ctx = crate::token::Context {
        http: &http,
        progress: std::io::stderr().is_terminal(),
        store: None,
        on_device_code,
        input_wait: plan.timeout,
    };
    Ok(match crate::token::obtain(&plan.token, &ctx).await {
        Ok(token) => Ok(Obtained {
            info: TokenInfo::describe(&token),
            token,
            elapsed: started.elapsed(),
        }),
        Err(failure) => Err((failure, started.elapsed())),
    })
}

/// `xoauth token`: obtains the token and reports it; the raw token is returned for `--print`.
pub async fn token(
    plan: &Plan,
) -> Result<
    (
        crate::report::TokenReport,
        Option<crate::secret::Secret<String>>,
    ),
    RunError,
> {
    Ok(match obtain_token(plan).await? {
        Ok(o) => (
            crate::report::TokenReport {
                outcome: Outcome::Pass,
                exit_code: ExitStatus::Pass,
                token: Some(o.info),
                failure: None,
                warnings: o.token.warnings,
                ids: Ids::new(Vec::new(), None, None),
            },
            Some(o.token.access),
        ),
        Err(mut f) => {
            let ids = Ids::new(Vec::new(), f.provider_ids.as_deref(), None);
            f.explain(diagnose::explain(&Evidence {
                kind: f.kind,
                protocol: None,
                user: plan.who(),
                mailbox: plan.authzid(),
                server_reply: &f.server_reply,
                challenge: None,
                claims: None,
                token_note: None,
                client_id: client_id(plan),
                exchange_online: false,
                hve: false,
                implicit_tls: false,
                now: crate::token::now(),
            }));
            (
                crate::report::TokenReport {
                    outcome: Outcome::Fail,
                    exit_code: f.category.exit_status(),
                    token: None,
                    failure: Some(f),
                    warnings: Vec::new(),
                    ids,
                },
                None,
            )
        }
    })
}

fn client_id(plan: &Plan) -> Option<&str> {
    match &plan.token {
        crate::plan::TokenPlan::OAuth(o) => Some(o.client_id.as_str()),
        crate::plan::TokenPlan::Given(_) => None,
    }
}

/// Runs every check of `plan`, in order. A failed check is a report, not an error.
pub async fn run(plan: &Plan) -> Result<Vec<Report>, RunError> {
    let trust = trust(plan)?;
    let started = Instant::now();
    let token = obtain_timed(plan, &trust, None, started).await?;
    let mut reports = Vec::with_capacity(plan.checks.len());
    for check in &plan.checks {
        let report = match &token {
            Ok(obtained) => {
                run_check(plan, check, plan.authzid(), obtained, trust.config.clone()).await
            }
            Err((failure, elapsed)) => {
                token_failed(plan, check, plan.authzid(), failure, started, *elapsed)
            }
        };
        reports.push(report);
    }
    Ok(reports)
}

/// The report of a check that never ran because there was no token: its time is the token's.
fn token_failed(
    plan: &Plan,
    check: &Check,
    mailbox: &str,
    failure: &Failure,
    started: Instant,
    elapsed: Duration,
) -> Report {
    let mut rec = Recorder {
        started,
        steps: Vec::new(),
        last_end: started,
        ..Recorder::default()
    };
    rec.started(Stage::Token, started);
    rec.steps.push(crate::report::Step {
        stage: Stage::Token,
        ok: false,
        elapsed_ms: elapsed.as_millis() as u64,
        detail: failure.message.clone(),
        round_trips: None,
    });
    finish(
        plan,
        check,
        mailbox,
        rec,
        Facts::default(),
        None,
        Err(failure.clone()),
        None,
    )
}

/// Who a report names for `mailbox`: the user, else (app-only) the mailbox the app opens.
fn who<'a>(plan: &'a Plan, mailbox: &'a str) -> &'a str {
    plan.user.as_deref().unwrap_or(mailbox)
}

/// One check of `mailbox` (the `user=` of XOAUTH2: the plan's own, or an audit's cell).
async fn run_check(
    plan: &Plan,
    check: &Check,
    mailbox: &str,
    obtained: &Obtained,
    config: Arc<rustls::ClientConfig>,
) -> Report {
    let token = &obtained.token.access;
    let mut rec = Recorder::default();
    let preflight = obtained
        .info
        .claims
        .as_ref()
        .map(|c| {
            // No --user (an app-only run): there is no user to hold the token against.
            let user = plan.user.as_deref().unwrap_or_default();
            let now = crate::token::now();
            if plan.hve || check.endpoint().is_hve() {
                diagnose::preflight_hve(c, user, mailbox, now)
            } else {
                diagnose::preflight(check.protocol(), c, user, mailbox, now)
            }
        })
        .unwrap_or_default();
    let mut facts = Facts {
        token: Some(obtained.info.clone()),
        warnings: obtained.token.warnings.clone(),
        preflight,
        ..Facts::default()
    };
    if !matches!(plan.token, crate::plan::TokenPlan::Given(_)) {
        let began = Instant::now()
            .checked_sub(obtained.elapsed)
            .unwrap_or_else(Instant::now);
        rec.started(Stage::Token, began);
        rec.steps.push(crate::report::Step {
            stage: Stage::Token,
            ok: true,
            elapsed_ms: obtained.elapsed.as_millis() as u64,
            detail: obtained.info.summary(),
            round_trips: None,
        });
    }
    let mut address: Option<SocketAddr> = None;
    let transcript = Transcript::new();
    // The token never reaches the transcript, whatever path it takes.
    transcript.add_secret(token.expose());
    let endpoint = check.endpoint();

    let checked = async {
        let t = Instant::now();
        let round_trips = crate::outcome::RoundTrips::default();
        rec.round_trips = Some(round_trips.clone());
        let (tcp, addr) = transport::connect(&endpoint.host, endpoint.port, plan.timeout)
            .await
            .map_err(|e| {
                rec.step(Stage::Connect, t, false, e.to_string());
                transport_failure(Stage::Connect, e)
            })?;
        // Everything from here on, TLS included, goes through the counting stream.
        let tcp = transport::Tcp::connected(tcp, round_trips);
        rec.step(Stage::Connect, t, true, addr.to_string());
        address = Some(addr);
        transcript.note(format!("connected to {addr}"));
        let local = tcp.get_ref().local_addr().ok();

        let upgrader = Upgrader {
            host: endpoint.host.clone(),
            config: config.clone(),
            timeout: plan.timeout,
            limits: plan.limits,
            refused: Default::default(),
        };
        let conn = match endpoint.security {
            Security::StartTls => {
                let t = Instant::now();
                let host = &endpoint.host;
                transport::greeting::await_plaintext(
                    tcp.get_ref(),
                    addr,
                    host,
                    &config,
                    plan.timeout,
                    &transcript,
                )
                .await
                .map_err(|e| {
                    rec.step(Stage::Greeting, t, false, e.to_string());
                    transport_failure(Stage::Greeting, e)
                })?;
                Connection::Plain(Tap::new(tcp, transcript.clone(), plan.limits))
            }
            Security::ImplicitTls => {
                let t = Instant::now();
                let (tls, info) = tls::handshake(tcp, &endpoint.host, config.clone(), plan.timeout)
                    .await
                    .map_err(|e| {
                        rec.step(Stage::Tls, t, false, e.to_string());
                        facts.tls = e.presented_tls().cloned();
                        transport_failure(Stage::Tls, e)
                    })?;
                rec.step(Stage::Tls, t, true, tls_summary(&info));
                transcript.note(format!(
                    "TLS established: {} {}",
                    info.version, info.cipher_suite
                ));
                facts.tls = Some(info);
                Connection::Tls(Box::new(Tap::new(tls, transcript.clone(), plan.limits)))
            }
        };
        let req = Request {
            authzid: mailbox,
            token,
            mechanism: plan.mechanism,
            host: &endpoint.host,
            port: endpoint.port,
            timeout: plan.timeout,
            limits: plan.limits,
            pipelining: plan.pipelining,
        };
        let result = match check {
            Check::Imap { options, .. } => {
                survive(protocol::imap::check(
                    conn, &upgrader, &req, options, &mut rec, &mut facts,
                ))
                .await
            }
            Check::Pop { .. } => {
                survive(protocol::pop3::check(
                    conn, &upgrader, &req, &mut rec, &mut facts,
                ))
                .await
            }
            Check::Smtp { send, .. } => {
                let client = protocol::smtp::Client {
                    ehlo_name: protocol::smtp::ehlo_name(local),
                    send: send.as_ref(),
                };
                survive(protocol::smtp::check(
                    conn, &upgrader, &req, &client, &mut rec, &mut facts,
                ))
                .await
            }
        }
        .unwrap_or_else(|panic| Err(parser_failed(&rec, &transcript, &panic)));
        protocol::record::close(&mut rec, &result);
        if facts.tls.is_none() {
            facts.tls = upgrader.take_refused();
        }
        result
    };
    let deadline = plan.limits.deadline;
    let result = match tokio::time::timeout(deadline, checked).await {
        Ok(result) => result,
        Err(_) => Err(past_deadline(&rec, &transcript, deadline)),
    };
    finish(
        plan,
        check,
        mailbox,
        rec,
        facts,
        address,
        result,
        Some(&transcript),
    )
}

/// Runs a driver so that a panic in a library parsing the server's bytes (imap-proto panics on
/// some malformed status lines; fuzzing found it) ends this check, not the process: the
/// panic's message is returned instead. The driver owns nothing shared that a panic could
/// leave half-changed except the check's own records, which are reported as they stand.
async fn survive<F>(driver: F) -> Result<Result<(), Failure>, String>
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(driver)
        .catch_unwind()
        .await
        .map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string())
        })
}

/// The failure of a check whose driver panicked on the server's reply: a protocol error with
/// the reply it was reading, never a crash.
fn parser_failed(rec: &Recorder, transcript: &Transcript, panic: &str) -> Failure {
    let last = rec.steps.last().map(|s| s.stage);
    let waiting = transcript
        .last_client_line()
        .map(|line| format!(", in the reply to \"{line}\""))
        .unwrap_or_default();
    Failure::new(
        last.unwrap_or(Stage::Greeting),
        crate::outcome::FailureKind::ProtocolError,
        format!(
            "the server's reply could not be read{waiting}: the parser failed on it ({}); a \
             standards-following server never sends this",
            crate::transport::util::escape_text(panic)
        ),
    )
    .with_reply(transcript.last_reply())
}

/// The failure of a check stopped by its overall deadline: where it was and how far the
/// server got, since each stage on its own stayed within `--timeout`.
fn past_deadline(rec: &Recorder, transcript: &Transcript, deadline: Duration) -> Failure {
    let last = rec.steps.last().map(|s| s.stage);
    let at = match (last, transcript.last_client_line()) {
        (Some(stage), Some(line)) => {
            format!(
                "after the {} step, waiting on the reply to \"{line}\"",
                stage.name()
            )
        }
        (Some(stage), None) => format!("after the {} step", stage.name()),
        (None, _) => "before the first step completed".to_string(),
    };
    let message = format!(
        "the check did not finish within its overall deadline of {}s (--deadline): stopped \
         {at}, with {} bytes received from the server",
        deadline.as_secs_f32(),
        transcript.received()
    );
    Failure::new(
        last.unwrap_or(Stage::Connect),
        crate::outcome::FailureKind::Timeout,
        message,
    )
    .with_reply(transcript.last_reply())
}

/// Exchange names itself in its IMAP/POP greetings and SMTP banner, whatever the host name
/// (an on-premises server, a mock, a proxy).
fn speaks_like_exchange(transcript: &Transcript) -> bool {
    transcript.entries().iter().take(8).any(|e| {
        e.direction == crate::transport::tap::Direction::Server
            && (e.text.contains("Microsoft Exchange") || e.text.contains("Microsoft ESMTP"))
    })
}

/// Turns what a check gathered into its report, with the failure explained.
#[allow(clippy::too_many_arguments)]
fn finish(
    plan: &Plan,
    check: &Check,
    mailbox: &str,
    rec: Recorder,
    mut facts: Facts,
    address: Option<SocketAddr>,
    result: Result<(), Failure>,
    transcript: Option<&Transcript>,
) -> Report {
    let endpoint = check.endpoint();
    let protocol = check.protocol();
    if protocol == crate::plan::Protocol::Smtp
        && endpoint.security == Security::ImplicitTls
        && endpoint.is_exchange_online()
    {
        facts
            .warnings
            .push(diagnose::exchange_smtp_not_on_465_warning());
    }
    if let Check::Smtp {
        send: Some(SendPlan {
            not_searched: Some(note),
            ..
        }),
        ..
    } = check
    {
        facts.warnings.push(note.clone());
    }
    if let Check::Smtp {
        send: Some(send), ..
    } = check
        && (plan.hve || endpoint.is_hve())
    {
        facts
            .warnings
            .extend(diagnose::hve_external_recipients(&send.from, &send.to));
    }
    let failure = result.err().map(|mut f| {
        if f.challenge.is_none() {
            f.challenge = facts.challenge.clone();
        }
        f.explain(diagnose::explain(&Evidence {
            kind: f.kind,
            protocol: Some(protocol),
            user: who(plan, mailbox),
            mailbox,
            server_reply: &f.server_reply,
            challenge: f.challenge.as_deref(),
            claims: facts.token.as_ref().and_then(|t| t.claims.as_ref()),
            token_note: facts.token.as_ref().and_then(|t| t.claims_note.as_deref()),
            client_id: client_id(plan),
            exchange_online: endpoint.is_exchange_online()
                || transcript.is_some_and(speaks_like_exchange),
            hve: plan.hve || endpoint.is_hve(),
            implicit_tls: endpoint.security == Security::ImplicitTls,
            now: crate::token::now(),
        }));
        // A refused certificate is explained with the certificate itself and the CA files.
        if let (Some(ex), Some(better)) = (
            f.explanation.as_mut(),
            diagnose::tls::certificate(
                f.kind,
                facts.tls.as_ref(),
                &endpoint.host,
                &plan.ca_files,
                crate::token::now(),
            ),
        ) {
            ex.cause = better.cause;
            ex.fix = better.fix;
        }
        f
    });
    let exit_code = failure
        .as_ref()
        .map_or(ExitStatus::Pass, |f| f.category.exit_status());
    // The server that refused names itself in its refusal; else its greeting does.
    let server_lines = transcript.map(Transcript::entries).unwrap_or_default();
    let server_name = protocol::server_name::first(
        failure
            .iter()
            .flat_map(|f| f.server_reply.iter().map(String::as_str))
            .chain(
                server_lines
                    .iter()
                    .filter(|e| e.direction == crate::transport::tap::Direction::Server)
                    .map(|e| e.text.as_str()),
            ),
    );
    let ids = Ids::new(
        rec.starts,
        failure.as_ref().and_then(|f| f.provider_ids.as_deref()),
        server_name,
    );
    Report {
        protocol,
        outcome: if failure.is_none() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        exit_code,
        target: Target {
            host: endpoint.host.clone(),
            port: endpoint.port,
            security: endpoint.security,
            address: address.map(|a| a.to_string()),
        },
        user: who(plan, mailbox).to_string(),
        mailbox: mailbox.to_string(),
        mechanism: facts.mechanism,
        token: facts.token,
        preflight: facts.preflight,
        tls: facts.tls,
        capabilities: facts.capabilities,
        steps: rec.steps,
        folders: facts.folders,
        examined: facts.examined,
        found: facts.found,
        stat: facts.stat,
        submission: facts.submission,
        failure,
        warnings: facts.warnings,
        elapsed_ms: rec.started.elapsed().as_millis() as u64,
        ids,
        transcript: transcript
            .filter(|_| plan.transcript)
            .map(Transcript::entries),
    }
}
