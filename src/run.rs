//! Runs a plan: the one module that knows every layer. Token → transport → driver → report,
//! in that order and no other.

use std::time::Instant;

use crate::diagnose::{self, Evidence};
use crate::plan::ImapPlan;
use crate::protocol::imap::{self, ImapFacts, ImapRequest};
use crate::protocol::transport_failure;
use crate::report::{Failure, FailureKind, Outcome, Recorder, Report, Stage, Target};
use crate::transport::tap::{Tap, Transcript};
use crate::transport::tls::{self, CaFileError};
use crate::transport::{self, Connection, Security, TlsInfo, Upgrader};

/// Why a plan could not run at all (as opposed to a check that ran and failed): exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    CaFile(#[from] CaFileError),
}

/// Runs one IMAP check. A failed check is a report, not an error.
pub async fn imap(plan: &ImapPlan) -> Result<Report, RunError> {
    let mut extra_roots = plan.extra_roots.clone();
    for path in &plan.ca_files {
        extra_roots.extend(tls::load_ca_file(path)?);
    }
    let config = tls::client_config(&extra_roots)?;
    let mut rec = Recorder::default();
    let mut facts = ImapFacts::default();
    let mut tls_info = None;
    let mut address = None;
    let transcript = Transcript::new();

    let result = async {
        let t = Instant::now();
        let token = crate::token::source::load(&plan.token).map_err(|e| {
            rec.step(Stage::Token, t, false, e.to_string());
            Failure::new(Stage::Token, FailureKind::TokenUnusable, e.to_string())
        })?;
        // The token never reaches the transcript, whatever path it takes.
        transcript.add_secret(token.expose());

        let host = &plan.endpoint.host;
        let t = Instant::now();
        let (tcp, addr) = transport::connect(host, plan.endpoint.port, plan.timeout)
            .await
            .map_err(|e| {
                rec.step(Stage::Connect, t, false, e.to_string());
                transport_failure(Stage::Connect, e)
            })?;
        rec.step(Stage::Connect, t, true, addr.to_string());
        address = Some(addr.to_string());
        transcript.note(format!("connected to {addr}"));

        let upgrader = Upgrader {
            host: host.clone(),
            config: config.clone(),
            timeout: plan.timeout,
            limits: plan.limits,
        };
        let conn = match plan.endpoint.security {
            Security::StartTls => Connection::Plain(Tap::new(tcp, transcript.clone(), plan.limits)),
            Security::ImplicitTls => {
                let t = Instant::now();
                let (tls, info) = tls::handshake(tcp, host, config.clone(), plan.timeout)
                    .await
                    .map_err(|e| {
                        rec.step(Stage::Tls, t, false, e.to_string());
                        transport_failure(Stage::Tls, e)
                    })?;
                rec.step(Stage::Tls, t, true, imap::tls_summary(&info));
                transcript.note(format!(
                    "TLS established: {} {}",
                    info.version, info.cipher_suite
                ));
                tls_info = Some(info);
                Connection::Tls(Box::new(Tap::new(tls, transcript.clone(), plan.limits)))
            }
        };
        let req = ImapRequest {
            authzid: plan.authzid(),
            token: &token,
            mechanism: plan.mechanism,
            examine: plan.examine.as_deref(),
            host,
            port: plan.endpoint.port,
            timeout: plan.timeout,
            limits: plan.limits,
        };
        imap::check(conn, &upgrader, &req, &mut rec, &mut facts).await
    }
    .await;

    let tls_info: Option<TlsInfo> = tls_info.or(facts.tls.take());
    let failure = result.err().map(|mut f| {
        if f.challenge.is_none() {
            f.challenge = facts.challenge.clone();
        }
        f.explanation = Some(diagnose::explain(&Evidence {
            kind: f.kind,
            protocol: "imap",
            user: &plan.user,
            mailbox: plan.authzid(),
            server_reply: &f.server_reply,
            challenge: f.challenge.as_ref(),
        }));
        f
    });
    let exit_code = failure.as_ref().map_or(0, |f| f.category.exit_code());
    Ok(Report {
        protocol: "imap",
        outcome: if failure.is_none() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        exit_code,
        target: Target {
            host: plan.endpoint.host.clone(),
            port: plan.endpoint.port,
            security: plan.endpoint.security,
            address,
        },
        user: plan.user.clone(),
        mailbox: plan.authzid().to_string(),
        mechanism: facts.mechanism,
        tls: tls_info,
        capabilities: facts.capabilities,
        steps: rec.steps,
        folders: facts.folders,
        examined: facts.examined,
        failure,
        warnings: facts.warnings,
        elapsed_ms: rec.started.elapsed().as_millis() as u64,
        transcript: plan.transcript.then(|| transcript.entries()),
    })
}
