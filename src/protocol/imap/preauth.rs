//! Before authentication, spoken by the driver itself because async-imap has neither a
//! pre-auth CAPABILITY nor STARTTLS: the greeting, the capability list, and STARTTLS with the
//! capabilities read again over TLS (RFC 3501 §7.1.1, §6.1.1, §6.2.1; RFC 2595 §3.1). Replies
//! are read line by line and parsed by `response`.
//!
//! ```text
//! C: a1 CAPABILITY  (C: a2 STARTTLS)  (pipelining: sent before the greeting is read)
//! S: * OK The Microsoft Exchange IMAP4 service is ready. [...]
//! S: * CAPABILITY ... AUTH=XOAUTH2 SASL-IR ...  a1 OK
//! (S: a2 OK  <TLS>  C: a3 CAPABILITY  — plaintext capabilities are forgotten)
//! ```
//! Exchange puts no `[CAPABILITY ...]` code in its greeting; Dovecot does. Sending CAPABILITY
//! without waiting for the greeting makes the list arrive right behind the greeting either
//! way (RFC 3501 §5.5 lets a client send before a reply; the server reads it once it has
//! greeted), so capabilities cost no round trip of their own. Without pipelining, CAPABILITY
//! is asked for only when the greeting did not carry the list.

use std::time::Instant;

use super::response::{self, Capabilities, Status, parse_capability, parse_status};
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::protocol::wrong_port::wrong_protocol;
use crate::protocol::{Facts, Request, tls_summary, transport_failure};
use crate::service::Protocol;
use crate::transport::lines::LineConn;
use crate::transport::{TlsConn, TransportError, Upgrader};

/// What is sent before the greeting is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// Nothing: one command at a time (`--no-pipelining`).
    Nothing,
    Capability,
    /// Plaintext: CAPABILITY and STARTTLS. Nothing may follow STARTTLS before the handshake
    /// (RFC 2595 §3.1), and nothing does; a server that does not offer it answers BAD, and
    /// the check stops there without authenticating.
    CapabilityStarttls,
}

impl Ahead {
    fn lines(self) -> Option<&'static [u8]> {
        match self {
            Ahead::Nothing => None,
            Ahead::Capability => Some(b"a1 CAPABILITY\r\n"),
            Ahead::CapabilityStarttls => Some(b"a1 CAPABILITY\r\na2 STARTTLS\r\n"),
        }
    }
}

/// Greeting, then the capability list: from the greeting's code when it carries one, else
/// from `a1 CAPABILITY`. Sent `ahead`, that command's reply is always read (it is on its way
/// whatever the greeting says); the greeting's list still wins, so both modes authenticate on
/// the same list.
pub async fn greeting_and_capabilities<S>(
    lines: &mut LineConn<S>,
    ahead: Ahead,
    rec: &mut Recorder,
) -> Result<Capabilities, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let t = Instant::now();
    // A failed write shows when the greeting is read (a closed connection); if the greeting
    // still comes, the write's error is the capability step's failure.
    let sent = match ahead.lines() {
        Some(bytes) => Some(lines.write_raw("capability", bytes).await),
        None => None,
    };
    let greeting = lines
        .read_line("greeting")
        .await
        .map_err(|e| transport_failure(Stage::Greeting, e))?;
    let shown = crate::transport::util::escape(greeting.as_bytes());
    let status = parse_status(&greeting).filter(|s| s.tag.is_none());
    match status.as_ref().map(|s| s.status) {
        Some(Status::Ok) => rec.step(Stage::Greeting, t, true, shown),
        Some(Status::Bye) => {
            rec.step(Stage::Greeting, t, false, shown.clone());
            return Err(Failure::new(
                Stage::Greeting,
                FailureKind::GreetingRejected,
                "the server refused the connection",
            )
            .with_reply(vec![shown]));
        }
        _ => {
            rec.step(Stage::Greeting, t, false, shown.clone());
            if let Some(f) = wrong_protocol(Protocol::Imap, &greeting, vec![shown.clone()]) {
                return Err(f);
            }
            return Err(Failure::new(
                Stage::Greeting,
                FailureKind::ProtocolError,
                "the server's greeting is not an IMAP greeting (* OK ...)",
            )
            .with_reply(vec![shown]));
        }
    }
    let from_greeting = status
        .and_then(|s| s.code)
        .and_then(|code| response::capabilities_from_code(&code));
    match (sent, from_greeting) {
        (None, Some(caps)) => Ok(caps),
        (None, None) => capability(lines, "a1", rec).await,
        (Some(Err(e)), _) => {
            let t = Instant::now();
            rec.step(Stage::Capability, t, false, e.to_string());
            Err(transport_failure(Stage::Capability, e))
        }
        (Some(Ok(())), greeting) => capability_reply(lines, "a1", greeting, rec).await,
    }
}

/// `tag CAPABILITY`, bounded like every reply.
async fn capability<S>(
    lines: &mut LineConn<S>,
    tag: &str,
    rec: &mut Recorder,
) -> Result<Capabilities, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let t = Instant::now();
    lines
        .write_line("capability", &format!("{tag} CAPABILITY"))
        .await
        .map_err(|e| transport_failure(Stage::Capability, e))?;
    read_capability(lines, tag, None, rec, t).await
}

/// The reply to a `tag CAPABILITY` already sent; `greeting` (the list in the greeting's code),
/// when there is one, is the list once the reply is complete.
async fn capability_reply<S>(
    lines: &mut LineConn<S>,
    tag: &str,
    greeting: Option<Capabilities>,
    rec: &mut Recorder,
) -> Result<Capabilities, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    read_capability(lines, tag, greeting, rec, Instant::now()).await
}

async fn read_capability<S>(
    lines: &mut LineConn<S>,
    tag: &str,
    greeting: Option<Capabilities>,
    rec: &mut Recorder,
    t: Instant,
) -> Result<Capabilities, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let reply = read_tagged(lines, tag, "capability")
        .await
        .map_err(|e| transport_failure(Stage::Capability, e))?;
    let done = reply.last().and_then(|l| parse_status(l));
    let caps = reply.iter().find_map(|l| parse_capability(l));
    let chosen = match (greeting, done.map(|d| d.status), caps) {
        (Some(greeting), Some(_), _) => Some(greeting),
        (None, Some(Status::Ok), Some(caps)) => Some(caps),
        _ => None,
    };
    match chosen {
        Some(caps) => {
            rec.step(Stage::Capability, t, true, caps.0.join(" "));
            Ok(caps)
        }
        _ => {
            rec.step(Stage::Capability, t, false, "no capability list");
            Err(Failure::new(
                Stage::Capability,
                FailureKind::ProtocolError,
                "the server did not answer CAPABILITY with a capability list",
            )
            .with_reply(escape_all(&reply)))
        }
    }
}

/// Sends `tag command` and reads up to and including the tagged reply.
async fn command<S>(
    lines: &mut LineConn<S>,
    tag: &str,
    command: &str,
    stage: &'static str,
) -> Result<Vec<String>, TransportError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    lines.write_line(stage, &format!("{tag} {command}")).await?;
    read_tagged(lines, tag, stage).await
}

/// Lines up to and including `tag`'s completion.
async fn read_tagged<S>(
    lines: &mut LineConn<S>,
    tag: &str,
    stage: &'static str,
) -> Result<Vec<String>, TransportError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let prefix = format!("{tag} ");
    lines
        .read_reply(stage, |l| {
            l.len() > prefix.len() && l[..prefix.len()].eq_ignore_ascii_case(&prefix)
        })
        .await
}

fn escape_all(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| crate::transport::util::escape(l.as_bytes()))
        .collect()
}

/// Plaintext greeting and capabilities, STARTTLS, handshake, and capabilities again.
pub async fn starttls(
    tap: crate::transport::PlainConn,
    upgrader: &Upgrader,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(LineConn<TlsConn>, Capabilities), Failure> {
    let mut lines = LineConn::new(tap, req.limits, req.timeout);
    let ahead = if req.pipelining {
        Ahead::CapabilityStarttls
    } else {
        Ahead::Nothing
    };
    let plain_caps = greeting_and_capabilities(&mut lines, ahead, rec).await?;
    let t = Instant::now();
    if !plain_caps.has("STARTTLS") {
        rec.step(Stage::Starttls, t, false, "STARTTLS not advertised");
        return Err(Failure::new(
            Stage::Starttls,
            FailureKind::StarttlsNotOffered,
            "the server does not advertise STARTTLS; not authenticating over plaintext",
        )
        .with_reply(vec![format!("* CAPABILITY {}", plain_caps.0.join(" "))]));
    }
    let reply = match ahead {
        Ahead::CapabilityStarttls => read_tagged(&mut lines, "a2", "starttls").await,
        _ => command(&mut lines, "a2", "STARTTLS", "starttls").await,
    }
    .map_err(|e| transport_failure(Stage::Starttls, e))?;
    let ok = reply
        .last()
        .and_then(|l| parse_status(l))
        .is_some_and(|s| s.status == Status::Ok);
    if !ok {
        rec.step(Stage::Starttls, t, false, "refused");
        return Err(Failure::new(
            Stage::Starttls,
            FailureKind::StarttlsRefused,
            "the server refused STARTTLS",
        )
        .with_reply(escape_all(&reply)));
    }
    let tap = lines
        .into_inner()
        .map_err(|e| transport_failure(Stage::Starttls, e))?;
    let (tls, info) = upgrader
        .upgrade(tap)
        .await
        .map_err(|e| transport_failure(Stage::Starttls, e))?;
    rec.step(Stage::Starttls, t, true, tls_summary(&info));
    facts.tls = Some(info);
    let mut lines = LineConn::new(tls, req.limits, req.timeout);
    let caps = capability(&mut lines, "a3", rec).await?;
    Ok((lines, caps))
}
