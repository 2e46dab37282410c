//! Known-answer dialogues for the SMTP state machine, C:/S: as on the wire.

use std::net::Ipv4Addr;

use std::sync::LazyLock;

use super::*;
use crate::command_log::CommandLog;
use crate::config::Config;
use crate::idp::mint::TokenSpec;
use crate::idp::test_token;

static ALICE: LazyLock<String> =
    LazyLock::new(|| test_token(&TokenSpec::user("alice@contoso.example")));
static BOB: LazyLock<String> =
    LazyLock::new(|| test_token(&TokenSpec::user("bob@contoso.example")));
const HOST: &str = "MOCK01.outlook.office365.com";

fn session_with(config: &Config, tls: bool) -> (Session, Arc<Context>) {
    let ctx = Arc::new(Context::new(config, CommandLog::default()));
    let session = Session::new(
        Arc::clone(&ctx),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        "Fri, 4 Nov 2022 10:07:41 +0000".to_owned(),
        tls,
        config.server.starttls,
    );
    (session, ctx)
}

fn c(session: &mut Session, line: &str) -> (String, Next) {
    let step = session.on_line(line.as_bytes());
    (String::from_utf8_lossy(&step.out).into_owned(), step.next)
}

fn s(session: &mut Session, line: &str, expected: &str) {
    assert_eq!(c(session, line).0, expected, "C: {line}");
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// TLS session after EHLO.
fn greeted(config: &Config) -> (Session, Arc<Context>) {
    let (mut s1, ctx) = session_with(config, true);
    c(&mut s1, "EHLO client.example");
    (s1, ctx)
}

fn authed(user: &str, token: &str) -> (Session, Arc<Context>) {
    let (mut s1, ctx) = greeted(&Config::demo());
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2(user, token)),
        "235 2.7.0 Authentication successful\r\n",
    );
    (s1, ctx)
}

#[test]
fn banner_ehlo_starttls() {
    let (mut s1, _) = session_with(&Config::demo(), false);
    assert_eq!(
        s1.greeting(),
        b"220 MOCK01.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 4 Nov 2022 10:07:41 +0000\r\n"
    );
    s(&mut s1, "AUTH XOAUTH2", "503 5.5.2 Send hello first\r\n");
    let (out, _) = c(&mut s1, "EHLO client.example");
    assert_eq!(
        out,
        "250-MOCK01.outlook.office365.com Hello [127.0.0.1]\r\n250-SIZE 157286400\r\n\
         250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n\
         250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"
    );
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", &ALICE)),
        &format!("504 5.7.4 Unrecognized authentication type [{HOST}]\r\n"),
    );
    s(
        &mut s1,
        "MAIL FROM:<alice@contoso.example>",
        &format!("530 5.7.57 Client not authenticated to send mail. [{HOST}]\r\n"),
    );
    let (out, next) = c(&mut s1, "STARTTLS");
    assert_eq!(out, "220 2.0.0 SMTP server ready\r\n");
    assert_eq!(next, Next::StartTls);
    s1.tls_established();
    s(&mut s1, "MAIL FROM:<a@b>", "503 5.5.2 Send hello first\r\n");
    let (out, _) = c(&mut s1, "EHLO client.example");
    assert!(
        out.contains("250-AUTH LOGIN XOAUTH2\r\n") && !out.contains("STARTTLS"),
        "{out}"
    );
    s(&mut s1, "STARTTLS", "500 5.3.3 Unrecognized command\r\n");
    s(
        &mut s1,
        "HELO x",
        &format!("250 {HOST} Hello [127.0.0.1]\r\n"),
    );
    s(&mut s1, "EHLO", "501 5.5.4 Invalid domain name\r\n");

    let mut config = Config::demo();
    config.server.starttls = false;
    let (mut s2, _) = session_with(&config, false);
    let (out, _) = c(&mut s2, "EHLO x");
    assert!(!out.contains("STARTTLS") && !out.contains("AUTH"), "{out}");
    s(&mut s2, "STARTTLS", "500 5.3.3 Unrecognized command\r\n");
}

#[test]
fn auth_variants() {
    let (mut s1, _) = greeted(&Config::demo());
    let failed = format!("535 5.7.3 Authentication unsuccessful [{HOST}]\r\n");
    s(
        &mut s1,
        &format!(
            "AUTH XOAUTH2 {}",
            xoauth2("alice@contoso.example", "expired")
        ),
        &failed,
    );
    s(&mut s1, "AUTH XOAUTH2 !!!", &failed);
    s(
        &mut s1,
        &format!(
            "AUTH XOAUTH2 {}",
            xoauth2("payroll@contoso.example", &ALICE)
        ),
        &failed,
    );
    s(&mut s1, "AUTH XOAUTH2", "334\r\n");
    s(&mut s1, "*", "501 5.0.0 Authentication cancelled\r\n");
    s(
        &mut s1,
        "AUTH CRAM-MD5",
        &format!("504 5.7.4 Unrecognized authentication type [{HOST}]\r\n"),
    );
    s(
        &mut s1,
        "AUTH OAUTHBEARER",
        &format!("504 5.7.4 Unrecognized authentication type [{HOST}]\r\n"),
    );
    s(&mut s1, "AUTH LOGIN", "334 VXNlcm5hbWU6\r\n");
    s(&mut s1, "YWxpY2U=", "334 UGFzc3dvcmQ6\r\n");
    s(
        &mut s1,
        "cHc=",
        &format!(
            "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [{HOST}]\r\n"
        ),
    );
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("bob@contoso.example", &BOB)),
        &format!(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. [{HOST}]\r\n"
        ),
    );
    s(&mut s1, "AUTH XOAUTH2", "334\r\n");
    s(
        &mut s1,
        &xoauth2("sales@contoso.example", &ALICE),
        "235 2.7.0 Authentication successful\r\n",
    );
    s(
        &mut s1,
        "AUTH XOAUTH2 x",
        "503 5.5.2 Already authenticated\r\n",
    );
}

#[test]
fn tenant_switches_and_override() {
    let mut config = Config::demo();
    config.tenant.smtp_auth_disabled = true;
    config.mailboxes[2].smtp_auth_disabled = Some(false); // sales re-enabled
    let (mut s1, _) = greeted(&config);
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", &ALICE)),
        &format!(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [{HOST}]\r\n"
        ),
    );
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("sales@contoso.example", &ALICE)),
        "235 2.7.0 Authentication successful\r\n",
    );

    let mut config = Config::demo();
    config.tenant.security_defaults = true;
    let (mut s1, _) = greeted(&config);
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", &ALICE)),
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.\r\n",
    );
}

/// High Volume Email accounts: only apps on the account's Allowed Apps list get in, and the
/// SmtpClientAuthenticationDisabled switches (tenant and account) do not apply; Security
/// Defaults still do.
#[test]
fn hve_accounts_admit_only_their_allowed_apps() {
    let daemon = test_token(&TokenSpec::app(crate::DEMO_DAEMON_CLIENT_ID));
    let refused = format!("535 5.7.3 Authentication unsuccessful [{HOST}]\r\n");
    let mut config = Config::demo();
    config.tenant.smtp_auth_disabled = true;
    let (mut s1, _) = greeted(&config);
    s(
        &mut s1,
        &format!(
            "AUTH XOAUTH2 {}",
            xoauth2("notify@contoso.example", &daemon)
        ),
        "235 2.7.0 Authentication successful\r\n",
    );
    for (user, token) in [
        ("alerts@contoso.example", daemon.as_str()), // empty Allowed Apps list
        ("notify@contoso.example", ALICE.as_str()),  // a user, not an allowed app
    ] {
        let (mut s1, _) = greeted(&config);
        s(
            &mut s1,
            &format!("AUTH XOAUTH2 {}", xoauth2(user, token)),
            &refused,
        );
    }
    config.tenant.security_defaults = true;
    let (mut s1, _) = greeted(&config);
    s(
        &mut s1,
        &format!(
            "AUTH XOAUTH2 {}",
            xoauth2("notify@contoso.example", &daemon)
        ),
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.\r\n",
    );
}

#[test]
fn gmail_and_oauthbearer_challenges() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    config.server.oauthbearer = true;
    let (mut s1, _) = greeted(&config);
    s(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", "bad")),
        "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n",
    );
    s(
        &mut s1,
        "",
        "535-5.7.8 Username and Password not accepted. Learn more at\r\n\
         535 5.7.8  https://support.google.com/mail/?p=BadCredentials mock - gsmtp\r\n",
    );
    let bad = STANDARD.encode("n,a=alice@contoso.example,\x01auth=Bearer bad\x01\x01");
    let (out, _) = c(&mut s1, &format!("AUTH OAUTHBEARER {bad}"));
    assert!(
        out.starts_with("334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2Vu"),
        "{out}"
    );
    s(
        &mut s1,
        "AQ==",
        &format!("535 5.7.3 Authentication unsuccessful [{HOST}]\r\n"),
    );
    let good = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01auth=Bearer {}\x01\x01",
        *ALICE
    ));
    s(&mut s1, "AUTH OAUTHBEARER", "334\r\n");
    s(&mut s1, &good, "235 2.7.0 Authentication successful\r\n");
}

#[test]
fn submission_delivers_and_checks_send_as() {
    let (mut s1, ctx) = authed("alice@contoso.example", &ALICE);
    s(
        &mut s1,
        "RCPT TO:<bob@contoso.example>",
        "503 5.5.2 Need mail command\r\n",
    );
    s(&mut s1, "DATA", "503 5.5.2 Need mail command\r\n");
    s(
        &mut s1,
        "MAIL FROM:<alice@contoso.example>",
        "250 2.1.0 Sender OK\r\n",
    );
    s(
        &mut s1,
        "MAIL FROM:<alice@contoso.example>",
        "503 5.5.2 Sender already specified\r\n",
    );
    s(&mut s1, "DATA", "503 5.5.2 Need rcpt command\r\n");
    s(
        &mut s1,
        "RCPT TO:<bob@contoso.example>",
        "250 2.1.5 Recipient OK\r\n",
    );
    s(
        &mut s1,
        "RCPT TO:<BOB@contoso.example>",
        "250 2.1.5 Recipient OK\r\n",
    );
    s(
        &mut s1,
        "RCPT TO:<someone@elsewhere.example>",
        "250 2.1.5 Recipient OK\r\n",
    );
    s(&mut s1, "RCPT TO:<nobody>", "501 5.1.3 Invalid address\r\n");
    s(
        &mut s1,
        "DATA",
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
    );
    for line in [
        "From: Alice <alice@contoso.example>",
        "To: bob@contoso.example",
        "Subject: test",
        "Message-ID: <t1@client.example>",
        "",
        "..leading dot",
        "body",
    ] {
        s(&mut s1, line, "");
    }
    s(
        &mut s1,
        ".",
        &format!("250 2.0.0 OK <t1@client.example> [Hostname={HOST}]\r\n"),
    );
    let inbox = ctx.store.messages("bob@contoso.example", "Inbox");
    assert_eq!(inbox.len(), 1, "delivered once despite the duplicate RCPT");
    assert_eq!(inbox[0].message_id, "<t1@client.example>");
    assert_eq!(
        inbox[0].raw,
        b"From: Alice <alice@contoso.example>\r\nTo: bob@contoso.example\r\nSubject: test\r\n\
          Message-ID: <t1@client.example>\r\n\r\n.leading dot\r\nbody\r\n"
    );

    // From: sales (SendAs granted), no Message-ID: the server adds one.
    s(
        &mut s1,
        "MAIL FROM:<sales@contoso.example>",
        "250 2.1.0 Sender OK\r\n",
    );
    s(
        &mut s1,
        "RCPT TO:<alice@contoso.example>",
        "250 2.1.5 Recipient OK\r\n",
    );
    s(
        &mut s1,
        "DATA",
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
    );
    s(&mut s1, "From: sales@contoso.example", "");
    s(&mut s1, "", "");
    s(&mut s1, "hi", "");
    let (out, _) = c(&mut s1, ".");
    let id = out
        .strip_prefix("250 2.0.0 OK ")
        .and_then(|o| o.strip_suffix(&format!(" [Hostname={HOST}]\r\n")))
        .expect("queued reply");
    assert!(
        id.starts_with("<MOCK01") && id.ends_with(&format!("@{HOST}>")),
        "{id}"
    );
    let raw = ctx
        .store
        .find("alice@contoso.example", id)
        .expect("delivered");
    assert!(raw.starts_with(format!("Message-ID: {id}\r\nFrom: sales").as_bytes()));

    // SendAs denied: envelope, then header.
    let denied = |from: &str| {
        format!(
            "554 5.2.252 SendAsDenied; alice@contoso.example not allowed to send as {from}; \
             STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; \
             Failed to process message due to a permanent exception with message \
             [BeginDiagnosticData]Cannot submit message. [{HOST}]\r\n"
        )
    };
    for (envelope, header) in [
        ("payroll@contoso.example", "alice@contoso.example"),
        ("alice@contoso.example", "payroll@contoso.example"),
    ] {
        c(&mut s1, &format!("MAIL FROM:<{envelope}>"));
        c(&mut s1, "RCPT TO:<bob@contoso.example>");
        c(&mut s1, "DATA");
        c(&mut s1, &format!("From: <{header}>"));
        c(&mut s1, "");
        s(&mut s1, ".", &denied("payroll@contoso.example"));
    }
    assert_eq!(ctx.store.messages("bob@contoso.example", "Inbox").len(), 1);
    s(&mut s1, "RSET", "250 2.0.0 OK\r\n");
    s(&mut s1, "NOOP", "250 2.0.0 OK\r\n");
    s(&mut s1, "VRFY bob", "500 5.3.3 Unrecognized command\r\n");
    let (out, next) = c(&mut s1, "QUIT");
    assert_eq!(out, "221 2.0.0 Service closing transmission channel\r\n");
    assert_eq!(next, Next::Close);
}

#[test]
fn limits() {
    let (mut s1, ctx) = authed("alice@contoso.example", &ALICE);
    s(
        &mut s1,
        "MAIL FROM:<alice@contoso.example> SIZE=157286401",
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
    );
    c(&mut s1, "MAIL FROM:<alice@contoso.example>");
    for i in 0..500 {
        c(&mut s1, &format!("RCPT TO:<r{i}@elsewhere.example>"));
    }
    s(
        &mut s1,
        "RCPT TO:<bob@contoso.example>",
        "452 4.5.3 Too many recipients\r\n",
    );
    c(&mut s1, "RSET");
    c(&mut s1, "MAIL FROM:<alice@contoso.example>");
    c(&mut s1, "RCPT TO:<bob@contoso.example>");
    c(&mut s1, "DATA");
    let line = "x".repeat(60_000);
    for _ in 0..180 {
        s(&mut s1, &line, "");
    }
    let step = s1.on_too_long();
    assert!(step.out.is_empty() && step.next == Next::Read);
    s(
        &mut s1,
        ".",
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
    );
    assert!(
        ctx.store
            .messages("bob@contoso.example", "Inbox")
            .is_empty()
    );
    let step = s1.on_too_long();
    assert_eq!(step.out, b"500 5.5.2 Line too long\r\n");
    assert_eq!(
        s1.on_idle_timeout(),
        format!("451 4.7.0 Timeout waiting for client input [{HOST}]\r\n").as_bytes()
    );
}

#[test]
fn bdat_chunks() {
    let (mut s1, ctx) = authed("alice@contoso.example", &ALICE);
    let (out, next) = c(&mut s1, "BDAT 3");
    assert_eq!(
        (out.as_str(), next),
        (
            "",
            Next::Octets {
                len: 3,
                keep: false
            }
        )
    );
    assert_eq!(
        s1.on_octets(Vec::new()).out,
        b"503 5.5.2 Need mail command\r\n"
    );
    c(&mut s1, "MAIL FROM:<alice@contoso.example>");
    c(&mut s1, "RCPT TO:<bob@contoso.example>");
    let msg = b"From: alice@contoso.example\r\nMessage-ID: <b1@x>\r\n\r\n.dot stays\r\n";
    let (first, second) = msg.split_at(20);
    let (_, next) = c(&mut s1, &format!("BDAT {}", first.len()));
    assert_eq!(
        next,
        Next::Octets {
            len: 20,
            keep: true
        }
    );
    assert_eq!(
        s1.on_octets(first.to_vec()).out,
        b"250 2.0.0 OK, 20 octets received\r\n"
    );
    s(&mut s1, "DATA", "503 5.5.1 Bad sequence of commands\r\n");
    let (_, next) = c(&mut s1, &format!("BDAT {} LAST", second.len()));
    assert_eq!(
        next,
        Next::Octets {
            len: second.len() as u64,
            keep: true
        }
    );
    assert_eq!(
        s1.on_octets(second.to_vec()).out,
        format!("250 2.0.0 OK <b1@x> [Hostname={HOST}]\r\n").as_bytes()
    );
    assert_eq!(
        ctx.store.find("bob@contoso.example", "<b1@x>").as_deref(),
        Some(&msg[..])
    );

    c(&mut s1, "MAIL FROM:<alice@contoso.example>");
    c(&mut s1, "RCPT TO:<bob@contoso.example>");
    let (_, next) = c(&mut s1, "BDAT 99999999999 LAST");
    assert_eq!(
        next,
        Next::Octets {
            len: 99_999_999_999,
            keep: false
        }
    );
    assert_eq!(
        s1.on_octets(Vec::new()).out,
        b"552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
}

#[test]
fn command_log_has_names_only() {
    let config = Config::demo();
    let log = CommandLog::default();
    let ctx = Arc::new(Context::new(&config, log.clone()));
    let mut s1 = Session::new(
        ctx,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        String::new(),
        false,
        true,
    );
    c(&mut s1, "EHLO x");
    c(&mut s1, "STARTTLS");
    s1.tls_established();
    c(&mut s1, "EHLO x");
    c(
        &mut s1,
        &format!("AUTH XOAUTH2 {}", xoauth2("alice@contoso.example", &ALICE)),
    );
    c(&mut s1, "MAIL FROM:<alice@contoso.example>");
    c(&mut s1, "RCPT TO:<bob@contoso.example>");
    c(&mut s1, "DATA");
    c(&mut s1, "secret body");
    c(&mut s1, ".");
    c(&mut s1, "XSECRET arg");
    c(&mut s1, "QUIT");
    assert_eq!(
        log.snapshot(),
        [
            "SMTP EHLO",
            "SMTP STARTTLS",
            "SMTP EHLO",
            "SMTP AUTH XOAUTH2",
            "SMTP MAIL",
            "SMTP RCPT",
            "SMTP DATA",
            "SMTP XSECRET (unknown)",
            "SMTP QUIT",
        ]
    );
}

#[test]
fn random_input_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 14] = [
        b"MAIL FROM:",
        b"RCPT TO:",
        b"<a@b>",
        b"<>",
        b"DATA",
        b".",
        b"AUTH ",
        b"XOAUTH2 ",
        b"BDAT ",
        b"1",
        b" LAST",
        b"EHLO x",
        b"*",
        b"=",
    ];
    let mut config = Config::demo();
    config.server.oauthbearer = true;
    for round in 0..1_000 {
        config.server.xoauth2_error_challenge = round % 2 == 0;
        let (mut s1, _) = if round % 3 == 0 {
            authed("alice@contoso.example", &ALICE)
        } else {
            session_with(&config, round % 5 != 0)
        };
        for _ in 0..10 {
            let mut line = Vec::new();
            for _ in 0..(next() % 5) {
                let r = next();
                if r % 4 == 0 {
                    line.extend((0..(r % 8)).map(|_| (next() & 0xff) as u8));
                } else {
                    line.extend_from_slice(pieces[(r % pieces.len() as u64) as usize]);
                }
            }
            let step = s1.on_line(&line);
            assert!(step.out.is_empty() || step.out.ends_with(b"\r\n"));
            if let Next::Octets { len, keep } = step.next {
                let octets = if keep {
                    vec![b'x'; len.min(64) as usize]
                } else {
                    Vec::new()
                };
                let step = s1.on_octets(octets);
                assert!(step.out.ends_with(b"\r\n"));
            }
        }
    }
}
