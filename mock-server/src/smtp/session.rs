//! The SMTP submission state machine, I/O-free: one client line (or BDAT chunk) in, the
//! server's bytes and what to do next out (RFC 5321, RFC 3207, RFC 4954, RFC 3030, XOAUTH2).
//!
//! ```text
//! S: 220 MOCK01.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 4 Nov 2022 10:07:41 +0000
//! C: EHLO client            S: 250-… 250-STARTTLS …
//! C: STARTTLS               S: 220 2.0.0 SMTP server ready      <TLS handshake>
//! C: EHLO client            S: 250-… 250-AUTH LOGIN XOAUTH2 …
//! C: AUTH XOAUTH2 <b64>     S: 235 2.7.0 Authentication successful
//! C: MAIL FROM:<alice@…>    S: 250 2.1.0 Sender OK
//! C: RCPT TO:<bob@…>        S: 250 2.1.5 Recipient OK
//! C: DATA                   S: 354 Start mail input; end with <CRLF>.<CRLF>
//! C: <message> .            S: 250 2.0.0 OK <message-id> [Hostname=MOCK01…]
//! C: QUIT                   S: 221 2.0.0 Service closing transmission channel
//! ```
//! AUTH checks, in order: the token (`bearer`: signature, lifetime, audience, SMTP.Send or
//! SMTP.SendAsApp), the principal's access to the `user=` mailbox (FullAccess, and SendAs
//! too when the mailbox has `smtp_send_as_required`; else `535 5.7.3`), the SMTP AUTH
//! switches (mailbox over tenant), security defaults, then `[faults] throttle` /
//! `throttle_first`, then `[server] smtp_sessions_per_mailbox` (each
//! `432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded`). At the end of the data,
//! the envelope sender and the `From:` must be the authenticated mailbox or one it may
//! send as; the message then lands in the Inbox of every recipient that is a mock mailbox.

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::command::{self, Command, ParseError};
use super::responses as r;
use crate::bearer::Protocol;
use crate::clock;
use crate::context::Context;
use crate::directory::SmtpAuthBlock;
use crate::dot::{self, DataLine};
use crate::faults::MailService;
use crate::lines::{LineSession, Next, Out, Step};
use crate::rfc5322;
use crate::sasl;
use crate::throttle::SmtpSlot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    XOAuth2,
    OAuthBearer,
}

/// Who the session authenticated as.
#[derive(Debug)]
struct Login {
    /// The token's principal: a user's address or an app's client id.
    principal: String,
    /// The `user=` mailbox (as configured).
    mailbox: String,
    /// Its place under `[server] smtp_sessions_per_mailbox`, held while logged in.
    _slot: SmtpSlot,
}

/// The envelope being built.
#[derive(Debug, Default)]
struct Transaction {
    /// Empty for the null reverse-path.
    from: String,
    recipients: Vec<String>,
    /// Content received so far (DATA lines or BDAT chunks).
    body: Vec<u8>,
    /// Content exceeded [`r::MAX_MESSAGE`]; the rest is discarded.
    oversize: bool,
    /// A BDAT sequence has started (DATA is no longer allowed).
    chunking: bool,
}

impl Transaction {
    fn append(&mut self, bytes: &[u8]) {
        if self.oversize || self.body.len() + bytes.len() > r::MAX_MESSAGE {
            self.oversize = true;
            self.body = Vec::new();
        } else {
            self.body.extend_from_slice(bytes);
        }
    }
}

#[derive(Debug)]
enum Expect {
    Command,
    /// After the bare `334`: one base64 line (or `*`).
    AuthResponse(Mechanism),
    /// After an error challenge: the client's acknowledgement, then the failure.
    AuthErrorAck {
        gmail: bool,
    },
    /// `AUTH LOGIN`: the base64 user name, then the password.
    LoginUsername,
    LoginPassword,
    /// Between `354` and the final `.`.
    Data,
    /// The octets of `BDAT <size> [LAST]`; `refusal` is sent after reading them.
    Chunk {
        size: u64,
        last: bool,
        refusal: Option<&'static str>,
    },
}

/// One SMTP connection's protocol state.
#[derive(Debug)]
pub(crate) struct Session {
    ctx: Arc<Context>,
    client_ip: IpAddr,
    banner_date: String,
    tls: bool,
    offer_starttls: bool,
    greeted: bool,
    login: Option<Login>,
    transaction: Option<Transaction>,
    expect: Expect,
}

impl Session {
    /// `tls`: already TLS (implicit listener). `offer_starttls`: plaintext with STARTTLS
    /// enabled. `banner_date`: the RFC 5322 date for the banner.
    pub fn new(
        ctx: Arc<Context>,
        client_ip: IpAddr,
        banner_date: String,
        tls: bool,
        offer_starttls: bool,
    ) -> Session {
        Session {
            ctx,
            client_ip,
            banner_date,
            tls,
            offer_starttls: offer_starttls && !tls,
            greeted: false,
            login: None,
            transaction: None,
            expect: Expect::Command,
        }
    }

    fn host(&self) -> &str {
        &self.ctx.backend_fqdn
    }

    fn log(&self, name: &str) {
        self.ctx.log.record(format!("SMTP {name}"));
    }

    fn on_command(&mut self, line: &[u8], out: &mut Out) -> Next {
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(ParseError::Arguments(verb)) => {
                self.log(verb);
                out.line(match verb {
                    "EHLO" | "HELO" => r::INVALID_DOMAIN,
                    "RCPT" => r::INVALID_ADDRESS,
                    _ => r::INVALID_ARGUMENTS,
                });
                return Next::Read;
            }
            Err(ParseError::Unknown(verb)) => {
                match verb {
                    Some(verb) => self.log(&format!("{verb} (unknown)")),
                    None => self.log("(malformed)"),
                }
                out.line(r::UNRECOGNIZED);
                return Next::Read;
            }
        };
        self.log(&command.log_name());
        match command {
            Command::Ehlo => {
                self.greeted = true;
                self.transaction = None;
                let ip = self.client_ip.to_string();
                for line in r::ehlo(
                    self.host(),
                    &ip,
                    self.tls,
                    self.offer_starttls,
                    &self.ctx.server,
                ) {
                    out.line(&line);
                }
            }
            Command::Helo => {
                self.greeted = true;
                self.transaction = None;
                out.line(&format!("250 {} Hello [{}]", self.host(), self.client_ip));
            }
            Command::StartTls => {
                if !self.offer_starttls {
                    out.line(r::UNRECOGNIZED);
                    return Next::Read;
                }
                out.line(r::STARTTLS_OK);
                return Next::StartTls;
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => return self.auth(&mechanism, initial_response, out),
            Command::Mail { from, size } => {
                let host = self.host().to_owned();
                if !self.greeted {
                    out.line(r::SEND_HELLO_FIRST);
                } else if self.login.is_none() {
                    out.line(&r::not_authenticated(&host));
                } else if self.transaction.is_some() {
                    out.line(r::SENDER_ALREADY);
                } else if size.is_some_and(|s| s > r::ADVERTISED_SIZE) {
                    out.line(r::TOO_BIG);
                } else {
                    self.transaction = Some(Transaction {
                        from,
                        ..Transaction::default()
                    });
                    out.line(r::SENDER_OK);
                }
            }
            Command::Rcpt { to } => match &mut self.transaction {
                None => out.line(r::NEED_MAIL),
                Some(t) if t.recipients.len() >= r::MAX_RECIPIENTS => {
                    out.line(r::TOO_MANY_RECIPIENTS)
                }
                Some(t) => {
                    t.recipients.push(to);
                    out.line(r::RECIPIENT_OK);
                }
            },
            Command::Data => match &self.transaction {
                None => out.line(r::NEED_MAIL),
                Some(t) if t.recipients.is_empty() => out.line(r::NEED_RCPT),
                Some(t) if t.chunking => out.line(r::BAD_SEQUENCE),
                Some(_) => {
                    out.line(r::START_MAIL_INPUT);
                    self.expect = Expect::Data;
                }
            },
            Command::Bdat { size, last } => {
                // The octets follow the command whatever the verdict; read them first.
                let refusal = match &self.transaction {
                    None => Some(r::NEED_MAIL),
                    Some(t) if t.recipients.is_empty() => Some(r::NEED_RCPT),
                    Some(_) => None,
                };
                let keep = refusal.is_none()
                    && self.transaction.as_ref().is_some_and(|t| {
                        !t.oversize
                            && (t.body.len() as u64).saturating_add(size) <= r::MAX_MESSAGE as u64
                    });
                if let (None, false, Some(t)) = (refusal, keep, &mut self.transaction) {
                    t.oversize = true;
                    t.body = Vec::new();
                }
                self.expect = Expect::Chunk {
                    size,
                    last,
                    refusal,
                };
                return Next::Octets { len: size, keep };
            }
            Command::Rset => {
                self.transaction = None;
                out.line(r::OK);
            }
            Command::Noop => out.line(r::OK),
            Command::Quit => {
                out.line(r::CLOSING);
                return Next::Close;
            }
        }
        Next::Read
    }

    fn auth(&mut self, mechanism: &str, initial_response: Option<&[u8]>, out: &mut Out) -> Next {
        let host = self.host().to_owned();
        if !self.greeted {
            out.line(r::SEND_HELLO_FIRST);
            return Next::Read;
        }
        if !self.tls {
            out.line(&r::unrecognized_auth(&host));
            return Next::Read;
        }
        if self.login.is_some() {
            out.line(r::ALREADY_AUTHENTICATED);
            return Next::Read;
        }
        if self.transaction.is_some() {
            out.line(r::BAD_SEQUENCE);
            return Next::Read;
        }
        let mechanism = match mechanism {
            "XOAUTH2" => Mechanism::XOAuth2,
            "OAUTHBEARER" if self.ctx.server.oauthbearer => Mechanism::OAuthBearer,
            "LOGIN" => {
                return match initial_response {
                    Some(_) => self.login_username(out),
                    None => {
                        out.line(r::LOGIN_USERNAME);
                        self.expect = Expect::LoginUsername;
                        Next::Read
                    }
                };
            }
            _ => {
                out.line(&r::unrecognized_auth(&host));
                return Next::Read;
            }
        };
        match initial_response {
            // RFC 4954: "=" is an empty initial response.
            Some(b"=") => self.finish_sasl(mechanism, b"", out),
            Some(data) => self.finish_sasl(mechanism, data, out),
            None => {
                out.line(r::CONTINUE);
                self.expect = Expect::AuthResponse(mechanism);
                Next::Read
            }
        }
    }

    fn login_username(&mut self, out: &mut Out) -> Next {
        out.line(r::LOGIN_PASSWORD);
        self.expect = Expect::LoginPassword;
        Next::Read
    }

    fn finish_sasl(&mut self, mechanism: Mechanism, b64: &[u8], out: &mut Out) -> Next {
        let host = self.host().to_owned();
        if b64 == b"*" {
            out.line(r::AUTH_CANCELLED);
            return Next::Read;
        }
        let decoded = STANDARD.decode(b64).ok();
        let credentials = decoded.as_deref().and_then(|d| match mechanism {
            Mechanism::XOAuth2 => sasl::decode_xoauth2(d).ok(),
            Mechanism::OAuthBearer => sasl::decode_oauthbearer(d).ok(),
        });
        let Some(credentials) = credentials else {
            out.line(&r::auth_failed(&host));
            return Next::Read;
        };

        let directory = &self.ctx.directory;
        let principal = self
            .ctx
            .bearer
            .principal(
                &credentials.token,
                Protocol::Smtp,
                directory,
                clock::now_secs(),
            )
            .ok();
        let mailbox = principal.as_deref().and_then(|p| {
            let user = credentials.user.as_deref().unwrap_or(p);
            directory
                .open(p, user)
                .filter(|m| directory.smtp_send_as_ok(p, m))
                .or_else(|| directory.hve_account(p, user))
        });
        let (Some(principal), Some(mailbox)) = (principal, mailbox) else {
            let gmail = self.ctx.server.xoauth2_error_challenge;
            let challenge = match mechanism {
                Mechanism::XOAuth2 if gmail => Some(sasl::GMAIL_XOAUTH2_ERROR_JSON),
                Mechanism::XOAuth2 => None,
                Mechanism::OAuthBearer => Some(sasl::OAUTHBEARER_ERROR_JSON),
            };
            match challenge {
                Some(json) => {
                    out.line(&format!("334 {}", STANDARD.encode(json)));
                    self.expect = Expect::AuthErrorAck {
                        gmail: mechanism == Mechanism::XOAuth2,
                    };
                }
                None => out.line(&r::auth_failed(&host)),
            }
            return Next::Read;
        };
        match directory.smtp_auth_block(mailbox) {
            Some(SmtpAuthBlock::Tenant) => out.line(&r::smtp_auth_disabled("Tenant", &host)),
            Some(SmtpAuthBlock::Mailbox) => out.line(&r::smtp_auth_disabled("Mailbox", &host)),
            Some(SmtpAuthBlock::SecurityDefaults) => out.line(r::SECURITY_DEFAULTS),
            None if (self.ctx.throttle)
                .sign_in(MailService::Smtp, &mailbox.address)
                .is_some() =>
            {
                out.line(r::THROTTLED)
            }
            None => match self.ctx.throttle.smtp_session(&mailbox.address) {
                // Exchange's reply to a fourth concurrent submission session (reference C3/F).
                None => out.line(r::THROTTLED),
                Some(slot) => {
                    self.login = Some(Login {
                        principal,
                        mailbox: mailbox.address.clone(),
                        _slot: slot,
                    });
                    out.line(r::AUTH_OK);
                }
            },
        }
        Next::Read
    }

    fn on_data_line(&mut self, line: &[u8], out: &mut Out) -> Next {
        match dot::unstuff_line(line) {
            DataLine::End => {
                self.expect = Expect::Command;
                self.finish_message(out);
            }
            DataLine::Text(text) => {
                if let Some(t) = &mut self.transaction {
                    t.append(text);
                    t.append(b"\r\n");
                }
                self.expect = Expect::Data;
            }
        }
        Next::Read
    }

    /// The end of DATA or of the last BDAT chunk: size, SendAs, then delivery.
    fn finish_message(&mut self, out: &mut Out) {
        let host = self.host().to_owned();
        let (Some(t), Some(login)) = (self.transaction.take(), &self.login) else {
            out.line(r::NEED_MAIL);
            return;
        };
        if t.oversize {
            out.line(r::TOO_BIG);
            return;
        }
        let directory = &self.ctx.directory;
        let header_from = rfc5322::from_address(&t.body);
        let senders = [Some(t.from.clone()).filter(|f| !f.is_empty()), header_from];
        for sender in senders.iter().flatten() {
            if !directory.may_send_as(&login.principal, &login.mailbox, sender) {
                out.line(&r::send_as_denied(&login.mailbox, sender, &host));
                return;
            }
        }

        let mut raw = t.body;
        let message_id = match rfc5322::message_id(&raw) {
            Some(id) => id,
            None => {
                let id = format!("<MOCK01{:010}@{host}>", self.ctx.store.next_sequence());
                let mut with_id = format!("Message-ID: {id}\r\n").into_bytes();
                with_id.append(&mut raw);
                raw = with_id;
                id
            }
        };
        let mut recipients: Vec<&str> = Vec::new();
        for recipient in &t.recipients {
            if !recipients.iter().any(|r| r.eq_ignore_ascii_case(recipient)) {
                recipients.push(recipient);
            }
        }
        // Recipients outside the mock tenant are dropped silently.
        if self
            .ctx
            .store
            .deliver(&recipients, &raw, &message_id)
            .is_err()
        {
            out.line(r::STORE_FULL);
            return;
        }
        out.line(&r::queued(&message_id, &host));
    }
}

impl LineSession for Session {
    fn greeting(&mut self) -> Vec<u8> {
        let mut out = Out::default();
        out.line(&r::banner(self.host(), &self.banner_date));
        out.0
    }

    fn on_line(&mut self, line: &[u8]) -> Step {
        let mut out = Out::default();
        let next = match std::mem::replace(&mut self.expect, Expect::Command) {
            Expect::Command => self.on_command(line, &mut out),
            Expect::Data => self.on_data_line(line, &mut out),
            Expect::AuthResponse(mechanism) => self.finish_sasl(mechanism, line, &mut out),
            Expect::AuthErrorAck { gmail } => {
                // Gmail wants an empty line, RFC 7628 a single ^A ("AQ=="); either way the
                // exchange fails now. A `*` cancels instead.
                if line == b"*" {
                    out.line(r::AUTH_CANCELLED);
                } else if gmail {
                    r::GMAIL_AUTH_FAILED.iter().for_each(|l| out.line(l));
                } else {
                    out.line(&r::auth_failed(self.host()));
                }
                Next::Read
            }
            Expect::LoginUsername if line == b"*" => {
                out.line(r::AUTH_CANCELLED);
                Next::Read
            }
            Expect::LoginUsername => self.login_username(&mut out),
            Expect::LoginPassword => {
                if line == b"*" {
                    out.line(r::AUTH_CANCELLED);
                } else {
                    out.line(&r::basic_auth_disabled(self.host()));
                }
                Next::Read
            }
            // The driver hands chunk octets to on_octets, never a line.
            Expect::Chunk { .. } => {
                out.line(r::BAD_SEQUENCE);
                Next::Read
            }
        };
        out.step(next)
    }

    fn on_too_long(&mut self) -> Step {
        let mut out = Out::default();
        match std::mem::replace(&mut self.expect, Expect::Command) {
            Expect::Data => {
                // Keep reading to the final dot; the message is refused there.
                if let Some(t) = &mut self.transaction {
                    t.oversize = true;
                    t.body = Vec::new();
                }
                self.expect = Expect::Data;
            }
            _ => {
                self.log("(too long)");
                out.line(r::LINE_TOO_LONG);
            }
        }
        out.step(Next::Read)
    }

    fn on_octets(&mut self, octets: Vec<u8>) -> Step {
        let mut out = Out::default();
        let Expect::Chunk {
            size,
            last,
            refusal,
        } = std::mem::replace(&mut self.expect, Expect::Command)
        else {
            out.line(r::BAD_SEQUENCE);
            return out.step(Next::Read);
        };
        if let Some(refusal) = refusal {
            out.line(refusal);
            return out.step(Next::Read);
        }
        if let Some(t) = &mut self.transaction {
            t.chunking = true;
            if !t.oversize {
                t.append(&octets);
            }
        }
        if last {
            self.finish_message(&mut out);
        } else {
            out.line(&r::chunk_received(size));
        }
        out.step(Next::Read)
    }

    fn on_idle_timeout(&mut self) -> Vec<u8> {
        let mut out = Out::default();
        out.line(&r::idle_timeout(self.host()));
        out.0
    }

    fn tls_established(&mut self) {
        // RFC 3207 §4.2: forget everything learned before TLS.
        self.tls = true;
        self.offer_starttls = false;
        self.greeted = false;
        self.login = None;
        self.transaction = None;
    }
}

#[cfg(test)]
mod tests;
