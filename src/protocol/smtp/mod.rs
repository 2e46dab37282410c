//! The SMTP submission check (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 7628): prove that
//! a token may submit mail, and optionally submit one test message.
//!
//! ```text
//! S: 220 BL1P221CA0016.outlook.office365.com Microsoft ESMTP MAIL Service ready at ...
//! C: EHLO [192.0.2.7]       S: 250-... 250-STARTTLS ... 250 SMTPUTF8
//! C: STARTTLS               S: 220 2.0.0 SMTP server ready      <TLS>
//! C: EHLO [192.0.2.7]       S: 250-... 250-AUTH LOGIN XOAUTH2 ...   (pre-TLS list forgotten)
//! C: AUTH XOAUTH2 <ir>      S: 235 2.7.0 Authentication successful
//!                           S: 535 5.7.3 Authentication unsuccessful [...]      (Exchange)
//!                           S: 334 <base64 JSON>  C: ""  S: 535-5.7.8 ...       (Gmail)
//! (C: MAIL FROM:<a>  RCPT TO:<b>  DATA  <message>  .   S: 250 2.0.0 OK <queue id>)
//! C: QUIT                   (S: 221 2.0.0 Service closing transmission channel)
//! ```
//! The `334 <base64 JSON>` error challenge is decoded, acknowledged and reported, which a
//! client that only looks at the final code loses.
//!
//! Round trips (with pipelining, the default): the initial response rides on the AUTH line
//! (a long one only to servers known to take it, see [`response::takes_long_auth_lines`]);
//! under `PIPELINING` (RFC 2920) MAIL FROM, RCPT TO and DATA go as one group; QUIT is sent
//! and the connection closed without waiting for the `221`. `--no-pipelining` keeps every
//! command waiting for its reply, QUIT's included.

pub mod envelope;
pub mod message;
pub mod response;

use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use self::envelope::{OpenData, Verdict};
use self::response::{Extensions, Reply};
use super::record::{record, record_failure};
use super::wrong_port::wrong_protocol;
use super::{
    Facts, Request, initial_response, pick_mechanism, refusal, tls_summary, transport_failure,
};
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::plan::SendPlan;
use crate::protocol::Submission;
use crate::sasl::{self, Mechanism};
use crate::service::Protocol;
use crate::transport::lines::LineConn;
use crate::transport::tap::Tap;
use crate::transport::{Connection, TlsConn, TransportError, Upgrader};

/// The longest AUTH command line (CRLF included) sent with its initial response.
const MAX_ONE_LINE_AUTH: usize = 512;

/// The same to a server known to take long AUTH lines (RFC 4954's 12288 octets).
const MAX_LONG_AUTH_LINE: usize = 12288;

/// More `334` rounds than this in one AUTH is a looping server.
const MAX_SASL_ROUNDS: usize = 3;

/// What the client says about itself and what it sends.
pub struct Client<'a> {
    pub ehlo_name: String,
    pub send: Option<&'a SendPlan>,
}

/// An EHLO name for this end of the connection: the address literal of the local socket
/// (RFC 5321 §4.1.4 allows it when there is no meaningful host name), which needs no lookup.
pub fn ehlo_name(local: Option<SocketAddr>) -> String {
    match local {
        Some(SocketAddr::V4(a)) => format!("[{}]", a.ip()),
        Some(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
        None => "localhost".to_string(),
    }
}

pub async fn check(
    conn: Connection,
    upgrader: &Upgrader,
    req: &Request<'_>,
    client: &Client<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let (mut lines, ext, greeting) = match conn {
        Connection::Tls(tap) => {
            let mut lines = LineConn::new(*tap, req.limits, req.timeout);
            let greeting = banner(&mut lines, rec).await?;
            let ext = ehlo(&mut lines, &client.ehlo_name, rec).await?;
            (lines, ext, greeting)
        }
        Connection::Plain(tap) => starttls(tap, upgrader, req, client, rec, facts).await?,
    };
    facts.capabilities = ext.0.clone();
    let mechanism = pick_mechanism(req.mechanism, &ext.auth_mechanisms(), Stage::Capability)?;
    facts.mechanism = Some(mechanism);
    // The banner only sizes the AUTH line: one forged before STARTTLS could at most get a
    // long line refused, which is reported like any refusal.
    let max_auth_line = if req.pipelining && response::takes_long_auth_lines(&greeting) {
        MAX_LONG_AUTH_LINE
    } else {
        MAX_ONE_LINE_AUTH
    };
    authenticate(&mut lines, mechanism, max_auth_line, req, rec, facts).await?;
    if let Some(send) = client.send {
        let grouped = req.pipelining && ext.has("PIPELINING");
        if let Err(refused) = submit(&mut lines, send, grouped, rec, facts).await {
            if refused.close {
                close(lines, req.timeout).await;
            }
            return Err(refused.failure);
        }
    }
    if req.pipelining {
        quit_unwaited(lines, req.timeout, rec, facts).await;
    } else {
        quit(&mut lines, rec, facts).await;
    }
    Ok(())
}

/// Reads one complete reply.
async fn read_reply<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    stage: Stage,
) -> Result<Reply, Failure> {
    let raw = lines
        .read_reply(stage.name(), |l| {
            response::parse_line(l).map(|p| p.last).unwrap_or(true)
        })
        .await
        .map_err(|e| transport_failure(stage, e))?;
    Reply::from_lines(&raw).map_err(|e| {
        Failure::new(
            stage,
            FailureKind::ProtocolError,
            format!("the server's reply is not SMTP: {e}"),
        )
        .with_reply(escape_all(&raw))
    })
}

fn escape_all(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| crate::transport::util::escape(l.as_bytes()))
        .collect()
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    stage: Stage,
    line: &str,
) -> Result<Reply, Failure> {
    lines
        .write_line(stage.name(), line)
        .await
        .map_err(|e| transport_failure(stage, e))?;
    read_reply(lines, stage).await
}

fn unexpected(stage: Stage, kind: FailureKind, message: &str, reply: &Reply) -> Failure {
    let wire = escape_all(&reply.wire());
    let (kind, headline) = refusal(kind, message, &reply.text());
    Failure::new(stage, kind, headline).with_reply(wire)
}

async fn banner<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    rec: &mut Recorder,
) -> Result<Reply, Failure> {
    let t = Instant::now();
    let reply = read_reply(lines, Stage::Greeting).await.map_err(|f| {
        // A reply that is not SMTP may be another service's greeting.
        let first = f
            .server_reply
            .first()
            .filter(|_| f.kind == FailureKind::ProtocolError);
        first
            .and_then(|l| wrong_protocol(Protocol::Smtp, l, f.server_reply.clone()))
            .unwrap_or(f)
    });
    let reply = record_failure(rec, Stage::Greeting, t, reply)?;
    let shown = escape_all(&reply.wire()).join(" ");
    if reply.code == 220 {
        rec.step(Stage::Greeting, t, true, shown);
        Ok(reply)
    } else {
        rec.step(Stage::Greeting, t, false, shown);
        Err(unexpected(
            Stage::Greeting,
            FailureKind::GreetingRejected,
            "the server refused the connection",
            &reply,
        ))
    }
}

async fn ehlo<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineConn<S>,
    name: &str,
    rec: &mut Recorder,
) -> Result<Extensions, Failure> {
    let t = Instant::now();
    let reply = command(lines, Stage::Capability, &format!("EHLO {name}")).await;
    let reply = record_failure(rec, Stage::Capability, t, reply)?;
    if reply.code != 250 {
        rec.step(Stage::Capability, t, false, reply.text());
        return Err(unexpected(
            Stage::Capability,
            FailureKind::ProtocolError,
            "the server refused EHLO, so it cannot offer AUTH",
            &reply,
        ));
    }
    let ext = Extensions::from_ehlo(&reply);
    rec.step(
        Stage::Capability,
        t,
        true,
        format!("EHLO: {}", ext.0.join(" | ")),
    );
    Ok(ext)
}

/// Banner and EHLO in plaintext, STARTTLS, handshake, EHLO again (RFC 3207 §4.2: the pre-TLS
/// list is forgotten).
async fn starttls(
    tap: Tap<crate::transport::Tcp>,
    upgrader: &Upgrader,
    req: &Request<'_>,
    client: &Client<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(LineConn<TlsConn>, Extensions, Reply), Failure> {
    let mut lines = LineConn::new(tap, req.limits, req.timeout);
    let greeting = banner(&mut lines, rec).await?;
    let plain = ehlo(&mut lines, &client.ehlo_name, rec).await?;
    let t = Instant::now();
    if !plain.has("STARTTLS") {
        rec.step(Stage::Starttls, t, false, "STARTTLS not advertised");
        return Err(Failure::new(
            Stage::Starttls,
            FailureKind::StarttlsNotOffered,
            "the server does not advertise STARTTLS; not authenticating over plaintext",
        )
        .with_reply(plain.0));
    }
    let reply = command(&mut lines, Stage::Starttls, "STARTTLS").await?;
    if reply.code != 220 {
        rec.step(Stage::Starttls, t, false, "refused");
        return Err(unexpected(
            Stage::Starttls,
            FailureKind::StarttlsRefused,
            "the server refused STARTTLS",
            &reply,
        ));
    }
    let fail = |e| transport_failure(Stage::Starttls, e);
    let tap = lines.into_inner().map_err(fail)?;
    let (tls, info) = upgrader.upgrade(tap).await.map_err(fail)?;
    rec.step(Stage::Starttls, t, true, tls_summary(&info));
    facts.tls = Some(info);
    let mut lines = LineConn::new(tls, req.limits, req.timeout);
    let ext = ehlo(&mut lines, &client.ehlo_name, rec).await?;
    Ok((lines, ext, greeting))
}

async fn authenticate(
    lines: &mut LineConn<TlsConn>,
    mechanism: Mechanism,
    max_line: usize,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    let (_, ir) = initial_response(req, mechanism, lines.get_ref().transcript())?;

    // RFC 4954 lets the AUTH line reach 12288 octets, but servers cap it lower (Dovecot at
    // 1 KiB: "500 5.5.2 Line too long"), and real tokens make 2-3 KiB responses. Within
    // `max_line` (the 512 octets every SMTP server takes, RFC 5321 §4.5.3.1.4, or more for a
    // server known to take more) the response rides on the AUTH line, saving a round trip;
    // otherwise it follows a bare 334 (Microsoft's documented form).
    let one_line = format!("AUTH {} {}", mechanism.name(), ir.expose());
    let mut ir_sent = one_line.len() + 2 <= max_line;
    let first = if ir_sent {
        one_line
    } else {
        format!("AUTH {}", mechanism.name())
    };
    let mut challenge = None;
    let mut reply = command(lines, Stage::Auth, &first).await;
    let mut seen = Vec::new();
    for _ in 0..MAX_SASL_ROUNDS {
        let Ok(r) = &reply else { break };
        if r.code != 334 {
            break;
        }
        let text = r.lines.first().map(String::as_str).unwrap_or("");
        if !text.trim().is_empty() {
            seen.extend(r.wire());
        }
        // A bare 334 asks for the initial response; anything else (or a second bare 334) is
        // an error challenge to acknowledge.
        let answer = if text.trim().is_empty() && !ir_sent {
            ir_sent = true;
            ir.expose().clone()
        } else {
            challenge = Some(sasl::decode_error_challenge(text));
            B64.encode(mechanism.error_acknowledgement())
        };
        reply = command(lines, Stage::Auth, &answer).await;
    }
    facts.challenge = challenge.clone().map(Box::new);
    let result = reply.and_then(|r| {
        if r.code == 235 {
            return Ok(());
        }
        let mut wire = escape_all(&seen);
        wire.extend(escape_all(&r.wire()));
        let (kind, message) = classify_auth_failure(&r);
        let (kind, message) = refusal(kind, message, &r.text());
        let mut f = Failure::new(Stage::Auth, kind, message).with_reply(wire);
        f.challenge = challenge.clone().map(Box::new);
        Err(f)
    });
    record(rec, Stage::Auth, t, result, |()| {
        format!("{} as {}", mechanism.name(), req.authzid)
    })
}

/// Exchange Online's 5.7.139 family says which switch refused; 5.7.3 says nothing.
fn classify_auth_failure(r: &Reply) -> (FailureKind, &'static str) {
    let text = r.text().to_ascii_lowercase();
    if r.code == 334 {
        return (
            FailureKind::ProtocolError,
            "the server kept challenging the client",
        );
    }
    if text.contains("smtpclientauthentication is disabled") {
        return (
            FailureKind::SmtpAuthDisabled,
            "SMTP AUTH is disabled for this tenant or mailbox",
        );
    }
    // 5.7.30: Exchange Online's answer to Basic authentication once it is off for client
    // submission (by default for existing tenants from the end of December 2026).
    if text.contains("5.7.30") || text.contains("basic authentication is not supported") {
        return (
            FailureKind::AuthBlockedByPolicy,
            "Exchange Online no longer accepts Basic authentication for client submission",
        );
    }
    if text.contains("security defaults")
        || text.contains("did not meet the criteria")
        || text.contains("basic authentication is disabled")
        || text.contains("organization configuration doesn't allow")
    {
        return (
            FailureKind::AuthBlockedByPolicy,
            "an authentication policy blocked the sign-in",
        );
    }
    if r.code == 504 {
        return (
            FailureKind::MechanismNotOffered,
            "the server does not accept this mechanism",
        );
    }
    if r.code == 454 {
        return (
            FailureKind::ServerTemporaryFailure,
            "the server could not process the authentication (454, temporary failure)",
        );
    }
    if r.is_transient() {
        return (
            FailureKind::Throttled,
            "the server is throttling or refusing AUTH for now (4xx)",
        );
    }
    (FailureKind::AuthRejected, "the server rejected the token")
}

/// A refused submission, and whether the session was left in a data phase that only closing
/// the connection ends without delivering anything.
struct Refused {
    failure: Failure,
    close: bool,
}

/// MAIL FROM, RCPT TO, DATA: the one test message. `grouped`: the three go as one write
/// (RFC 2920), else each waits for its reply.
async fn submit(
    lines: &mut LineConn<TlsConn>,
    send: &SendPlan,
    grouped: bool,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Refused> {
    let t = Instant::now();
    let mut close = false;
    let result: Result<Submission, Failure> = async {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let message = message::build(send, now).map_err(|e| {
            Failure::new(
                Stage::Send,
                FailureKind::ProtocolError,
                format!("could not build the test message: {e}"),
            )
        })?;
        let commands = envelope::commands(send);
        if grouped {
            if let Err(refused) = envelope_grouped(lines, &commands).await {
                close = refused.close;
                return Err(refused.failure);
            }
        } else {
            for c in &commands {
                let r = command(lines, Stage::Send, &c.line).await?;
                if !c.accepts(&r) {
                    return Err(send_refused(&r, c.what));
                }
            }
        }
        lines
            .write_raw("data", &message::dot_stuff(&message.bytes))
            .await
            .map_err(|e: TransportError| transport_failure(Stage::Send, e))?;
        let r = read_reply(lines, Stage::Send).await?;
        if r.code != 250 {
            return Err(send_refused(&r, "the message"));
        }
        Ok(Submission {
            message_id: send.message_id.clone(),
            from: send.from.clone(),
            to: send.to.clone(),
            subject: message.subject,
            reply: escape_all(&r.wire()).join(" "),
        })
    }
    .await;
    let sub = record(rec, Stage::Send, t, result, |sub| {
        format!("{}: {}", sub.message_id, sub.reply)
    })
    .map_err(|failure| Refused { failure, close })?;
    facts.submission = Some(sub);
    Ok(())
}

/// Sends the envelope as one group and reads every reply to it, in order; `Ok`: all
/// accepted, the message may follow. A refusal is the first refused command's, whatever the
/// later replies say (they are read, so the session stays in step).
async fn envelope_grouped(
    lines: &mut LineConn<TlsConn>,
    commands: &[envelope::Command],
) -> Result<(), Refused> {
    let refused = |failure| Refused {
        failure,
        close: false,
    };
    lines
        .write_raw(Stage::Send.name(), envelope::group(commands).as_bytes())
        .await
        .map_err(|e| refused(transport_failure(Stage::Send, e)))?;
    let mut replies = Vec::with_capacity(commands.len());
    let mut lost = None;
    for _ in commands {
        match read_reply(lines, Stage::Send).await {
            Ok(r) => replies.push(r),
            Err(f) => {
                lost = Some(f);
                break;
            }
        }
    }
    let (at, open) = match envelope::verdict(commands, &replies) {
        Verdict::Accepted => return Ok(()),
        Verdict::Refused { at, open } => (at, open),
    };
    let failure = match (replies.get(at), commands.get(at)) {
        (Some(r), Some(c)) => send_refused(r, c.what),
        // No refusal among the replies that came: why the rest did not is the cause.
        _ => lost.unwrap_or_else(|| {
            Failure::new(
                Stage::Send,
                FailureKind::ProtocolError,
                "the server did not answer every command of the envelope",
            )
        }),
    };
    match open {
        OpenData::No => Err(refused(failure)),
        OpenData::EndEmpty => {
            // Nothing is delivered without a recipient. Whatever the dot's reply says, the
            // first refusal stays the cause; the reply is only read to end the exchange.
            if lines.write_line(Stage::Send.name(), ".").await.is_ok() {
                let _ = read_reply(lines, Stage::Send).await;
            }
            Err(refused(failure))
        }
        OpenData::Abort => {
            let mut failure = failure;
            failure.message.push_str(
                "; the server opened the data phase for the other recipients anyway, so the \
                 connection was closed without sending the message",
            );
            Err(Refused {
                failure,
                close: true,
            })
        }
    }
}

fn send_refused(reply: &Reply, what: &str) -> Failure {
    let text = reply.text();
    let send_as = text.contains("SendAsDenied")
        || text.contains("not allowed to send as")
        || text.contains("permissions to send as this sender")
        || reply.enhanced.is_some_and(|e| e.to_string() == "5.7.60");
    let kind = if send_as {
        FailureKind::SendAsDenied
    } else {
        FailureKind::SendRejected
    };
    let message = if send_as {
        "the server refused to send as this sender".to_string()
    } else {
        format!("the server refused {what}")
    };
    let mut f = unexpected(Stage::Send, kind, &message, reply);
    f.message = message;
    f
}

async fn quit(lines: &mut LineConn<TlsConn>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    match command(lines, Stage::Quit, "QUIT").await {
        Ok(r) if r.code == 221 => rec.step(Stage::Quit, t, true, ""),
        Ok(r) => {
            rec.step(Stage::Quit, t, false, r.text());
            facts.warnings.push(format!("QUIT answered {}", r.code));
        }
        Err(f) => {
            rec.step(Stage::Quit, t, false, f.message.clone());
            facts
                .warnings
                .push(format!("QUIT did not complete: {}", f.message));
        }
    }
}

/// QUIT without waiting for its `221`: the check is over, and the reply would cost a round
/// trip and say nothing the report needs. The connection is then closed (TLS close_notify).
async fn quit_unwaited(
    mut lines: LineConn<TlsConn>,
    timeout: std::time::Duration,
    rec: &mut Recorder,
    facts: &mut Facts,
) {
    let t = Instant::now();
    match lines.write_line(Stage::Quit.name(), "QUIT").await {
        Ok(()) => rec.step(Stage::Quit, t, true, "sent; the reply is not waited for"),
        Err(e) => {
            let f = transport_failure(Stage::Quit, e);
            rec.step(Stage::Quit, t, false, f.message.clone());
            facts
                .warnings
                .push(format!("QUIT did not complete: {}", f.message));
        }
    }
    close(lines, timeout).await;
}

/// Ends the session: TLS close_notify and the TCP shutdown, bounded by `timeout`; nothing is
/// waited for from the server. Unread server bytes (none in a session that kept in step)
/// leave the socket to be dropped instead.
async fn close(lines: LineConn<TlsConn>, timeout: std::time::Duration) {
    if let Ok(mut stream) = lines.into_inner() {
        let _ = tokio::time::timeout(timeout, stream.shutdown()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Reply {
        Reply::from_lines(&[line.to_string()]).unwrap()
    }

    #[test]
    fn classifies_exchange_auth_failures() {
        let cases = [
            (
                "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]",
                FailureKind::AuthRejected,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
                FailureKind::SmtpAuthDisabled,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.",
                FailureKind::SmtpAuthDisabled,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.",
                FailureKind::AuthBlockedByPolicy,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.",
                FailureKind::AuthBlockedByPolicy,
            ),
            (
                "550 5.7.30 Basic authentication is not supported for Client Submission.",
                FailureKind::AuthBlockedByPolicy,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, the organization configuration doesn't allow this authentication request.",
                FailureKind::AuthBlockedByPolicy,
            ),
            (
                "504 5.7.4 Unrecognized authentication type [BL1P221CA0016.outlook.office365.com]",
                FailureKind::MechanismNotOffered,
            ),
            (
                "454 4.7.0 Temporary authentication failure",
                FailureKind::ServerTemporaryFailure,
            ),
            ("451 4.7.0 Try again later", FailureKind::Throttled),
        ];
        for (line, kind) in cases {
            assert_eq!(classify_auth_failure(&reply(line)).0, kind, "{line}");
        }
    }

    #[test]
    fn classifies_send_as_refusals() {
        let f = send_refused(
            &reply(
                "554 5.2.252 SendAsDenied; alice@contoso.example not allowed to send as payroll@contoso.example; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied",
            ),
            "the message",
        );
        assert_eq!(f.kind, FailureKind::SendAsDenied);
        let f = send_refused(
            &reply("550 5.7.60 SMTP; Client does not have permissions to send as this sender"),
            "MAIL FROM",
        );
        assert_eq!(f.kind, FailureKind::SendAsDenied);
        let f = send_refused(&reply("550 5.1.8 Bad outbound sender"), "MAIL FROM");
        assert_eq!(f.kind, FailureKind::SendRejected);
        assert_eq!(f.message, "the server refused MAIL FROM");
    }

    #[test]
    fn ehlo_names_are_address_literals() {
        assert_eq!(
            ehlo_name(Some("192.0.2.7:5000".parse().unwrap())),
            "[192.0.2.7]"
        );
        assert_eq!(ehlo_name(Some("[::1]:5000".parse().unwrap())), "[IPv6:::1]");
        assert_eq!(ehlo_name(None), "localhost");
    }
}
