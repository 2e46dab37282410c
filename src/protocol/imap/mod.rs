//! The IMAP check (RFC 3501, RFC 4959 SASL-IR, RFC 2595 STARTTLS, RFC 7628): prove that a token
//! opens a mailbox, list its folders and optionally count one folder's messages, changing
//! nothing, in as few round trips as the protocol allows. One file per phase:
//!
//! ```text
//! preauth   C: a1 CAPABILITY   S: * OK ... ready.  * CAPABILITY ...  a1 OK
//!           (port 143: C: a2 STARTTLS with a1; <TLS> C: a3 CAPABILITY)
//! auth      C: A1 AUTHENTICATE XOAUTH2 <ir>  C: A2 LIST "" "*"  (C: A3 EXAMINE "Inbox")
//!           S: A1 OK | A1 NO | + <challenge>
//! session   S: * LIST ...  A2 OK  |  A2 BAD User is authenticated but not connected.
//!           (C: A4 SEARCH ...)   C: A5 LOGOUT  <close, reply not awaited>
//! ```
//! With implicit TLS that is 4 round trips: TCP, TLS, the greeting with the capabilities
//! (CAPABILITY leaves with the client's TLS Finished, before the greeting is read), and
//! AUTHENTICATE with LIST. `--no-pipelining` sends one command at a time and waits for each
//! reply, as before, with a CAPABILITY after AUTHENTICATE.
//!
//! The driver speaks the pre-authentication part itself, line by line (`preauth`). From
//! AUTHENTICATE on it writes the command lines itself (so several can go in one write) and
//! reads every reply through async-imap's connection, so a command's status is imap-proto's
//! parse of its tagged completion (`command`); `failure` names refusals.

mod auth;
mod command;
mod failure;
mod preauth;
pub mod response;
mod session;
#[cfg(test)]
mod tests;
pub mod utf7;

use self::session::Checks;
use super::{Facts, Request, pick_mechanism};
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::plan::ImapOptions;
use crate::transport::lines::LineConn;
use crate::transport::tap::Transcript;
use crate::transport::{Connection, Upgrader};

/// Runs the check over `conn`. `Err` carries the failure as report data.
pub async fn check(
    conn: Connection,
    upgrader: &Upgrader,
    req: &Request<'_>,
    options: &ImapOptions,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let (tls, caps) = match conn {
        Connection::Tls(tap) => {
            let mut lines = LineConn::new(*tap, req.limits, req.timeout);
            let ahead = if req.pipelining {
                preauth::Ahead::Capability
            } else {
                preauth::Ahead::Nothing
            };
            let caps = preauth::greeting_and_capabilities(&mut lines, ahead, rec).await?;
            (lines, caps)
        }
        Connection::Plain(tap) => preauth::starttls(tap, upgrader, req, rec, facts).await?,
    };
    facts.capabilities = caps.0.clone();
    let transcript = tls.get_ref().transcript().clone();
    let mechanism = pick_mechanism(req.mechanism, &caps.auth_mechanisms(), Stage::Capability)?;
    facts.mechanism = Some(mechanism);

    let stream = tls.into_inner().map_err(|_| {
        Failure::new(
            Stage::Capability,
            FailureKind::ProtocolError,
            "the server sent unsolicited data before AUTHENTICATE",
        )
    })?;
    session(
        stream,
        mechanism,
        &caps,
        req,
        options,
        &transcript,
        rec,
        facts,
    )
    .await
}

/// AUTHENTICATE and everything after it, over any stream. With pipelining and SASL-IR, LIST
/// (and EXAMINE) go in AUTHENTICATE's write.
#[allow(clippy::too_many_arguments)]
async fn session<T: command::Stream>(
    stream: T,
    mechanism: crate::sasl::Mechanism,
    caps: &response::Capabilities,
    req: &Request<'_>,
    options: &ImapOptions,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let mut conn = command::Conn::new(stream);
    let auth_tag = conn.tag();
    let ahead = (req.pipelining && caps.has("SASL-IR"))
        .then(|| session::ahead(&mut conn, &auth_tag, options));
    let lines = ahead.as_ref().map(|a| a.lines.as_str()).unwrap_or_default();
    auth::authenticate(
        &mut conn, &auth_tag, mechanism, caps, req, lines, transcript, rec, facts,
    )
    .await?;
    let mut checks = Checks {
        conn: &mut conn,
        timeout: req.timeout,
        max_responses: req.limits.max_reply_lines,
        transcript,
        sequential: !req.pipelining,
        ahead,
    };
    let result = session::mailbox_checks(&mut checks, options, rec, facts).await;
    if matches!(result, Ok(session::Session::Usable)) {
        session::logout(&mut checks, rec, facts).await;
    }
    result.map(|_| ())
}
