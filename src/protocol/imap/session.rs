//! The authenticated session: LIST, the optional EXAMINE and SEARCH, and LOGOUT, changing
//! nothing (RFC 3501 §6.1.1, §6.3.2, §6.3.8, §6.4.4, §6.1.3). Each command's outcome is its
//! parsed tagged completion (see `command`). With pipelining (the default) LIST and EXAMINE
//! went out with AUTHENTICATE and only their replies are read here, and LOGOUT is sent without
//! waiting for its reply:
//!
//! ```text
//! (C: A1 AUTHENTICATE ...  C: A2 LIST "" "*"  C: A3 EXAMINE "Inbox")   S: A1 OK
//! S: * LIST (\HasNoChildren) "/" Inbox ...  A2 OK
//! S: A2 BAD User is authenticated but not connected.  * BYE ...
//! S: * 3 EXISTS  * 0 RECENT  * OK [UIDVALIDITY 14] ...  A3 OK
//! C: A4 SEARCH HEADER Message-ID "<id>"   S: * SEARCH 3  A4 OK
//! C: A5 LOGOUT   <close>
//! ```
//! One command at a time (`--no-pipelining`), as before: `C: A2 CAPABILITY`, then LIST,
//! EXAMINE, SEARCH, each after the previous reply, and LOGOUT waited for.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_imap::imap_proto::{
    MailboxDatum, MailboxListData, NameAttribute, Outcome, Response, ResponseCode,
};

use super::command::{self, Conn, Reply, Stream};
use super::failure::{Evidence, incomplete, refused};
use super::utf7;
use crate::outcome::{Failure, FailureKind, Recorder, Stage};
use crate::plan::ImapOptions;
use crate::protocol::Facts;
use crate::protocol::record::{record, record_failure};
use crate::protocol::{Examined, Folder, Found};
use crate::transport::tap::Transcript;

/// How often and how long to look for a just-sent message: delivery is not instant on real
/// servers, so a miss is retried before it becomes a warning.
const FIND_ATTEMPTS: u32 = 10;
const FIND_INTERVAL: Duration = Duration::from_secs(1);

/// The session and what every command needs besides it.
pub struct Checks<'s, T: Stream> {
    pub conn: &'s mut Conn<T>,
    pub timeout: Duration,
    /// Most untagged responses to one command (and so most folders listed).
    pub max_responses: usize,
    pub transcript: &'s Transcript,
    /// One command at a time, as before pipelining: the post-authentication CAPABILITY is
    /// asked for and LOGOUT's reply is waited for.
    pub sequential: bool,
    /// The commands that went out with AUTHENTICATE.
    pub ahead: Option<Ahead>,
}

/// Commands sent in the same write as AUTHENTICATE (with SASL-IR), by tag: their replies
/// follow AUTHENTICATE's completion in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ahead {
    pub auth: String,
    pub list: String,
    /// EXAMINE of the folder asked for, when its name can be sent.
    pub examine: Option<String>,
    /// The command lines, CRLF included.
    pub lines: String,
}

/// Tags and lines for LIST and, when asked, EXAMINE, to follow AUTHENTICATE `auth`.
pub fn ahead<T: Stream>(conn: &mut Conn<T>, auth: &str, options: &ImapOptions) -> Ahead {
    let list = conn.tag();
    let mut lines = format!("{list} LIST {EVERY_FOLDER}\r\n");
    let examine = options
        .examine
        .as_deref()
        .and_then(|folder| command::quote(&utf7::encode(folder)))
        .map(|quoted| {
            let tag = conn.tag();
            lines.push_str(&format!("{tag} EXAMINE {quoted}\r\n"));
            tag
        });
    Ahead {
        auth: auth.to_string(),
        list,
        examine,
        lines,
    }
}

/// LIST's arguments: every folder, from the root.
const EVERY_FOLDER: &str = "\"\" \"*\"";

/// A command already sent: its tag, and the tag whose completion its reply follows.
#[derive(Clone, Copy)]
struct Sent<'a> {
    tag: &'a str,
    after: &'a str,
}

impl<T: Stream> Checks<'_, T> {
    /// Runs `verb args` (or reads the reply to it when it was `sent` ahead) and demands OK:
    /// any other completion, or none, is the failure at `stage`.
    async fn ok(
        &mut self,
        stage: Stage,
        verb: &'static str,
        args: &str,
        sent: Option<Sent<'_>>,
        on_data: impl FnMut(&Response<'_>) + Send,
    ) -> Result<Reply, Failure> {
        let (timeout, max) = (self.timeout, self.max_responses);
        let result = match sent {
            Some(s) => command::complete(self.conn, s.tag, verb, timeout, max, on_data).await,
            None => command::run(self.conn, verb, args, timeout, max, on_data).await,
        };
        let evidence = match sent {
            Some(s) => Evidence::sent(self.transcript, s.tag, Some(s.after)),
            None => Evidence::last(self.transcript),
        };
        match result {
            Ok(reply) if reply.is_ok() => Ok(reply),
            Ok(reply) => Err(refused(stage, &reply, &evidence)),
            Err(e) => Err(incomplete(stage, e, self.timeout, &evidence)),
        }
    }
}

/// Whether the session can carry another command once the checks are done.
#[derive(Debug, PartialEq, Eq)]
pub enum Session {
    Usable,
    /// Stopped inside an endless reply: the rest of it is still on the wire.
    MidReply,
}

/// LIST, and the optional EXAMINE and SEARCH after authentication (CAPABILITY first when
/// sequential).
pub async fn mailbox_checks<T: Stream>(
    c: &mut Checks<'_, T>,
    options: &ImapOptions,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<Session, Failure> {
    if c.sequential {
        capabilities(c, rec, facts).await?;
    }
    let ahead = c.ahead.clone();

    let t = Instant::now();
    let mut folders = Vec::new();
    let (timeout, max) = (c.timeout, c.max_responses);
    let on_list = |r: &Response<'_>| folders.extend(list_entry(r));
    let (result, evidence) = match &ahead {
        Some(a) => (
            command::complete(c.conn, &a.list, "LIST", timeout, max, on_list).await,
            Evidence::sent(c.transcript, &a.list, Some(&a.auth)),
        ),
        None => (
            command::run(c.conn, "LIST", EVERY_FOLDER, timeout, max, on_list).await,
            Evidence::last(c.transcript),
        ),
    };
    let listed = match result {
        Ok(reply) if reply.is_ok() => Ok(folders),
        Ok(reply) => Err(refused(Stage::List, &reply, &evidence)),
        // An endless LIST is the server's problem, not the token's: the first folders are
        // shown with a warning, and the session (now mid-reply) carries no further command.
        Err(command::CommandError::TooLong { limit, .. }) => {
            rec.step(
                Stage::List,
                t,
                true,
                format!("{} folders (stopped at the cap)", folders.len()),
            );
            facts.warnings.push(format!(
                "the server listed more than {limit} folders; stopped after the first {}",
                folders.len()
            ));
            if options.examine.is_some() || options.find_message_id.is_some() {
                facts.warnings.push(
                    "EXAMINE and SEARCH were skipped: the session ended mid-LIST".to_string(),
                );
            }
            facts.folders = Some(folders);
            return Ok(Session::MidReply);
        }
        Err(e) => Err(incomplete(Stage::List, e, c.timeout, &evidence)),
    };
    let folders = record(rec, Stage::List, t, listed, |f| {
        format!("{} folders", f.len())
    })?;
    facts.folders = Some(folders);

    if let Some(wanted) = options.examine.as_deref() {
        let t = Instant::now();
        let sent = ahead.as_ref().and_then(|a| {
            a.examine.as_deref().map(|tag| Sent {
                tag,
                after: &a.list,
            })
        });
        let examined = examine(c, wanted, sent).await;
        let examined = record(rec, Stage::Examine, t, examined, |e| {
            format!("{wanted}: {} messages", e.messages)
        })?;
        facts.examined = Some(examined);
    }
    if let Some(id) = options.find_message_id.as_deref() {
        find(c, id, rec, facts).await?;
    }
    Ok(Session::Usable)
}

/// Post-auth capabilities are informative only, unless the refusal is one Exchange gives to
/// the first command after AUTHENTICATE whatever it is (throttling, "not connected"): then the
/// session is over and that reply is the finding, recorded against LIST.
async fn capabilities<T: Stream>(
    c: &mut Checks<'_, T>,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<(), Failure> {
    let t = Instant::now();
    let mut words = Vec::new();
    let refusal = match c
        .ok(Stage::List, "CAPABILITY", "", None, |r| {
            words.extend(capability_words(r))
        })
        .await
    {
        Ok(_) => {
            if !words.is_empty() {
                words.sort();
                facts.capabilities = words;
            }
            return Ok(());
        }
        Err(f) => f,
    };
    if matches!(
        refusal.kind,
        FailureKind::Throttled | FailureKind::AuthenticatedNotConnected
    ) {
        return record_failure(rec, Stage::List, t, Err(refusal));
    }
    Ok(())
}

fn capability_words(response: &Response<'_>) -> Vec<String> {
    use async_imap::imap_proto::Capability as C;
    match response {
        Response::Capabilities(caps) => caps
            .iter()
            .map(|c| match c {
                C::Imap4rev1 => "IMAP4rev1".to_string(),
                C::Auth(m) => format!("AUTH={m}"),
                C::Atom(a) => a.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// EXAMINE (never SELECT: a check must not change the mailbox, not even \Recent flags), or
/// the reply to the EXAMINE `sent` ahead.
async fn examine<T: Stream>(
    c: &mut Checks<'_, T>,
    folder: &str,
    sent: Option<Sent<'_>>,
) -> Result<Examined, Failure> {
    let Some(quoted) = command::quote(&utf7::encode(folder)) else {
        return Err(Failure::new(
            Stage::Examine,
            FailureKind::ProtocolError,
            "the folder name contains a line break, which IMAP cannot send",
        ));
    };
    let mut examined = Examined {
        folder: folder.to_string(),
        messages: 0,
        recent: 0,
        uid_validity: None,
    };
    c.ok(Stage::Examine, "EXAMINE", &quoted, sent, |r| match r {
        Response::MailboxData(MailboxDatum::Exists(n)) => examined.messages = *n,
        Response::MailboxData(MailboxDatum::Recent(n)) => examined.recent = *n,
        Response::Data {
            outcome:
                Outcome {
                    code: Some(ResponseCode::UidValidity(v)),
                    ..
                },
            ..
        } => examined.uid_validity = Some(*v),
        _ => {}
    })
    .await?;
    Ok(examined)
}

/// Looks for a Message-ID in INBOX, re-examining between tries so new mail becomes visible.
/// Not finding it is a warning: delivery delay says nothing about OAuth.
async fn find<T: Stream>(
    c: &mut Checks<'_, T>,
    message_id: &str,
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
        record_failure(rec, Stage::Search, t, examine(c, "INBOX", None).await)?;
        let mut matches = BTreeSet::new();
        let searched = c
            .ok(Stage::Search, "SEARCH", &query, None, |r| {
                if let Response::MailboxData(MailboxDatum::Search(ids)) = r {
                    matches.extend(ids.iter().copied());
                }
            })
            .await;
        record_failure(rec, Stage::Search, t, searched)?;
        if !matches.is_empty() {
            rec.step(
                Stage::Search,
                t,
                true,
                format!("{message_id} found in INBOX (try {attempt})"),
            );
            facts.found = Some(Found {
                folder: "INBOX".into(),
                message_id: message_id.to_string(),
                matches: matches.into_iter().collect(),
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

/// LOGOUT after a check that passed. Pipelined, it is sent and the connection closed without
/// waiting for the reply, which could change nothing in the report: the check has passed.
/// Sequential, a server that does not end the session cleanly earns a warning, not a failure.
pub async fn logout<T: Stream>(c: &mut Checks<'_, T>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    if !c.sequential {
        let line = format!("{} LOGOUT\r\n", c.conn.tag());
        let sent = tokio::time::timeout(c.timeout, c.conn.write(line.as_bytes())).await;
        match sent {
            Ok(Ok(())) => rec.step(Stage::Logout, t, true, "sent, not waited for"),
            Ok(Err(e)) => {
                rec.step(Stage::Logout, t, false, e.to_string());
                facts
                    .warnings
                    .push(format!("LOGOUT could not be sent: {e}"));
            }
            Err(_) => {
                rec.step(Stage::Logout, t, false, "could not be sent in time");
                facts
                    .warnings
                    .push("LOGOUT could not be sent in time".into());
            }
        }
        c.conn.close(c.timeout).await;
        return;
    }
    match command::run(c.conn, "LOGOUT", "", c.timeout, c.max_responses, |_| {}).await {
        Ok(reply) if reply.is_ok() => rec.step(Stage::Logout, t, true, ""),
        Ok(reply) => {
            let said = format!("{} {}", reply.status.name(), reply.text);
            rec.step(Stage::Logout, t, false, said.clone());
            facts
                .warnings
                .push(format!("LOGOUT did not complete cleanly: {said}"));
        }
        Err(command::CommandError::Timeout { .. }) => {
            rec.step(Stage::Logout, t, false, "no answer");
            facts
                .warnings
                .push("the server did not answer LOGOUT".into());
        }
        Err(e) => {
            rec.step(Stage::Logout, t, false, e.to_string());
            facts
                .warnings
                .push(format!("LOGOUT did not complete cleanly: {e}"));
        }
    }
}

/// A `* LIST` response as a report folder, its name decoded from modified UTF-7.
fn list_entry(response: &Response<'_>) -> Option<Folder> {
    let Response::MailboxData(MailboxDatum::List(MailboxListData {
        name_attributes,
        delimiter,
        name,
    })) = response
    else {
        return None;
    };
    let wire: &str = name;
    let (decoded, wire_name) = match utf7::decode(wire) {
        Ok(d) if d == wire => (d, None),
        Ok(d) => (d, Some(wire.to_string())),
        Err(_) => (wire.to_string(), None),
    };
    let attributes = name_attributes
        .iter()
        .map(|a| {
            use NameAttribute as A;
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
    Some(Folder {
        name: decoded,
        wire_name,
        delimiter: delimiter.as_deref().map(str::to_string),
        attributes,
    })
}
