//! The POP3 session state machine, I/O-free: one client line in, the server's bytes and
//! what to do next out (RFC 1939 states, RFC 5034 AUTH, RFC 2595 STLS, XOAUTH2).
//!
//! ```text
//! S: +OK The Microsoft Exchange POP3 service is ready. [TQBPAEMASwAwADEA...]
//! C: AUTH XOAUTH2
//! S: +
//! C: dXNlcj1hbGljZUBjb250b3NvLmV4YW1wbGUBYXV0aD1CZWFyZXIg...
//! S: +OK User successfully authenticated.
//! C: STAT
//! S: +OK 3 1290
//! C: DELE 1
//! S: +OK
//! C: QUIT
//! S: +OK Microsoft Exchange Server POP3 server signing off.   (message 1 is gone now)
//! ```
//! Unlike IMAP, POP3 opens the mailbox at AUTH: a valid token whose principal may not open
//! the `user=` mailbox, or a mailbox with POP disabled, fails AUTH itself. The maildrop is
//! the Inbox as it was at AUTH; deletions reach the store only at QUIT. With
//! `[faults] throttle = ["pop"]` a successful AUTH is answered `-ERR Request is throttled. …`
//! instead, and the session stays in the authorization state.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::command::{self, Command, ParseError};
use super::responses as r;
use crate::bearer::Protocol;
use crate::clock;
use crate::context::Context;
use crate::dot;
use crate::faults::MailService;
use crate::lines::{LineSession, Next, Out, Step};
use crate::rfc5322;
use crate::sasl::{self, BearerCredentials};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    XOAuth2,
    OAuthBearer,
}

/// One message of the maildrop.
#[derive(Debug)]
struct Entry {
    uid: u32,
    raw: Vec<u8>,
    deleted: bool,
}

#[derive(Debug)]
enum State {
    Authorization,
    Transaction { mailbox: String, drop: Vec<Entry> },
}

#[derive(Debug)]
enum Expect {
    Command,
    /// After the bare `+`: one base64 line (or `*`).
    SaslResponse(Mechanism),
    /// After an error challenge: the client's acknowledgement, then `final_line`.
    SaslErrorAck {
        final_line: &'static str,
    },
}

/// One POP3 connection's protocol state.
#[derive(Debug)]
pub(crate) struct Session {
    ctx: Arc<Context>,
    tls: bool,
    /// This plaintext connection offers STLS (until TLS is up).
    offer_stls: bool,
    /// This connection started plaintext with STLS enabled.
    stls_listener: bool,
    state: State,
    expect: Expect,
}

impl Session {
    /// `tls`: already TLS (implicit listener). `offer_stls`: plaintext with STLS enabled.
    pub fn new(ctx: Arc<Context>, tls: bool, offer_stls: bool) -> Session {
        Session {
            ctx,
            tls,
            offer_stls: offer_stls && !tls,
            stls_listener: offer_stls && !tls,
            state: State::Authorization,
            expect: Expect::Command,
        }
    }

    fn log(&self, name: &str) {
        self.ctx.log.record(format!("POP3 {name}"));
    }

    fn on_command(&mut self, line: &[u8], out: &mut Out) -> Next {
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(ParseError::Arguments(verb)) => {
                self.log(verb);
                out.line(r::PROTOCOL_ERROR);
                return Next::Read;
            }
            Err(ParseError::Unknown(verb)) => {
                match verb {
                    Some(verb) => self.log(&format!("{verb} (unknown)")),
                    None => self.log("(malformed)"),
                }
                out.line(r::PROTOCOL_ERROR);
                return Next::Read;
            }
        };
        self.log(&command.log_name());
        let authorization = matches!(self.state, State::Authorization);
        match command {
            Command::Capa => {
                for line in r::capa(self.tls, self.offer_stls, &self.ctx.server) {
                    out.line(&line);
                }
            }
            Command::Quit => {
                if let State::Transaction { mailbox, drop } = &self.state {
                    let gone: Vec<u32> = drop.iter().filter(|e| e.deleted).map(|e| e.uid).collect();
                    self.ctx.store.expunge(mailbox, "Inbox", &gone);
                }
                out.line(r::SIGNING_OFF);
                return Next::Close;
            }
            Command::Stls => {
                if self.offer_stls && authorization {
                    out.line(r::STLS_OK);
                    return Next::StartTls;
                }
                // Advertised but too late: wrong state; never advertised: unknown.
                out.line(if self.stls_listener {
                    r::INVALID_STATE
                } else {
                    r::PROTOCOL_ERROR
                });
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                if !self.tls || !authorization {
                    out.line(r::INVALID_STATE);
                    return Next::Read;
                }
                return self.auth(&mechanism, initial_response, out);
            }
            Command::User if self.tls && authorization => out.line(r::OK),
            // Basic authentication is off, as in Exchange Online tenants today.
            Command::Pass if self.tls && authorization => out.line(r::AUTH_FAILED),
            Command::User | Command::Pass => out.line(r::INVALID_STATE),
            command => self.transaction(command, out),
        }
        Next::Read
    }

    fn auth(&mut self, mechanism: &str, initial_response: Option<&[u8]>, out: &mut Out) -> Next {
        let mechanism = match mechanism {
            "XOAUTH2" => Mechanism::XOAuth2,
            "PLAIN" => Mechanism::Plain,
            "OAUTHBEARER" if self.ctx.server.oauthbearer => Mechanism::OAuthBearer,
            _ => {
                out.line(r::PROTOCOL_ERROR);
                return Next::Read;
            }
        };
        match initial_response {
            // RFC 5034 allows it, but Exchange wants AUTH XOAUTH2 on a line of its own.
            Some(data) if mechanism == Mechanism::OAuthBearer => {
                self.finish_sasl(mechanism, data, out)
            }
            Some(_) => {
                out.line(r::PROTOCOL_ERROR);
                Next::Read
            }
            None => {
                // Exchange sends a bare "+" (no space, no text), as for IMAP.
                out.line("+");
                self.expect = Expect::SaslResponse(mechanism);
                Next::Read
            }
        }
    }

    fn finish_sasl(&mut self, mechanism: Mechanism, b64: &[u8], out: &mut Out) -> Next {
        if b64 == b"*" {
            out.line(r::AUTH_CANCELLED);
            return Next::Read;
        }
        let decoded = STANDARD.decode(b64).ok();
        let gmail = self.ctx.server.xoauth2_error_challenge;
        let (credentials, challenge, final_line) = match mechanism {
            Mechanism::Plain => (None, None, r::AUTH_FAILED),
            Mechanism::XOAuth2 => (
                decoded
                    .as_deref()
                    .and_then(|d| sasl::decode_xoauth2(d).ok()),
                gmail.then_some(sasl::GMAIL_XOAUTH2_ERROR_JSON),
                if gmail {
                    r::GMAIL_AUTH_FAILED
                } else {
                    r::AUTH_FAILED
                },
            ),
            Mechanism::OAuthBearer => (
                decoded
                    .as_deref()
                    .and_then(|d| sasl::decode_oauthbearer(d).ok()),
                Some(sasl::OAUTHBEARER_ERROR_JSON),
                r::AUTH_FAILED,
            ),
        };
        let Some(credentials) = credentials else {
            out.line(r::AUTH_FAILED);
            return Next::Read;
        };
        if self.sign_in(credentials) {
            let throttled = match &self.state {
                State::Transaction { mailbox, .. } => {
                    self.ctx.throttle.sign_in(MailService::Pop, mailbox)
                }
                _ => None,
            };
            if let Some(backoff_ms) = throttled {
                // The token was good, but the backend refuses the session.
                self.state = State::Authorization;
                out.line(&r::throttled(backoff_ms));
            } else {
                out.line(r::AUTH_OK);
            }
            return Next::Read;
        }
        match challenge {
            Some(json) => {
                out.line(&format!("+ {}", STANDARD.encode(json)));
                self.expect = Expect::SaslErrorAck { final_line };
            }
            None => out.line(final_line),
        }
        Next::Read
    }

    /// Opens the `user=` mailbox if the token is a valid Exchange token with POP
    /// permission (`bearer`), its principal may open the mailbox and POP is enabled there;
    /// the maildrop is a snapshot of the Inbox.
    fn sign_in(&mut self, credentials: BearerCredentials) -> bool {
        let directory = &self.ctx.directory;
        let checked = self.ctx.bearer.principal(
            &credentials.token,
            Protocol::Pop3,
            directory,
            clock::now_secs(),
        );
        let Ok(principal) = checked else {
            return false;
        };
        let user = credentials.user.as_deref().unwrap_or(&principal);
        let Some(mailbox) = directory.open(&principal, user).filter(|m| m.pop_enabled) else {
            return false;
        };
        let drop = self
            .ctx
            .store
            .messages(&mailbox.address, "Inbox")
            .into_iter()
            .map(|m| Entry {
                uid: m.uid,
                raw: m.raw,
                deleted: false,
            })
            .collect();
        self.state = State::Transaction {
            mailbox: mailbox.address.clone(),
            drop,
        };
        true
    }

    fn transaction(&mut self, command: Command<'_>, out: &mut Out) {
        let State::Transaction { drop, .. } = &mut self.state else {
            out.line(r::INVALID_STATE);
            return;
        };
        let live = || drop.iter().enumerate().filter(|(_, e)| !e.deleted);
        match command {
            Command::Stat => {
                let octets: usize = live().map(|(_, e)| e.raw.len()).sum();
                out.line(&format!("+OK {} {octets}", live().count()));
            }
            Command::Noop => out.line(r::OK),
            Command::Rset => {
                drop.iter_mut().for_each(|e| e.deleted = false);
                out.line(r::OK);
            }
            Command::List(None) | Command::Uidl(None) => {
                let uidl = matches!(command, Command::Uidl(_));
                out.line(r::OK);
                for (i, e) in live() {
                    out.line(&listing(i + 1, e, uidl));
                }
                out.line(".");
            }
            Command::List(Some(n)) | Command::Uidl(Some(n)) => match entry(drop, n) {
                Ok(e) => {
                    let uidl = matches!(command, Command::Uidl(_));
                    out.line(&format!("+OK {}", listing(n as usize, e, uidl)));
                }
                Err(error) => out.line(error),
            },
            Command::Retr(n) => match entry(drop, n) {
                Ok(e) => {
                    out.line(r::OK);
                    dot::stuff(&e.raw, &mut out.0);
                }
                Err(error) => out.line(error),
            },
            Command::Top(n, lines) => match entry(drop, n) {
                Ok(e) => {
                    out.line(r::OK);
                    dot::stuff(&top(&e.raw, lines), &mut out.0);
                }
                Err(error) => out.line(error),
            },
            Command::Dele(n) => match entry_mut(drop, n) {
                Ok(e) => {
                    e.deleted = true;
                    out.line(r::OK);
                }
                Err(error) => out.line(error),
            },
            // Handled by on_command.
            _ => out.line(r::INVALID_STATE),
        }
    }
}

/// `<n> <octets>` (LIST) or `<n> <unique-id>` (UIDL; the IMAP UID in decimal).
fn listing(n: usize, e: &Entry, uidl: bool) -> String {
    if uidl {
        format!("{n} {}", e.uid)
    } else {
        format!("{n} {}", e.raw.len())
    }
}

fn entry(drop: &[Entry], n: u32) -> Result<&Entry, &'static str> {
    let index = (n as usize).checked_sub(1).ok_or(r::NO_SUCH_MESSAGE)?;
    let e = drop.get(index).ok_or(r::NO_SUCH_MESSAGE)?;
    if e.deleted {
        return Err(r::MESSAGE_DELETED);
    }
    Ok(e)
}

fn entry_mut(drop: &mut [Entry], n: u32) -> Result<&mut Entry, &'static str> {
    entry(drop, n)?;
    drop.get_mut(n as usize - 1).ok_or(r::NO_SUCH_MESSAGE)
}

/// TOP: the header section, the empty line, and the first `lines` lines of the body.
fn top(raw: &[u8], lines: u32) -> Vec<u8> {
    let header_len = rfc5322::header_len(raw);
    let mut out = raw[..header_len].to_vec();
    let body = &raw[header_len..];
    let mut rest = body;
    for _ in 0..lines {
        if rest.is_empty() {
            break;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        out.extend_from_slice(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

impl LineSession for Session {
    fn greeting(&mut self) -> Vec<u8> {
        let mut out = Out::default();
        out.line(&r::greeting(&self.ctx.backend_fqdn));
        out.0
    }

    fn on_line(&mut self, line: &[u8]) -> Step {
        let mut out = Out::default();
        let next = match std::mem::replace(&mut self.expect, Expect::Command) {
            Expect::Command => self.on_command(line, &mut out),
            Expect::SaslResponse(mechanism) => self.finish_sasl(mechanism, line, &mut out),
            Expect::SaslErrorAck { final_line } => {
                // Gmail wants an empty line, RFC 7628 a single ^A ("AQ=="); either way the
                // exchange fails now. A `*` cancels instead.
                out.line(if line == b"*" {
                    r::AUTH_CANCELLED
                } else {
                    final_line
                });
                Next::Read
            }
        };
        out.step(next)
    }

    fn on_too_long(&mut self) -> Step {
        self.log("(too long)");
        let mut out = Out::default();
        out.line(r::TOO_LONG);
        out.step(Next::Close)
    }

    fn on_idle_timeout(&mut self) -> Vec<u8> {
        let mut out = Out::default();
        out.line(r::IDLE_TIMEOUT);
        out.0
    }

    fn tls_established(&mut self) {
        self.tls = true;
        self.offer_stls = false;
    }
}

#[cfg(test)]
mod tests;
