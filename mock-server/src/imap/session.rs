//! The IMAP session state machine, I/O-free: one complete client message in, the server's
//! bytes and what to do next out (RFC 3501, RFC 4959 SASL-IR, RFC 7628, XOAUTH2).
//!
//! ```text
//! S: * OK The Microsoft Exchange IMAP4 service is ready. [TQBPAEMASwAwADEA...]
//! C: A1 AUTHENTICATE XOAUTH2 dXNlcj1hbGljZUBjb250b3NvLmV4YW1wbGUBYXV0aD1CZWFyZXIg...
//! S: A1 OK AUTHENTICATE completed.
//! C: A2 LIST "" "*"
//! S: * LIST (\HasNoChildren) "/" Inbox
//! S: A2 OK LIST completed.
//! ```
//! A valid token for a mailbox the principal may not open (or whose IMAP is disabled) still
//! authenticates (as Exchange does); the first mailbox command then gets `BAD User is
//! authenticated but not connected.` and `* BYE Connection closed. 14`. Counts and SEARCH
//! read the shared message store, so they see mail delivered over SMTP.
//!
//! With `[faults] throttle = ["imap"]` the first command after a successful AUTHENTICATE
//! gets `<tag> BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds` and the
//! connection closes; with `throttle_first = K` the same (with `throttle_backoff_ms`) happens
//! after the first K AUTHENTICATEs naming each mailbox, and later ones go through.
//!
//! Commands are parsed with imap-codec; a small hand parser only pulls the tag (and
//! recognises AUTHENTICATE) out of lines imap-codec rejects, to answer them Exchange-style.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as WireMailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use imap_codec::{AuthenticateDataCodec, CommandCodec, IdleDoneCodec};

use super::responses::{self as r, CapabilitySet};
use super::{list, mutf7, search};
use crate::bearer::Protocol;
use crate::clock;
use crate::context::Context;
use crate::directory::{Folder, Mailbox};
use crate::faults::MailService;
use crate::sasl::{self, BearerCredentials};
use crate::store::Store;

/// What the driver does after sending [`Step::out`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read the next message.
    Read,
    /// Run a TLS handshake on this connection, then read.
    StartTls,
    /// Close the connection.
    Close,
}

/// The server's reaction to one client message.
#[derive(Debug)]
pub(crate) struct Step {
    /// CRLF-terminated lines to send (may be empty).
    pub out: String,
    pub next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    XOAuth2,
    OAuthBearer,
}

#[derive(Debug)]
enum State {
    NotAuthenticated,
    Authenticated {
        /// The mailbox this session is connected to; `None` = "authenticated but not connected".
        mailbox: Option<String>,
        /// Selected folder (Unicode name).
        selected: Option<String>,
    },
}

/// Which decoder the next client message needs.
#[derive(Debug)]
enum Expect {
    Command,
    /// After a bare `+`: one line of base64 (or `*`).
    SaslResponse {
        tag: String,
        mechanism: Mechanism,
    },
    /// After an error challenge: the client's acknowledgement, then `final_line`.
    SaslErrorAck {
        tag: String,
        final_line: &'static str,
    },
    /// After IDLE's continuation: `DONE`.
    IdleDone {
        tag: String,
    },
}

/// Collects CRLF-terminated output lines.
#[derive(Debug, Default)]
struct Out(String);

impl Out {
    fn line(&mut self, line: &str) {
        self.0.push_str(line);
        self.0.push_str("\r\n");
    }

    fn tagged(&mut self, tag: &str, text: &str) {
        self.0.push_str(tag);
        self.0.push(' ');
        self.line(text);
    }
}

/// One IMAP connection's protocol state.
#[derive(Debug)]
pub(crate) struct Session {
    ctx: Arc<Context>,
    tls: bool,
    offer_starttls: bool,
    state: State,
    expect: Expect,
    /// AUTHENTICATE just succeeded and this sign-in is throttled (`[faults] throttle` or
    /// `throttle_first`): the next command (LOGOUT excepted) gets the throttling reply with
    /// this backoff in milliseconds.
    throttle_pending: Option<u64>,
}

impl Session {
    /// `tls`: the connection is already TLS (implicit TLS listener).
    /// `offer_starttls`: plaintext listener with STARTTLS enabled.
    pub fn new(ctx: Arc<Context>, tls: bool, offer_starttls: bool) -> Session {
        Session {
            ctx,
            tls,
            offer_starttls: offer_starttls && !tls,
            state: State::NotAuthenticated,
            expect: Expect::Command,
            throttle_pending: None,
        }
    }

    /// The untagged greeting, CRLF-terminated.
    pub fn greeting(&self) -> String {
        let mut out = Out::default();
        out.line(&r::greeting(&self.ctx.backend_fqdn));
        out.0
    }

    /// Call after the STARTTLS handshake succeeded.
    pub fn tls_established(&mut self) {
        self.tls = true;
        self.offer_starttls = false;
    }

    /// Handles one complete client message (line plus any literals, CRLF included).
    pub fn on_message(&mut self, bytes: &[u8]) -> Step {
        let mut out = Out::default();
        let expect = std::mem::replace(&mut self.expect, Expect::Command);
        let next = match expect {
            Expect::Command => self.on_command(bytes, &mut out),
            Expect::SaslResponse { tag, mechanism } => {
                match AuthenticateDataCodec::default().decode(bytes) {
                    Ok(([], AuthenticateData::Continue(data))) => {
                        self.finish_sasl(&tag, mechanism, data.declassify(), &mut out)
                    }
                    Ok(([], AuthenticateData::Cancel)) => {
                        out.tagged(&tag, r::AUTH_CANCELLED);
                        Next::Read
                    }
                    _ => {
                        out.tagged(&tag, r::AUTH_FAILED);
                        Next::Read
                    }
                }
            }
            Expect::SaslErrorAck { tag, final_line } => {
                // Gmail wants an empty line, RFC 7628 a single ^A ("AQ=="); either way the
                // exchange fails now. A `*` cancels instead.
                if trim_eol(bytes) == b"*" {
                    out.tagged(&tag, r::AUTH_CANCELLED);
                } else {
                    out.tagged(&tag, final_line);
                }
                Next::Read
            }
            Expect::IdleDone { tag } => match IdleDoneCodec::default().decode(bytes) {
                Ok(([], _)) => {
                    out.tagged(&tag, "OK IDLE completed.");
                    Next::Read
                }
                _ => {
                    out.line(&format!("* {}", r::COMMAND_ERROR));
                    self.expect = Expect::IdleDone { tag };
                    Next::Read
                }
            },
        };
        Step { out: out.0, next }
    }

    fn log(&self, name: &str) {
        self.ctx.log.record(format!("IMAP {name}"));
    }

    fn capability_set(&self) -> CapabilitySet {
        match (&self.state, self.tls) {
            (_, false) => CapabilitySet::Plaintext {
                offer_starttls: self.offer_starttls,
            },
            (State::NotAuthenticated, true) => CapabilitySet::PreAuth,
            (State::Authenticated { .. }, true) => CapabilitySet::PostAuth,
        }
    }

    fn on_command(&mut self, bytes: &[u8], out: &mut Out) -> Next {
        let command = match CommandCodec::default().decode(bytes) {
            Ok(([], command)) => command,
            _ => return self.on_malformed(bytes, out),
        };
        let Command { tag, body } = command;
        let tag = tag.as_ref();
        match &body {
            CommandBody::Authenticate { mechanism, .. } => {
                self.log(&format!("AUTHENTICATE {}", mechanism_name(mechanism)));
            }
            CommandBody::Fetch { uid: true, .. }
            | CommandBody::Store { uid: true, .. }
            | CommandBody::Copy { uid: true, .. }
            | CommandBody::Move { uid: true, .. }
            | CommandBody::Search { uid: true, .. }
            | CommandBody::ExpungeUid { .. } => self.log(&format!("UID {}", body.name())),
            _ => self.log(body.name()),
        }
        if let Some(backoff_ms) = self.throttle_pending.take()
            && !matches!(body, CommandBody::Logout)
        {
            out.tagged(tag, &r::throttled(backoff_ms));
            return Next::Close;
        }

        match body {
            CommandBody::Capability => {
                out.line(&r::capability(self.capability_set(), &self.ctx.server));
                out.tagged(tag, r::CAPABILITY_OK);
            }
            CommandBody::Noop => out.tagged(tag, "OK NOOP completed."),
            CommandBody::Logout => {
                out.line(r::BYE_LOGOUT);
                out.tagged(tag, r::LOGOUT_OK);
                return Next::Close;
            }
            CommandBody::Id { .. } => {
                out.line("* ID NIL");
                out.tagged(tag, "OK ID completed.");
            }
            CommandBody::StartTLS => {
                if self.offer_starttls && matches!(self.state, State::NotAuthenticated) {
                    out.tagged(tag, r::STARTTLS_OK);
                    return Next::StartTls;
                }
                out.tagged(tag, r::COMMAND_ERROR);
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                let ir = initial_response.as_ref().map(|s| s.declassify().as_ref());
                return self.authenticate(tag, &mechanism, ir, out);
            }
            CommandBody::Login { .. } => {
                if !self.tls || !matches!(self.state, State::NotAuthenticated) {
                    out.tagged(tag, r::INVALID_STATE);
                } else {
                    out.tagged(tag, r::LOGIN_FAILED);
                }
            }
            body => return self.mailbox_command(tag, body, out),
        }
        Next::Read
    }

    /// A message imap-codec could not parse: `<tag> BAD Command Error. 12`, except that a
    /// recognisable `AUTHENTICATE <mech> <junk>` fails like a bad credential.
    fn on_malformed(&mut self, bytes: &[u8], out: &mut Out) -> Next {
        let mut words = trim_eol(bytes).split(|&b| b == b' ');
        let tag = words
            .next()
            .and_then(|t| std::str::from_utf8(t).ok())
            .filter(|t| is_tag(t));
        let verb = words.next().map(<[u8]>::to_ascii_uppercase);
        let mechanism = words.next().map(<[u8]>::to_ascii_uppercase);
        let has_argument = words.next().is_some();

        if let (Some(tag), Some(b"AUTHENTICATE"), Some(mech), true) =
            (tag, verb.as_deref(), mechanism.as_deref(), has_argument)
        {
            let name = match mech {
                b"XOAUTH2" | b"OAUTHBEARER" | b"PLAIN" => String::from_utf8_lossy(mech),
                _ => "OTHER".into(),
            };
            self.log(&format!("AUTHENTICATE {name}"));
            if self.auth_allowed() {
                out.tagged(tag, r::AUTH_FAILED);
            } else {
                out.tagged(tag, r::INVALID_STATE);
            }
            return Next::Read;
        }

        match verb.as_deref().filter(|v| is_word(v)) {
            Some(v) => self.log(&format!("{} (malformed)", String::from_utf8_lossy(v))),
            None => self.log("(malformed)"),
        }
        out.tagged(tag.unwrap_or("*"), r::COMMAND_ERROR);
        Next::Read
    }

    /// AUTHENTICATE is only possible over TLS and before authentication.
    fn auth_allowed(&self) -> bool {
        self.tls && matches!(self.state, State::NotAuthenticated)
    }

    fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &AuthMechanism<'_>,
        initial_response: Option<&[u8]>,
        out: &mut Out,
    ) -> Next {
        if !self.auth_allowed() {
            out.tagged(tag, r::INVALID_STATE);
            return Next::Read;
        }
        let mechanism = match mechanism {
            AuthMechanism::XOAuth2 => Mechanism::XOAuth2,
            AuthMechanism::OAuthBearer if self.ctx.server.oauthbearer => Mechanism::OAuthBearer,
            AuthMechanism::Plain => Mechanism::Plain,
            _ => {
                out.tagged(tag, r::AUTH_FAILED);
                return Next::Read;
            }
        };
        match initial_response {
            Some(data) => self.finish_sasl(tag, mechanism, data, out),
            None => {
                // Exchange sends a bare "+" (no space, no text).
                out.line("+");
                self.expect = Expect::SaslResponse {
                    tag: tag.to_owned(),
                    mechanism,
                };
                Next::Read
            }
        }
    }

    fn finish_sasl(&mut self, tag: &str, mechanism: Mechanism, data: &[u8], out: &mut Out) -> Next {
        let (credentials, challenge, final_line) = match mechanism {
            // Basic authentication is off, as in Exchange Online tenants today.
            Mechanism::Plain => (None, None, r::AUTH_FAILED),
            Mechanism::XOAuth2 => (
                sasl::decode_xoauth2(data).ok(),
                self.ctx
                    .server
                    .xoauth2_error_challenge
                    .then_some(sasl::GMAIL_XOAUTH2_ERROR_JSON),
                if self.ctx.server.xoauth2_error_challenge {
                    r::GMAIL_AUTH_FAILED
                } else {
                    r::AUTH_FAILED
                },
            ),
            Mechanism::OAuthBearer => (
                sasl::decode_oauthbearer(data).ok(),
                Some(sasl::OAUTHBEARER_ERROR_JSON),
                r::AUTH_FAILED,
            ),
        };
        let Some(credentials) = credentials else {
            out.tagged(tag, r::AUTH_FAILED);
            return Next::Read;
        };
        if self.sign_in(credentials) {
            out.tagged(tag, r::AUTH_OK);
            return Next::Read;
        }
        match challenge {
            Some(json) => {
                out.line(&format!("+ {}", STANDARD.encode(json)));
                self.expect = Expect::SaslErrorAck {
                    tag: tag.to_owned(),
                    final_line,
                };
            }
            None => out.tagged(tag, final_line),
        }
        Next::Read
    }

    /// Accepts a valid Exchange token with IMAP permission (`bearer`). Connects to `user`
    /// if the principal may open it and IMAP is enabled there (an OAUTHBEARER message
    /// without `a=` means the principal's own mailbox).
    fn sign_in(&mut self, credentials: BearerCredentials) -> bool {
        let directory = &self.ctx.directory;
        let checked = self.ctx.bearer.principal(
            &credentials.token,
            Protocol::Imap,
            directory,
            clock::now_secs(),
        );
        let Ok(principal) = checked else {
            return false;
        };
        let user = credentials.user.as_deref().unwrap_or(&principal);
        let mailbox = directory
            .open(&principal, user)
            .filter(|m| m.imap_enabled)
            .map(|m| m.address.clone());
        self.state = State::Authenticated {
            mailbox,
            selected: None,
        };
        // Counted per mailbox named (only configured ones), whether it opens or not:
        // Exchange throttles before it connects the mailbox.
        self.throttle_pending = directory
            .mailbox(user)
            .and_then(|m| self.ctx.throttle.sign_in(MailService::Imap, &m.address));
        true
    }

    fn mailbox_command(&mut self, tag: &str, body: CommandBody<'_>, out: &mut Out) -> Next {
        let ctx = Arc::clone(&self.ctx);
        let State::Authenticated { mailbox, selected } = &mut self.state else {
            out.tagged(tag, r::INVALID_STATE);
            return Next::Read;
        };
        let Some(mailbox) = mailbox.as_deref().and_then(|a| ctx.directory.mailbox(a)) else {
            out.tagged(tag, r::NOT_CONNECTED);
            out.line(r::BYE_NOT_CONNECTED);
            return Next::Close;
        };

        match body {
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => list_reply("LIST", tag, mailbox, &reference, &mailbox_wildcard, out),
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => list_reply("LSUB", tag, mailbox, &reference, &mailbox_wildcard, out),
            CommandBody::Namespace => {
                out.line("* NAMESPACE ((\"\" \"/\")) NIL NIL");
                out.tagged(tag, "OK NAMESPACE completed.");
            }
            CommandBody::Select { mailbox: name, .. } => {
                *selected = select(tag, &ctx.store, mailbox, &name, false, out);
            }
            CommandBody::Examine { mailbox: name, .. } => {
                *selected = select(tag, &ctx.store, mailbox, &name, true, out);
            }
            CommandBody::Status {
                mailbox: name,
                item_names,
            } => match find_folder(mailbox, &name) {
                Some(folder) => {
                    let counts = ctx.store.counts(&mailbox.address, &folder.name);
                    out.line(&status_line(folder, counts.unwrap_or((0, 1)), &item_names));
                    out.tagged(tag, "OK STATUS completed.");
                }
                None => out.tagged(tag, r::NO_SUCH_FOLDER),
            },
            CommandBody::Search { criteria, uid, .. } => {
                let Some(folder) = selected.as_deref() else {
                    out.tagged(tag, r::INVALID_STATE);
                    return Next::Read;
                };
                let line = ctx
                    .store
                    .with_folder(&mailbox.address, folder, |messages, _| {
                        search::search_line(messages, criteria.as_ref(), uid)
                    });
                match line.flatten() {
                    Some(line) => {
                        out.line(&line);
                        out.tagged(tag, r::SEARCH_OK);
                    }
                    None => out.tagged(tag, r::NOT_IMPLEMENTED),
                }
            }
            CommandBody::Idle => {
                out.line(r::IDLE_CONTINUE);
                self.expect = Expect::IdleDone {
                    tag: tag.to_owned(),
                };
            }
            CommandBody::Close | CommandBody::Unselect | CommandBody::Check => {
                let verb = match body {
                    CommandBody::Close => "CLOSE",
                    CommandBody::Unselect => "UNSELECT",
                    _ => "CHECK",
                };
                if selected.is_none() {
                    out.tagged(tag, r::INVALID_STATE);
                } else {
                    if verb != "CHECK" {
                        *selected = None;
                    }
                    out.tagged(tag, &format!("OK {verb} completed."));
                }
            }
            // Not advertised by Exchange: its parser does not know them.
            CommandBody::Enable { .. }
            | CommandBody::Compress { .. }
            | CommandBody::GetQuota { .. }
            | CommandBody::GetQuotaRoot { .. }
            | CommandBody::SetQuota { .. }
            | CommandBody::Sort { .. }
            | CommandBody::Thread { .. } => out.tagged(tag, r::COMMAND_ERROR),
            // Exchange implements these; the mock models folders, counts and SEARCH only.
            _ => out.tagged(tag, r::NOT_IMPLEMENTED),
        }
        Next::Read
    }
}

fn list_reply(
    verb: &str,
    tag: &str,
    mailbox: &Mailbox,
    reference: &WireMailbox<'_>,
    wildcard: &ListMailbox<'_>,
    out: &mut Out,
) {
    let mut pattern = wire_name(reference).to_vec();
    pattern.extend_from_slice(match wildcard {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    });
    for line in list::lines(verb, &mailbox.folders, &pattern) {
        out.line(&line);
    }
    out.tagged(tag, &format!("OK {verb} completed."));
}

fn wire_name<'a>(mailbox: &'a WireMailbox<'_>) -> &'a [u8] {
    match mailbox {
        WireMailbox::Inbox => b"INBOX",
        WireMailbox::Other(other) => other.as_ref(),
    }
}

/// Finds a folder by its wire (mUTF-7) name: exact first, then ASCII case-insensitive.
fn find_folder<'a>(mailbox: &'a Mailbox, name: &WireMailbox<'_>) -> Option<&'a Folder> {
    if let WireMailbox::Inbox = name {
        return mailbox.folder("inbox");
    }
    let wanted = wire_name(name);
    let encoded: Vec<(String, &Folder)> = mailbox
        .folders
        .iter()
        .map(|f| (mutf7::encode(&f.name), f))
        .collect();
    encoded
        .iter()
        .find(|(wire, _)| wire.as_bytes() == wanted)
        .or_else(|| {
            encoded
                .iter()
                .find(|(wire, _)| wire.as_bytes().eq_ignore_ascii_case(wanted))
        })
        .map(|(_, f)| *f)
}

/// SELECT/EXAMINE; returns the new selection (none on failure, per RFC 3501).
fn select(
    tag: &str,
    store: &Store,
    mailbox: &Mailbox,
    name: &WireMailbox<'_>,
    read_only: bool,
    out: &mut Out,
) -> Option<String> {
    let Some(folder) = find_folder(mailbox, name) else {
        out.tagged(tag, r::NO_SUCH_FOLDER);
        return None;
    };
    let (exists, uid_next) = store
        .counts(&mailbox.address, &folder.name)
        .unwrap_or((0, 1));
    out.line(&format!("* {exists} EXISTS"));
    out.line("* 0 RECENT");
    out.line(r::FLAGS);
    if read_only {
        out.line("* OK [PERMANENTFLAGS ()] Permanent flags");
    } else {
        out.line(
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags",
        );
    }
    out.line(&format!(
        "* OK [UIDVALIDITY {}] UIDVALIDITY value",
        r::UIDVALIDITY
    ));
    out.line(&format!(
        "* OK [UIDNEXT {uid_next}] The next unique identifier value"
    ));
    if read_only {
        out.tagged(tag, "OK [READ-ONLY] EXAMINE completed.");
    } else {
        out.tagged(tag, "OK [READ-WRITE] SELECT completed.");
    }
    Some(folder.name.clone())
}

fn status_line(
    folder: &Folder,
    (n, uid_next): (usize, u32),
    items: &[StatusDataItemName],
) -> String {
    let values: Vec<String> = items
        .iter()
        .map(|item| match item {
            StatusDataItemName::Messages => format!("MESSAGES {n}"),
            StatusDataItemName::Recent => "RECENT 0".to_owned(),
            StatusDataItemName::UidNext => format!("UIDNEXT {uid_next}"),
            StatusDataItemName::UidValidity => format!("UIDVALIDITY {}", r::UIDVALIDITY),
            StatusDataItemName::Unseen => "UNSEEN 0".to_owned(),
            StatusDataItemName::Deleted => "DELETED 0".to_owned(),
            StatusDataItemName::DeletedStorage => "DELETED-STORAGE 0".to_owned(),
        })
        .collect();
    format!(
        "* STATUS {} ({})",
        list::astring(&mutf7::encode(&folder.name)),
        values.join(" ")
    )
}

fn mechanism_name(mechanism: &AuthMechanism<'_>) -> String {
    match mechanism {
        AuthMechanism::Other(_) => "OTHER".to_owned(),
        known => known.as_ref().to_owned(),
    }
}

fn trim_eol(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// RFC 3501 tag: 1*<any ASTRING-CHAR except "+">; capped so it is safe to echo.
fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 64
        && tag.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
        })
}

fn is_word(word: &[u8]) -> bool {
    !word.is_empty() && word.len() <= 32 && word.iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests;
