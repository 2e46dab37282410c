//! The IMAP check (RFC 3501, RFC 4959 SASL-IR, RFC 2595 STARTTLS, RFC 7628): prove that a token
//! opens a mailbox, list its folders and optionally count one folder's messages, changing
//! nothing.
//!
//! ```text
//! S: * OK The Microsoft Exchange IMAP4 service is ready. [...]
//! C: a1 CAPABILITY                    S: * CAPABILITY ... AUTH=XOAUTH2 SASL-IR ...  a1 OK
//! (C: a2 STARTTLS  S: a2 OK  <TLS>  C: a3 CAPABILITY  — plaintext capabilities are forgotten)
//! C: A1 AUTHENTICATE XOAUTH2 <ir>     S: A1 OK AUTHENTICATE completed.
//!                                     S: A1 NO AUTHENTICATE failed.          (Exchange)
//!                                     S: + <base64 JSON>  C: ""  S: A1 NO    (Gmail, Dovecot)
//! C: A2 CAPABILITY   C: A3 LIST "" "*"
//!                    S: A3 BAD User is authenticated but not connected.  S: * BYE ...
//! C: A4 EXAMINE "Inbox"   C: A5 LOGOUT
//! ```
//! The driver speaks the pre-authentication part itself (async-imap has no pre-auth
//! CAPABILITY or STARTTLS) and hands the stream to async-imap for AUTHENTICATE onwards.
//! async-imap's `list` and `capabilities` end their stream at the tagged reply without checking
//! its status, so the driver reads that status from the transcript.

mod auth;
pub mod response;
pub mod utf7;

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;

use self::auth::SaslAuth;
use self::response::{Capabilities, Status, parse_capability, parse_status};
use super::{Facts, Request, initial_response, pick_mechanism, tls_summary, transport_failure};
use crate::plan::ImapOptions;
use crate::report::{Examined, Failure, FailureKind, Folder, Found, Recorder, Stage};
use crate::sasl::Mechanism;
use crate::transport::lines::LineConn;
use crate::transport::tap::Transcript;
use crate::transport::{Connection, TlsConn, TransportError, Upgrader};

/// How often and how long to look for a just-sent message: delivery is not instant on real
/// servers, so a miss is retried before it becomes a warning.
const FIND_ATTEMPTS: u32 = 10;
const FIND_INTERVAL: Duration = Duration::from_secs(1);

type Client = async_imap::Client<TlsConn>;
type Session = async_imap::Session<TlsConn>;

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
            let caps = greeting_and_capabilities(&mut lines, rec).await?;
            (lines, caps)
        }
        Connection::Plain(tap) => starttls(tap, upgrader, req, rec, facts).await?,
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
    let mut session = authenticate(client, mechanism, &caps, req, &transcript, rec, facts).await?;
    let result = mailbox_checks(&mut session, req, options, &transcript, rec, facts).await;
    if result.is_ok() {
        logout(session, req, rec, facts).await;
    }
    result
}

/// Greeting, then the capability list (from the greeting's code when it carries one).
async fn greeting_and_capabilities<S>(
    lines: &mut LineConn<S>,
    rec: &mut Recorder,
) -> Result<Capabilities, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let t = Instant::now();
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
    match from_greeting {
        Some(caps) => Ok(caps),
        None => capability(lines, "a1", rec).await,
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
    let reply = command(lines, tag, "CAPABILITY", "capability")
        .await
        .map_err(|e| transport_failure(Stage::Capability, e))?;
    let done = reply.last().and_then(|l| parse_status(l));
    let caps = reply.iter().find_map(|l| parse_capability(l));
    match (done.map(|d| d.status), caps) {
        (Some(Status::Ok), Some(caps)) => {
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
async fn starttls(
    tap: crate::transport::tap::Tap<tokio::net::TcpStream>,
    upgrader: &Upgrader,
    req: &Request<'_>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(LineConn<TlsConn>, Capabilities), Failure> {
    let mut lines = LineConn::new(tap, req.limits, req.timeout);
    let plain_caps = greeting_and_capabilities(&mut lines, rec).await?;
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
    let reply = command(&mut lines, "a2", "STARTTLS", "starttls")
        .await
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

async fn authenticate(
    client: Client,
    mechanism: Mechanism,
    caps: &Capabilities,
    req: &Request<'_>,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<Session, Failure> {
    let t = Instant::now();
    let (raw, ir) = initial_response(req, mechanism, transcript)?;
    let sasl_ir = caps.has("SASL-IR");
    let (command, mut auth) = if sasl_ir {
        (
            format!("{} {}", mechanism.name(), ir.expose()),
            SaslAuth::new(mechanism, None),
        )
    } else {
        (
            mechanism.name().to_string(),
            SaslAuth::new(mechanism, Some(raw)),
        )
    };
    let how = if sasl_ir { "SASL-IR" } else { "two-step" };
    let result = tokio::time::timeout(req.timeout, client.authenticate(command, &mut auth)).await;
    facts.challenge = auth.challenge.clone().map(Box::new);
    match result {
        Ok(Ok(session)) => {
            rec.step(
                Stage::Auth,
                t,
                true,
                format!("{} ({how}) as {}", mechanism.name(), req.authzid),
            );
            Ok(session)
        }
        Ok(Err((e, _client))) => {
            let mut failure = imap_failure(Stage::Auth, e, transcript, req.timeout);
            failure.challenge = auth.challenge.clone().map(Box::new);
            rec.step(Stage::Auth, t, false, failure.message.clone());
            Err(failure)
        }
        Err(_) => {
            let failure = timeout_failure(Stage::Auth, "AUTHENTICATE", req.timeout);
            rec.step(Stage::Auth, t, false, failure.message.clone());
            Err(failure)
        }
    }
}

/// CAPABILITY, LIST, and the optional EXAMINE and SEARCH after authentication.
async fn mailbox_checks(
    session: &mut Session,
    req: &Request<'_>,
    options: &ImapOptions,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    // Post-auth capabilities are informative only, unless the refusal is one Exchange gives to
    // the first command after AUTHENTICATE whatever it is (throttling, "not connected"): then
    // the session is over and that reply is the finding.
    let capabilities = tokio::time::timeout(req.timeout, session.capabilities()).await;
    if !tagged_ok(transcript) {
        let refusal = classify_refusal(Stage::List, transcript);
        if matches!(
            refusal.kind,
            FailureKind::Throttled | FailureKind::AuthenticatedNotConnected
        ) {
            rec.step(Stage::List, Instant::now(), false, refusal.message.clone());
            return Err(refusal);
        }
    } else if let Ok(Ok(caps)) = capabilities {
        let mut words: Vec<String> = caps
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4rev1".to_string(),
                async_imap::types::Capability::Auth(m) => format!("AUTH={m}"),
                async_imap::types::Capability::Atom(a) => a.clone(),
            })
            .collect();
        words.sort();
        facts.capabilities = words;
    }

    let t = Instant::now();
    let listed = tokio::time::timeout(req.timeout, async {
        let stream = session.list(Some(""), Some("*")).await?;
        stream.try_collect::<Vec<_>>().await
    })
    .await;
    let names = match listed {
        Err(_) => Err(timeout_failure(Stage::List, "LIST", req.timeout)),
        Ok(Err(e)) => Err(imap_failure(Stage::List, e, transcript, req.timeout)),
        Ok(Ok(names)) => match tagged_failure(Stage::List, transcript) {
            Some(f) => Err(f),
            None => Ok(names),
        },
    };
    let names = names.inspect_err(|f| rec.step(Stage::List, t, false, f.message.clone()))?;
    let folders: Vec<Folder> = names.iter().map(folder).collect();
    rec.step(Stage::List, t, true, format!("{} folders", folders.len()));
    facts.folders = Some(folders);

    if let Some(wanted) = options.examine.as_deref() {
        let t = Instant::now();
        let mailbox = examine(session, wanted, req, transcript)
            .await
            .inspect_err(|f| rec.step(Stage::Examine, t, false, f.message.clone()))?;
        rec.step(
            Stage::Examine,
            t,
            true,
            format!("{wanted}: {} messages", mailbox.exists),
        );
        facts.examined = Some(Examined {
            folder: wanted.to_string(),
            messages: mailbox.exists,
            recent: mailbox.recent,
            uid_validity: mailbox.uid_validity,
        });
    }
    if let Some(id) = options.find_message_id.as_deref() {
        find(session, id, req, transcript, rec, facts).await?;
    }
    Ok(())
}

/// EXAMINE (never SELECT: a check must not change the mailbox, not even \Recent flags).
async fn examine(
    session: &mut Session,
    folder: &str,
    req: &Request<'_>,
    transcript: &Transcript,
) -> Result<async_imap::types::Mailbox, Failure> {
    let wire = utf7::encode(folder);
    match tokio::time::timeout(req.timeout, session.examine(&wire)).await {
        Err(_) => Err(timeout_failure(Stage::Examine, "EXAMINE", req.timeout)),
        Ok(Err(e)) => Err(imap_failure(Stage::Examine, e, transcript, req.timeout)),
        Ok(Ok(m)) => Ok(m),
    }
}

/// Looks for a Message-ID in INBOX, re-examining between tries so new mail becomes visible.
/// Not finding it is a warning: delivery delay says nothing about OAuth.
async fn find(
    session: &mut Session,
    message_id: &str,
    req: &Request<'_>,
    transcript: &Transcript,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    // A Message-ID is an atom-like token; anything that would need escaping is refused.
    if message_id
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        rec.step(Stage::Search, t, false, "unsearchable Message-ID");
        facts
            .warnings
            .push(format!("cannot search for Message-ID {message_id:?}"));
        return Ok(());
    }
    let query = format!("HEADER Message-ID \"{message_id}\"");
    for attempt in 1..=FIND_ATTEMPTS {
        examine(session, "INBOX", req, transcript)
            .await
            .inspect_err(|f| rec.step(Stage::Search, t, false, f.message.clone()))?;
        let hits = match tokio::time::timeout(req.timeout, session.search(&query)).await {
            Err(_) => Err(timeout_failure(Stage::Search, "SEARCH", req.timeout)),
            Ok(Err(e)) => Err(imap_failure(Stage::Search, e, transcript, req.timeout)),
            Ok(Ok(hits)) => Ok(hits),
        }
        .inspect_err(|f| rec.step(Stage::Search, t, false, f.message.clone()))?;
        if !hits.is_empty() {
            let mut matches: Vec<u32> = hits.into_iter().collect();
            matches.sort_unstable();
            rec.step(
                Stage::Search,
                t,
                true,
                format!("{message_id} found in INBOX (try {attempt})"),
            );
            facts.found = Some(Found {
                folder: "INBOX".into(),
                message_id: message_id.to_string(),
                matches,
            });
            return Ok(());
        }
        if attempt < FIND_ATTEMPTS {
            tokio::time::sleep(FIND_INTERVAL).await;
        }
    }
    rec.step(
        Stage::Search,
        t,
        false,
        format!("{message_id} not in INBOX"),
    );
    facts.warnings.push(format!(
        "the test message {message_id} was not found in INBOX after {FIND_ATTEMPTS} tries; \
         delivery may be delayed or filtered"
    ));
    Ok(())
}

async fn logout(mut session: Session, req: &Request<'_>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    match tokio::time::timeout(req.timeout, session.logout()).await {
        Ok(Ok(())) => rec.step(Stage::Logout, t, true, ""),
        Ok(Err(e)) => {
            rec.step(Stage::Logout, t, false, e.to_string());
            facts
                .warnings
                .push(format!("LOGOUT did not complete cleanly: {e}"));
        }
        Err(_) => {
            rec.step(Stage::Logout, t, false, "no answer");
            facts
                .warnings
                .push("the server did not answer LOGOUT".into());
        }
    }
}

fn folder(name: &async_imap::types::Name) -> Folder {
    use async_imap::imap_proto::NameAttribute as A;
    let wire = name.name();
    let (decoded, wire_name) = match utf7::decode(wire) {
        Ok(d) if d == wire => (d, None),
        Ok(d) => (d, Some(wire.to_string())),
        Err(_) => (wire.to_string(), None),
    };
    let attributes = name
        .attributes()
        .iter()
        .map(|a| {
            match a {
                A::NoInferiors => "\\Noinferiors",
                A::NoSelect => "\\Noselect",
                A::Marked => "\\Marked",
                A::Unmarked => "\\Unmarked",
                A::All => "\\All",
                A::Archive => "\\Archive",
                A::Drafts => "\\Drafts",
                A::Flagged => "\\Flagged",
                A::Junk => "\\Junk",
                A::Sent => "\\Sent",
                A::Trash => "\\Trash",
                A::Extension(e) => e.as_ref(),
                _ => "\\Unknown",
            }
            .to_string()
        })
        .collect();
    Folder {
        name: decoded,
        wire_name,
        delimiter: name.delimiter().map(str::to_string),
        attributes,
    }
}

/// The tagged line that ended the last command, from the transcript.
fn last_tagged(transcript: &Transcript) -> Option<response::StatusLine> {
    transcript
        .last_reply()
        .iter()
        .rev()
        .find_map(|l| parse_status(l).filter(|s| s.tag.is_some()))
}

fn tagged_ok(transcript: &Transcript) -> bool {
    last_tagged(transcript).is_some_and(|s| s.status == Status::Ok)
}

/// A NO/BAD that async-imap swallowed, as a failure.
fn tagged_failure(stage: Stage, transcript: &Transcript) -> Option<Failure> {
    match last_tagged(transcript) {
        Some(s) if s.status == Status::Ok => None,
        Some(_) => Some(classify_refusal(stage, transcript)),
        // No tagged line at all: the server hung up or said BYE.
        None => Some(classify_refusal(stage, transcript)),
    }
}

/// A server refusal at `stage`, named by its words where Exchange's words are known.
fn classify_refusal(stage: Stage, transcript: &Transcript) -> Failure {
    let reply = transcript.last_reply();
    let text = reply.join("\n");
    let (kind, message) = if text.contains("User is authenticated but not connected") {
        (
            FailureKind::AuthenticatedNotConnected,
            "authenticated, but the server will not open the mailbox",
        )
    } else if text.contains("Request is throttled") {
        (FailureKind::Throttled, "the server is throttling requests")
    } else if text.contains("[UNAVAILABLE]") {
        (
            FailureKind::ServerTemporaryFailure,
            "the server could not process the authentication (temporary failure)",
        )
    } else {
        match stage {
            Stage::Auth => (FailureKind::AuthRejected, "the server rejected the token"),
            Stage::List => (FailureKind::ListFailed, "the server refused LIST"),
            Stage::Examine | Stage::Search => (
                FailureKind::ExamineFailed,
                "the server refused to open the folder",
            ),
            _ => (FailureKind::ProtocolError, "the server refused the command"),
        }
    };
    Failure::new(stage, kind, message).with_reply(reply)
}

fn imap_failure(
    stage: Stage,
    e: async_imap::error::Error,
    transcript: &Transcript,
    timeout: Duration,
) -> Failure {
    use async_imap::error::Error as E;
    match e {
        E::No(_) | E::Bad(_) => classify_refusal(stage, transcript),
        E::ConnectionLost => {
            let f = classify_refusal(stage, transcript);
            if f.kind == FailureKind::AuthenticatedNotConnected {
                f
            } else {
                transport_failure(stage, TransportError::Closed).with_reply(transcript.last_reply())
            }
        }
        E::Io(io) => {
            let te = TransportError::from(io);
            let te = match te {
                TransportError::Io(ref inner) if inner.kind() == std::io::ErrorKind::TimedOut => {
                    TransportError::Timeout {
                        stage: stage.name(),
                        after: timeout,
                    }
                }
                other => other,
            };
            transport_failure(stage, te).with_reply(transcript.last_reply())
        }
        E::Parse(p) => Failure::new(
            stage,
            FailureKind::ProtocolError,
            format!("could not parse the server's reply: {p}"),
        )
        .with_reply(transcript.last_reply()),
        other => Failure::new(stage, FailureKind::ProtocolError, other.to_string())
            .with_reply(transcript.last_reply()),
    }
}

fn timeout_failure(stage: Stage, command: &'static str, after: Duration) -> Failure {
    transport_failure(
        stage,
        TransportError::Timeout {
            stage: command,
            after,
        },
    )
}
