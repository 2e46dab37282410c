//! The authenticated session: CAPABILITY, LIST, the optional EXAMINE and SEARCH, and LOGOUT,
//! changing nothing (RFC 3501 §6.1.1, §6.3.2, §6.3.8, §6.4.4, §6.1.3). Each command's outcome
//! is its parsed tagged completion (see `command`).
//!
//! ```text
//! C: A2 CAPABILITY          S: * CAPABILITY ...  A2 OK
//! C: A3 LIST "" "*"       S: * LIST (\HasNoChildren) "/" Inbox ...  A3 OK
//!                           S: A3 BAD User is authenticated but not connected.  * BYE ...
//! C: A4 EXAMINE "Inbox"     S: * 3 EXISTS  * 0 RECENT  * OK [UIDVALIDITY 14] ...  A4 OK
//! C: A5 SEARCH HEADER Message-ID "<id>"   S: * SEARCH 3  A5 OK
//! C: A6 LOGOUT              S: * BYE ...  A6 OK
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_imap::imap_proto::{
    MailboxDatum, MailboxListData, NameAttribute, Outcome, Response, ResponseCode,
};

use super::command::{self, Reply, Stream};
use super::failure::{incomplete, refused};
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
    pub session: &'s mut command::Session<T>,
    pub timeout: Duration,
    /// Most untagged responses to one command (and so most folders listed).
    pub max_responses: usize,
    pub transcript: &'s Transcript,
}

impl<T: Stream> Checks<'_, T> {
    /// Runs `verb args` and demands OK: any other completion, or none, is the failure at
    /// `stage`.
    async fn ok(
        &mut self,
        stage: Stage,
        verb: &'static str,
        args: &str,
        on_data: impl FnMut(&Response<'_>) + Send,
    ) -> Result<Reply, Failure> {
        let (timeout, max) = (self.timeout, self.max_responses);
        match command::run(self.session, verb, args, timeout, max, on_data).await {
            Ok(reply) if reply.is_ok() => Ok(reply),
            Ok(reply) => Err(refused(stage, &reply, self.transcript)),
            Err(e) => Err(incomplete(stage, e, self.timeout, self.transcript)),
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

/// CAPABILITY, LIST, and the optional EXAMINE and SEARCH after authentication.
pub async fn mailbox_checks<T: Stream>(
    c: &mut Checks<'_, T>,
    options: &ImapOptions,
    rec: &mut Recorder,
    facts: &mut Facts,
) -> Result<Session, Failure> {
    capabilities(c, rec, facts).await?;

    let t = Instant::now();
    let mut folders = Vec::new();
    let max = c.max_responses;
    let listed = match command::run(c.session, "LIST", "\"\" \"*\"", c.timeout, max, |r| {
        folders.extend(list_entry(r))
    })
    .await
    {
        Ok(reply) if reply.is_ok() => Ok(folders),
        Ok(reply) => Err(refused(Stage::List, &reply, c.transcript)),
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
        Err(e) => Err(incomplete(Stage::List, e, c.timeout, c.transcript)),
    };
    let folders = record(rec, Stage::List, t, listed, |f| {
        format!("{} folders", f.len())
    })?;
    facts.folders = Some(folders);

    if let Some(wanted) = options.examine.as_deref() {
        let t = Instant::now();
        let examined = record(rec, Stage::Examine, t, examine(c, wanted).await, |e| {
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
        .ok(Stage::List, "CAPABILITY", "", |r| {
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

/// EXAMINE (never SELECT: a check must not change the mailbox, not even \Recent flags).
async fn examine<T: Stream>(c: &mut Checks<'_, T>, folder: &str) -> Result<Examined, Failure> {
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
    c.ok(Stage::Examine, "EXAMINE", &quoted, |r| match r {
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
        record_failure(rec, Stage::Search, t, examine(c, "INBOX").await)?;
        let mut matches = BTreeSet::new();
        let searched = c
            .ok(Stage::Search, "SEARCH", &query, |r| {
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

/// LOGOUT after a check that passed; a server that does not end the session cleanly earns a
/// warning, not a failure.
pub async fn logout<T: Stream>(c: &mut Checks<'_, T>, rec: &mut Recorder, facts: &mut Facts) {
    let t = Instant::now();
    match command::run(c.session, "LOGOUT", "", c.timeout, c.max_responses, |_| {}).await {
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
