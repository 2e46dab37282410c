//! The POP3 check (RFC 1939, RFC 2449 CAPA, RFC 5034 SASL, RFC 2595 STLS): prove that a token
//! opens a maildrop and read its size, changing nothing — no RETR, no DELE, ever.
//!
//! ```text
//! S: +OK The Microsoft Exchange POP3 service is ready. [...]
//! (C: CAPA  S: +OK ... STLS ... .   C: STLS  S: +OK  <TLS>)
//! C: CAPA                S: +OK  TOP  UIDL  SASL PLAIN XOAUTH2  USER  .
//! C: AUTH XOAUTH2        S: +            C: <base64 initial response>
//! S: +OK User successfully authenticated.
//!    | -ERR Authentication failure: unknown user name or bad password.    (Exchange)
//!    | + <base64 JSON>   C: "" / AQ==     S: -ERR ...                      (Gmail, Dovecot)
//! C: STAT                S: +OK 3 4521
//! C: QUIT                S: +OK Microsoft Exchange Server POP3 server signing off.
//! ```
//! The initial response always goes on its own line: Exchange refuses it on the AUTH line, and
//! every server accepts the two-step form. This is the sequential check (`--no-pipelining`);
//! by default [`direct`] leaves out CAPA and the wait for QUIT's reply (issue 13).

pub mod direct;
pub mod response;

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncRead, AsyncWrite};

use self::response::{Capa, Status, parse_stat, parse_status, unstuff};
use super::record::record;
use super::wrong_port::wrong_protocol;
use super::{
    Facts, Request, initial_response, pick_mechanism, refusal, tls_summary, transport_failure,
};
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::protocol::Stat;
use crate::sasl::{self, Mechanism};
use crate::secret::Secret;
use crate::service::Protocol;
use crate::transport::lines::LineConn;
use crate::transport::tap::Tap;
use crate::transport::util::escape;
use crate::transport::{Connection, TlsConn, Upgrader};

pub async fn check(
    conn: Connection,
    upgrader: &Upgrader,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let mut lines = match conn {
        Connection::Tls(tap) => {
            let mut lines = LineConn::new(*tap, req.limits, req.timeout);
            greeting(&mut lines, rec).await?;
            lines
        }
        Connection::Plain(tap) => stls(tap, upgrader, req, rec, facts).await?,
    };
    if req.pipelining {
        direct::authenticate(&mut lines, req, rec, facts).await?;
        stat(&mut lines, rec, facts).await?;
        direct::quit(&mut lines, rec, facts).await;
        return Ok(());
    }
    let capa = capa(&mut lines, rec, Instant::now(), None).await?;
    facts.capabilities = capa.0.clone();
    let mechanism = pick_mechanism(req.mechanism, &capa.sasl_mechanisms(), Stage::Capability)?;
    facts.mechanism = Some(mechanism);
    authenticate(&mut lines, mechanism, req, rec, facts).await?;
    stat(&mut lines, rec, facts).await?;
    quit(&mut lines, rec, facts).await;
    Ok(())
}

async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    rec: &mut Recorder,
) -> Result<(), Failure> {
    let t = Instant::now();
    let line = lines
        .read_line("greeting")
        .await
        .map_err(|e| transport_failure(Stage::Greeting, e))?;
    let shown = escape(line.as_bytes());
    match parse_status(&line) {
        Some(Status::Ok(_)) => {
            rec.step(Stage::Greeting, t, true, shown);
            Ok(())
        }
        Some(Status::Err(_)) => {
            rec.step(Stage::Greeting, t, false, shown.clone());
            Err(Failure::new(
                Stage::Greeting,
                FailureKind::GreetingRejected,
                "the server refused the connection",
            )
            .with_reply(vec![shown]))
        }
        _ => {
            rec.step(Stage::Greeting, t, false, shown.clone());
            if let Some(f) = wrong_protocol(Protocol::Pop, &line, vec![shown.clone()]) {
                return Err(f);
            }
            Err(protocol_error(
                Stage::Greeting,
                "the server's greeting is not a POP3 greeting (+OK ...)",
                vec![shown],
            ))
        }
    }
}

fn protocol_error(stage: Stage, message: &str, reply: Vec<String>) -> Failure {
    Failure::new(stage, FailureKind::ProtocolError, message).with_reply(reply)
}

/// `CAPA`: the capability list, or an empty one when the server has no CAPA. The step runs
/// from `t`; `why`, when CAPA only explains a refusal, is added to its detail.
async fn capa<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    rec: &mut Recorder,
    t: Instant,
    why: Option<&str>,
) -> Result<Capa, Failure> {
    let fail = |e| transport_failure(Stage::Capability, e);
    lines.write_line("capa", "CAPA").await.map_err(fail)?;
    let first = lines.read_line("capa").await.map_err(fail)?;
    match parse_status(&first) {
        Some(Status::Ok(_)) => {}
        Some(Status::Err(_)) => {
            rec.step(Stage::Capability, t, false, "CAPA not supported");
            return Ok(Capa::default());
        }
        _ => {
            rec.step(Stage::Capability, t, false, "not a CAPA reply");
            return Err(protocol_error(
                Stage::Capability,
                "the server's reply to CAPA is not +OK or -ERR",
                vec![escape(first.as_bytes())],
            ));
        }
    }
    let mut body = lines.read_reply("capa", |l| l == ".").await.map_err(fail)?;
    body.pop();
    let capa = Capa(body.iter().map(|l| unstuff(l).to_string()).collect());
    let detail = capa.0.join(" | ");
    let detail = match why {
        Some(why) => format!("{detail} ({why})"),
        None => detail,
    };
    rec.step(Stage::Capability, t, true, detail);
    Ok(capa)
}

/// Plaintext greeting, STLS, handshake. Sequential: CAPA first, and STLS only when advertised
/// (CAPA is read again over TLS by the caller). Pipelining: STLS straight away, and CAPA only
/// to tell a refusal of STLS from its absence, which are diagnosed as the sequential check
/// diagnoses them. Either way nothing is ever authenticated over plaintext.
async fn stls(
    tap: Tap<crate::transport::Tcp>,
    upgrader: &Upgrader,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<LineConn<TlsConn>, Failure> {
    let mut lines = LineConn::new(tap, req.limits, req.timeout);
    greeting(&mut lines, rec).await?;
    if !req.pipelining {
        let plain = capa(&mut lines, rec, Instant::now(), None).await?;
        if !plain.has("STLS") {
            return Err(stls_not_offered(rec, Instant::now(), plain));
        }
    }
    let mut t = Instant::now();
    let fail = |e| transport_failure(Stage::Starttls, e);
    lines.write_line("stls", "STLS").await.map_err(fail)?;
    let line = lines.read_line("stls").await.map_err(fail)?;
    if !matches!(parse_status(&line), Some(Status::Ok(_))) {
        if req.pipelining {
            let why = format!(
                "asked because STLS was refused: {}",
                escape(line.as_bytes())
            );
            // The STLS exchange is timed in the capability step that explains it.
            match capa(&mut lines, rec, t, Some(&why)).await {
                Ok(plain) if !plain.has("STLS") => {
                    return Err(stls_not_offered(rec, rec.last_end, plain));
                }
                Ok(_) => t = rec.last_end,
                // A server that hangs up after refusing STLS has said all it will.
                Err(f) if hung_up(&f) => {}
                Err(f) => return Err(f),
            }
        }
        rec.step(Stage::Starttls, t, false, "refused");
        return Err(Failure::new(
            Stage::Starttls,
            FailureKind::StarttlsRefused,
            "the server refused STLS",
        )
        .with_reply(vec![escape(line.as_bytes())]));
    }
    let tap = lines.into_inner().map_err(fail)?;
    let (tls, info) = upgrader.upgrade(tap).await.map_err(fail)?;
    rec.step(Stage::Starttls, t, true, tls_summary(&info));
    facts.tls = Some(info);
    Ok(LineConn::new(tls, req.limits, req.timeout))
}

fn stls_not_offered(rec: &mut Recorder, t: Instant, plain: Capa) -> Failure {
    rec.step(Stage::Starttls, t, false, "STLS not advertised");
    Failure::new(
        Stage::Starttls,
        FailureKind::StarttlsNotOffered,
        "the server does not advertise STLS; not authenticating over plaintext",
    )
    .with_reply(plain.0)
}

/// The server closed the connection (or reset it) instead of answering.
fn hung_up(f: &Failure) -> bool {
    matches!(
        f.kind,
        FailureKind::ConnectionClosed | FailureKind::ConnectFailed
    )
}

async fn authenticate(
    lines: &mut LineConn<TlsConn>,
    mechanism: Mechanism,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    let (_, ir) = initial_response(req, mechanism, lines.get_ref().transcript())?;
    let result = async {
        match open(lines, mechanism).await? {
            Opening::Accepted => respond(lines, mechanism, &ir).await,
            Opening::Refused(line) => Err(rejected(vec![line], None)),
        }
    }
    .await;
    record_auth(rec, facts, t, mechanism, req, result)
}

/// The server's first answer to `AUTH <mechanism>`, before any response is sent.
enum Opening {
    /// `+`: the mechanism is accepted and the response may follow.
    Accepted,
    /// `-ERR` to the AUTH line itself.
    Refused(String),
}

async fn open(lines: &mut LineConn<TlsConn>, mechanism: Mechanism) -> Result<Opening, Failure> {
    let fail = |e| transport_failure(Stage::Auth, e);
    lines
        .write_line("auth", &format!("AUTH {}", mechanism.name()))
        .await
        .map_err(fail)?;
    let first = lines.read_line("auth").await.map_err(fail)?;
    match parse_status(&first) {
        Some(Status::Continue(_)) => Ok(Opening::Accepted),
        Some(Status::Err(_)) => Ok(Opening::Refused(first)),
        _ => Err(protocol_error(
            Stage::Auth,
            "the server did not answer AUTH with a continuation (+)",
            vec![escape(first.as_bytes())],
        )),
    }
}

/// The SASL response on its own line, and an error challenge acknowledged as the mechanism
/// requires.
async fn respond(
    lines: &mut LineConn<TlsConn>,
    mechanism: Mechanism,
    ir: &Secret<String>,
) -> Result<(), Failure> {
    let fail = |e| transport_failure(Stage::Auth, e);
    lines.write_line("auth", ir.expose()).await.map_err(fail)?;
    let reply = lines.read_line("auth").await.map_err(fail)?;
    match parse_status(&reply) {
        Some(Status::Ok(_)) => Ok(()),
        Some(Status::Err(_)) => Err(rejected(vec![reply], None)),
        Some(Status::Continue(challenge)) => {
            let challenge = sasl::decode_error_challenge(&challenge);
            let ack = B64.encode(mechanism.error_acknowledgement());
            lines.write_line("auth", &ack).await.map_err(fail)?;
            let last = lines.read_line("auth").await.map_err(fail)?;
            match parse_status(&last) {
                Some(Status::Ok(_)) => Ok(()),
                _ => Err(rejected(vec![reply, last], Some(challenge))),
            }
        }
        None => Err(protocol_error(
            Stage::Auth,
            "the server's reply to the SASL response is not +OK, -ERR or +",
            vec![escape(reply.as_bytes())],
        )),
    }
}

/// Records the auth step begun at `t` and keeps a decoded error challenge for the report.
fn record_auth(
    rec: &mut Recorder,
    facts: &mut Facts,
    t: Instant,
    mechanism: Mechanism,
    req: &Request<'_>,
    result: Result<(), Failure>,
) -> Result<(), Failure> {
    if let Err(f) = &result {
        facts.challenge = f.challenge.clone();
    }
    record(rec, Stage::Auth, t, result, |()| {
        format!("{} (two-step) as {}", mechanism.name(), req.authzid)
    })
}

fn rejected(reply: Vec<String>, challenge: Option<sasl::ErrorChallenge>) -> Failure {
    let reply: Vec<String> = reply.iter().map(|l| escape(l.as_bytes())).collect();
    let (kind, headline) = refusal(
        FailureKind::AuthRejected,
        "the server rejected the token",
        &reply.join(" "),
    );
    let mut f = Failure::new(Stage::Auth, kind, headline).with_reply(reply);
    f.challenge = challenge.map(Box::new);
    f
}

async fn stat(
    lines: &mut LineConn<TlsConn>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    let fail = |e| transport_failure(Stage::Stat, e);
    lines.write_line("stat", "STAT").await.map_err(fail)?;
    let line = lines.read_line("stat").await.map_err(fail)?;
    let shown = escape(line.as_bytes());
    let outcome = match parse_status(&line) {
        Some(Status::Ok(text)) => match parse_stat(&text) {
            Some((messages, octets)) => Ok(Stat { messages, octets }),
            None => Err(protocol_error(
                Stage::Stat,
                "STAT's reply has no counts",
                vec![shown],
            )),
        },
        Some(Status::Err(text)) => {
            let (kind, headline) = refusal(
                FailureKind::StatFailed,
                "the server refused STAT after authentication",
                &text,
            );
            Err(Failure::new(Stage::Stat, kind, headline).with_reply(vec![shown]))
        }
        _ => Err(protocol_error(
            Stage::Stat,
            "STAT's reply is not +OK or -ERR",
            vec![shown],
        )),
    };
    let s = record(rec, Stage::Stat, t, outcome, |s| {
        format!("{} messages, {} octets", s.messages, s.octets)
    })?;
    facts.stat = Some(s);
    Ok(())
}

async fn quit(lines: &mut LineConn<TlsConn>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    let result = async {
        lines.write_line("quit", "QUIT").await?;
        lines.read_line("quit").await
    }
    .await;
    match result {
        Ok(line) if matches!(parse_status(&line), Some(Status::Ok(_))) => {
            rec.step(Stage::Quit, t, true, "")
        }
        Ok(line) => {
            rec.step(Stage::Quit, t, false, escape(line.as_bytes()));
            facts
                .warnings
                .push("QUIT was not acknowledged with +OK".into());
        }
        Err(e) => {
            rec.step(Stage::Quit, t, false, e.to_string());
            facts.warnings.push(format!("QUIT did not complete: {e}"));
        }
    }
}
