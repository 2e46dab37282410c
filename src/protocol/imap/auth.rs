//! AUTHENTICATE (RFC 3501 §6.2.2, RFC 4959 SASL-IR, RFC 7628), written by us and read through
//! async-imap's parser: the initial response on the command line or after a bare `+` (servers
//! without SASL-IR), an error challenge answered with the mechanism's acknowledgement and kept
//! for the report. With SASL-IR the commands that follow (LIST, EXAMINE) may go in the same
//! write (RFC 3501 §5.5): if AUTHENTICATE fails they fail harmlessly in the not-authenticated
//! state, and only AUTHENTICATE's own completion is read, so its failure is the one reported.
//!
//! ```text
//! C: A1 AUTHENTICATE XOAUTH2 <ir>  C: A2 LIST "" "*"
//!                                     S: A1 OK AUTHENTICATE completed.
//!                                     S: A1 NO AUTHENTICATE failed.          (Exchange)
//!                                     S: + <base64 JSON>  C: ""  S: A1 NO    (Gmail, Dovecot)
//! ```
//! After an error challenge the server may already have taken the pipelined LIST line as the
//! client's SASL answer; the acknowledgement is sent anyway, and whichever line the server
//! took, it ends the exchange with A1's completion.

use std::time::{Duration, Instant};

use async_imap::imap_proto::{self, Response};
use base64::Engine as _;

use super::command::{self, CommandError, Conn, Stream};
use super::failure::{Evidence, incomplete, io_failure, refusal, timeout_failure};
use super::response::{Capabilities, Status};
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::protocol::record::record;
use crate::protocol::{Facts, Request, initial_response};
use crate::sasl::{self, ErrorChallenge, Mechanism};
use crate::secret::Secret;
use crate::transport::tap::Transcript;

/// AUTHENTICATE with `mechanism` under `tag`, followed in the same write by `ahead` (whole
/// command lines, CRLF included; only with SASL-IR, where no continuation can take them for
/// the SASL response). The decoded error challenge, if any, goes into `facts` and into the
/// failure.
#[allow(clippy::too_many_arguments)]
pub async fn authenticate<T: Stream>(
    conn: &mut Conn<T>,
    tag: &str,
    mechanism: Mechanism,
    caps: &Capabilities,
    req: &Request<'_>,
    ahead: &str,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    let (raw, ir) = initial_response(req, mechanism, transcript)?;
    let sasl_ir = caps.has("SASL-IR");
    let (line, mut auth) = if sasl_ir {
        (
            format!(
                "{tag} AUTHENTICATE {} {}\r\n",
                mechanism.name(),
                ir.expose()
            ),
            SaslAuth::new(mechanism, None),
        )
    } else {
        (
            format!("{tag} AUTHENTICATE {}\r\n", mechanism.name()),
            SaslAuth::new(mechanism, Some(raw)),
        )
    };
    debug_assert!(
        sasl_ir || ahead.is_empty(),
        "nothing may follow a two-step AUTHENTICATE"
    );
    let how = match (sasl_ir, ahead.is_empty()) {
        (false, _) => "two-step",
        (true, true) => "SASL-IR",
        (true, false) => "SASL-IR, pipelined",
    };
    let first = Secret::new(format!("{line}{ahead}"));
    let evidence = if ahead.is_empty() {
        Evidence::last(transcript)
    } else {
        Evidence::sent(transcript, tag, None)
    };
    let exchange = exchange(
        conn,
        tag,
        first,
        &mut auth,
        req.timeout,
        req.limits.max_reply_lines,
        &evidence,
    );
    let result = match tokio::time::timeout(req.timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(timeout_failure(Stage::Auth, "AUTHENTICATE", req.timeout)),
    };
    facts.challenge = auth.challenge.clone().map(Box::new);
    if result.is_err() && auth.challenge.is_some() && !ahead.is_empty() {
        // Dovecot then answers `NO [ALERT] Invalid base64 in response`: words about our LIST
        // line, not about the token, which the report must not leave unexplained.
        facts.warnings.push(
            "the server sent its error challenge after LIST had gone out with AUTHENTICATE, \
             and may have read LIST as the answer to it; its reply may be about that line \
             (--no-pipelining shows the exchange without it)"
                .into(),
        );
    }
    let result = result.map_err(|mut failure| {
        failure.challenge = auth.challenge.clone().map(Box::new);
        failure
    });
    record(rec, Stage::Auth, t, result, |_| {
        format!("{} ({how}) as {}", mechanism.name(), req.authzid)
    })
}

/// Writes the command and reads to its tagged completion, answering continuations. Untagged
/// responses are noise here (a BYE is kept for saying why the server hung up); the number of
/// responses is capped like every reply.
async fn exchange<T: Stream>(
    conn: &mut Conn<T>,
    tag: &str,
    first: Secret<String>,
    auth: &mut SaslAuth,
    timeout: Duration,
    max_responses: usize,
    evidence: &Evidence<'_>,
) -> Result<(), Failure> {
    let io = |e| io_failure(Stage::Auth, e, timeout, evidence);
    conn.write(first.expose().as_bytes()).await.map_err(io)?;
    let mut bye = Vec::new();
    for _ in 0..max_responses {
        let read = conn
            .read(|r| Event::of(r, tag, &mut bye))
            .await
            .map_err(io)?;
        match read {
            None => {
                return Err(incomplete(
                    Stage::Auth,
                    CommandError::Closed { bye },
                    timeout,
                    evidence,
                ));
            }
            Some(Event::Noise) => {}
            Some(Event::Continue(challenge)) => {
                let answer = auth
                    .answer(challenge)
                    .map_err(|f| f.with_reply(evidence.reply()))?;
                let Some(answer) = answer else {
                    return Err(Failure::new(
                        Stage::Auth,
                        FailureKind::ProtocolError,
                        format!(
                            "the server answered more than {MAX_SASL_ROUNDS} SASL continuations \
                             (+) in one AUTHENTICATE; stopped"
                        ),
                    )
                    .with_reply(evidence.reply()));
                };
                let line = Secret::new(format!(
                    "{}\r\n",
                    base64::engine::general_purpose::STANDARD.encode(answer.expose())
                ));
                conn.write(line.expose().as_bytes()).await.map_err(io)?;
            }
            Some(Event::Done(Status::Ok, _)) => return Ok(()),
            Some(Event::Done(Status::No | Status::Bad, words)) => {
                return Err(refusal(Stage::Auth, &words, evidence));
            }
            Some(Event::Done(other, words)) => {
                return Err(Failure::new(
                    Stage::Auth,
                    FailureKind::ProtocolError,
                    format!(
                        "the server completed AUTHENTICATE with {} ({words})",
                        other.name()
                    ),
                )
                .with_reply(evidence.reply()));
            }
        }
    }
    Err(Failure::new(
        Stage::Auth,
        FailureKind::ServerTooVerbose,
        format!("the server sent more than {max_responses} responses to AUTHENTICATE; stopped"),
    ))
}

/// What one response means to AUTHENTICATE.
enum Event {
    /// `+ <base64>`: the raw text of the challenge.
    Continue(Option<String>),
    /// Our tag's completion, with the words its refusal is classified by.
    Done(Status, String),
    Noise,
}

impl Event {
    fn of(response: &Response<'_>, tag: &str, bye: &mut Vec<String>) -> Event {
        match response {
            Response::Continue(outcome) => {
                Event::Continue(outcome.information.as_deref().map(str::to_string))
            }
            Response::Done {
                tag: done,
                status,
                outcome,
            } if done.0 == tag => {
                // The words as async-imap's `authenticate` reported them, so a refusal is
                // classified exactly as it was when async-imap drove AUTHENTICATE.
                let code = outcome.code.as_ref();
                let information = outcome.information.as_deref();
                Event::Done(
                    command::status_of(status),
                    format!("code: {code:?}, info: {information:?}"),
                )
            }
            Response::Data {
                status: imap_proto::Status::Bye,
                outcome,
            } => {
                bye.push(command::text_of(outcome));
                Event::Noise
            }
            _ => Event::Noise,
        }
    }
}

/// More continuations than this in one AUTHENTICATE is a looping server (the initial response
/// and one error challenge need two).
const MAX_SASL_ROUNDS: usize = 3;

/// The client side of the SASL rounds. Only the first challenge is kept; a server that keeps
/// challenging is cut off past [`MAX_SASL_ROUNDS`].
pub struct SaslAuth {
    mechanism: Mechanism,
    /// The raw initial response, when it was not sent on the AUTHENTICATE line.
    pending: Option<Secret<Vec<u8>>>,
    pub challenge: Option<ErrorChallenge>,
    rounds: usize,
}

impl SaslAuth {
    pub fn new(mechanism: Mechanism, pending: Option<Secret<Vec<u8>>>) -> Self {
        SaslAuth {
            mechanism,
            pending,
            challenge: None,
            rounds: 0,
        }
    }

    /// The answer to a continuation whose text is `challenge` (base64), or `None` once the
    /// server has looped past the cap.
    fn answer(&mut self, challenge: Option<String>) -> Result<Option<Secret<Vec<u8>>>, Failure> {
        let bytes = match challenge.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| {
                    Failure::new(
                        Stage::Auth,
                        FailureKind::ProtocolError,
                        format!("could not parse the server's reply: the SASL challenge is not base64 ({e})"),
                    )
                })?,
        };
        Ok(self.process(&bytes))
    }

    /// The response to one decoded challenge: the pending initial response, else the
    /// mechanism's acknowledgement of an error challenge (which is kept).
    fn process(&mut self, challenge: &[u8]) -> Option<Secret<Vec<u8>>> {
        self.rounds += 1;
        if self.rounds > MAX_SASL_ROUNDS {
            return None;
        }
        if let Some(ir) = self.pending.take() {
            return Some(ir);
        }
        if self.challenge.is_none() {
            self.challenge = Some(sasl::error_challenge_from_bytes(challenge));
        }
        Some(Secret::new(self.mechanism.error_acknowledgement().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_pending_response_then_acknowledges() {
        let mut auth = SaslAuth::new(Mechanism::OAuthBearer, Some(Secret::new(b"ir".to_vec())));
        assert_eq!(auth.process(b"").unwrap().expose(), b"ir");
        assert_eq!(
            auth.process(br#"{"status":"invalid_token"}"#)
                .unwrap()
                .expose(),
            b"\x01"
        );
        assert_eq!(auth.challenge.unwrap().status(), Some("invalid_token"));
    }

    #[test]
    fn xoauth2_acknowledges_with_an_empty_response() {
        let mut auth = SaslAuth::new(Mechanism::XOAuth2, None);
        assert_eq!(auth.process(br#"{"status":"400"}"#).unwrap().expose(), b"");
        assert_eq!(auth.challenge.unwrap().status(), Some("400"));
    }

    #[test]
    fn a_looping_server_is_cut_off_after_the_round_cap() {
        let mut auth = SaslAuth::new(Mechanism::XOAuth2, None);
        for _ in 0..MAX_SASL_ROUNDS {
            assert!(auth.process(b"").is_some());
        }
        assert!(auth.process(b"").is_none());
    }

    #[test]
    fn a_challenge_that_is_not_base64_is_a_protocol_error() {
        let mut auth = SaslAuth::new(Mechanism::XOAuth2, None);
        let f = auth.answer(Some("not base64!".into())).unwrap_err();
        assert_eq!(f.kind, FailureKind::ProtocolError);
    }
}
