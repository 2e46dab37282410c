//! The IMAP check (RFC 3501, RFC 4959 SASL-IR, RFC 2595 STARTTLS, RFC 7628): prove that a token
//! opens a mailbox, list its folders and optionally count one folder's messages, changing
//! nothing. One file per phase:
//!
//! ```text
//! preauth   S: * OK ... ready.   C: a1 CAPABILITY   (C: a2 STARTTLS <TLS> C: a3 CAPABILITY)
//! auth      C: A1 AUTHENTICATE XOAUTH2 <ir>   S: A1 OK | A1 NO | + <challenge>
//! session   C: A2 CAPABILITY  C: A3 LIST "" "*"  (C: A4 EXAMINE "Inbox"  C: A5 SEARCH ...)
//!           S: A3 BAD User is authenticated but not connected.  S: * BYE ...
//!           C: A6 LOGOUT
//! ```
//! The driver speaks the pre-authentication part itself (async-imap has no pre-auth
//! CAPABILITY or STARTTLS) and hands the stream to async-imap for AUTHENTICATE onwards. After
//! authentication every command goes through async-imap's `run_command`/`read_response`
//! (`command`), so its status is the parsed tagged completion; `failure` names refusals.

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
            let caps = preauth::greeting_and_capabilities(&mut lines, rec).await?;
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
    let client = async_imap::Client::new(stream);
    let mut session =
        auth::authenticate(client, mechanism, &caps, req, &transcript, rec, facts).await?;
    authenticated(&mut session, req, options, &transcript, rec, facts).await
}

/// Everything after AUTHENTICATE succeeded, over any stream.
async fn authenticated<T: command::Stream>(
    session: &mut command::Session<T>,
    req: &Request<'_>,
    options: &ImapOptions,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let mut checks = Checks {
        session,
        timeout: req.timeout,
        max_responses: req.limits.max_reply_lines,
        transcript,
    };
    let result = session::mailbox_checks(&mut checks, options, rec, facts).await;
    if matches!(result, Ok(session::Session::Usable)) {
        session::logout(&mut checks, rec, facts).await;
    }
    result.map(|_| ())
}
