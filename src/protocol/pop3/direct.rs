//! The POP3 check in the fewest round trips (issue 13): `AUTH` straight after the greeting,
//! CAPA only when the AUTH line itself is refused, and QUIT sent but not waited for. Every
//! failure is diagnosed as the sequential check (CAPA first) diagnoses it.
//!
//! ```text
//! S: +OK The Microsoft Exchange POP3 service is ready. [...]
//! C: AUTH XOAUTH2        S: +            C: <base64 initial response>
//! S: +OK User successfully authenticated.   |  -ERR ...  |  + <base64 JSON> ...  (as sequential)
//! C: STAT                S: +OK 3 4521
//! C: QUIT                (not read; TLS close_notify, then the connection is closed)
//!
//! C: AUTH XOAUTH2        S: -ERR Protocol error. 14         (the AUTH line itself refused)
//! C: CAPA                S: +OK  SASL PLAIN OAUTHBEARER  .
//!    → --mechanism auto: AUTH OAUTHBEARER as above; otherwise "mechanism not offered"
//!    → the mechanism is offered after all: the -ERR is a refusal of the login
//! ```
//! A `+` is the server's own word that it takes the mechanism, so CAPA, which would only have
//! said the same, is left out. RFC 2449 allows STAT and QUIT in one write only when CAPA says
//! PIPELINING; that would gain nothing here, since QUIT's reply is not waited for anyway.

use std::time::Instant;

use super::response::Capa;
use super::{Opening, capa, hung_up, open, record_auth, rejected, respond};
use crate::outcome::{Failure, Recorder, Stage};
use crate::protocol::{Facts, Request, initial_response, pick_mechanism};
use crate::sasl::Mechanism;
use crate::transport::TlsConn;
use crate::transport::lines::LineConn;
use crate::transport::util::escape;

/// Authenticates with the mechanism asked for (`auto`: XOAUTH2, as Exchange offers only that),
/// asking CAPA only to explain a refused AUTH line.
pub async fn authenticate(
    lines: &mut LineConn<TlsConn>,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    // What the sequential check would pick from a server that offers every mechanism.
    let first = req.mechanism.pick(|_| true).unwrap_or(Mechanism::XOAuth2);
    facts.mechanism = Some(first);
    let t = Instant::now();
    let (_, ir) = initial_response(req, first, lines.get_ref().transcript())?;
    let refused = match open(lines, first).await {
        Ok(Opening::Accepted) => {
            let result = respond(lines, first, &ir).await;
            return record_auth(rec, facts, t, first, req, result);
        }
        Ok(Opening::Refused(line)) => line,
        Err(f) => return record_auth(rec, facts, t, first, req, Err(f)),
    };
    let why = format!(
        "asked because AUTH {} was refused: {}",
        first.name(),
        escape(refused.as_bytes())
    );
    let capa = match capa(lines, rec, t, Some(&why)).await {
        Ok(capa) => capa,
        // A server that hangs up after refusing AUTH has said all it will: its refusal is the
        // answer, as when it hangs up after refusing the response.
        Err(f) if hung_up(&f) => {
            facts.warnings.push(format!(
                "CAPA after the refused AUTH went unanswered: {}",
                f.message
            ));
            let since = rec.last_end;
            return record_auth(
                rec,
                facts,
                since,
                first,
                req,
                Err(rejected(vec![refused], None)),
            );
        }
        Err(f) => {
            facts.mechanism = None;
            return Err(f);
        }
    };
    explain(lines, first, refused, capa, req, rec, facts).await
}

/// After `AUTH first` was refused: CAPA says whether the mechanism is offered. Not offered:
/// the sequential check's diagnosis, or (with `auto`) the other OAuth mechanism. Offered: the
/// refusal was of the login.
async fn explain(
    lines: &mut LineConn<TlsConn>,
    first: Mechanism,
    refused: String,
    capa: Capa,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    facts.capabilities = capa.0.clone();
    let picked = match pick_mechanism(req.mechanism, &capa.sasl_mechanisms(), Stage::Capability) {
        Ok(m) => m,
        Err(f) => {
            facts.mechanism = None;
            return Err(f);
        }
    };
    if picked == first {
        // The AUTH exchange was timed in the capability step that explains it.
        let since = rec.last_end;
        return record_auth(
            rec,
            facts,
            since,
            first,
            req,
            Err(rejected(vec![refused], None)),
        );
    }
    facts.mechanism = Some(picked);
    super::authenticate(lines, picked, req, rec, facts).await
}

/// QUIT without waiting for the reply: the check is complete once STAT has answered, and the
/// server's goodbye cannot change its outcome. TLS is closed cleanly (close_notify), bounded by
/// the timeout; a failed close after a delivered QUIT changes nothing and is not reported.
pub async fn quit(lines: &mut LineConn<TlsConn>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    match lines.write_line("quit", "QUIT").await {
        Ok(()) => {
            let _ = lines.shutdown("quit").await;
            rec.step(Stage::Quit, t, true, "sent; the reply is not waited for");
        }
        Err(e) => {
            rec.step(Stage::Quit, t, false, e.to_string());
            facts.warnings.push(format!("QUIT could not be sent: {e}"));
        }
    }
}
