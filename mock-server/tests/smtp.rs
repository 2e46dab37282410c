//! End-to-end SMTP submission dialogues against the in-process mock, over real TCP and
//! TLS, with a raw tokio-rustls client that trusts only the mock's CA. Each test reads
//! like C:/S: lines.

mod common;

use common::{Client, alice, bob, start, xoauth2};
use xoauth_mock::{Config, MockServer};

const HOST: &str = "MOCK01.outlook.office365.com";
const AUTH_OK: &str = "235 2.7.0 Authentication successful";

fn ehlo_lines(middle: &str) -> Vec<String> {
    [
        "250-MOCK01.outlook.office365.com Hello [127.0.0.1]",
        "250-SIZE 157286400",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        middle,
        "250-8BITMIME",
        "250-BINARYMIME",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ]
    .map(str::to_owned)
    .to_vec()
}

async fn banner(c: &mut Client) {
    let line = c.line().await;
    let date = line
        .strip_prefix(&format!(
            "220 {HOST} Microsoft ESMTP MAIL Service ready at "
        ))
        .unwrap_or_else(|| panic!("not an Exchange banner: {line}"));
    // e.g. "Fri, 4 Nov 2022 10:07:41 +0000"
    let parts: Vec<&str> = date.split(' ').collect();
    assert_eq!(parts.len(), 6, "{date}");
    assert!(parts[0].ends_with(',') && parts[5] == "+0000", "{date}");
}

/// STARTTLS listener → EHLO, STARTTLS, EHLO again over TLS.
async fn submission(server: &MockServer) -> Client {
    let mut plain = Client::plain(server.smtp_submission_addr()).await;
    banner(&mut plain).await;
    plain.c("EHLO client.example").await;
    assert_eq!(plain.reply().await, ehlo_lines("250-STARTTLS"));
    plain.c("STARTTLS").await;
    plain.s("220 2.0.0 SMTP server ready").await;
    let mut c = plain.starttls(server).await;
    c.c("EHLO client.example").await;
    assert_eq!(c.reply().await, ehlo_lines("250-AUTH LOGIN XOAUTH2"));
    c
}

async fn authed(server: &MockServer, user: &str, token: &str) -> Client {
    let mut c = submission(server).await;
    c.c(&format!("AUTH XOAUTH2 {}", xoauth2(user, token))).await;
    c.s(AUTH_OK).await;
    c
}

/// MAIL, RCPT, DATA, message, final dot; returns the final reply.
async fn send(c: &mut Client, from: &str, to: &str, message: &str) -> String {
    c.c(&format!("MAIL FROM:<{from}>")).await;
    c.s("250 2.1.0 Sender OK").await;
    c.c(&format!("RCPT TO:<{to}>")).await;
    c.s("250 2.1.5 Recipient OK").await;
    c.c("DATA").await;
    c.s("354 Start mail input; end with <CRLF>.<CRLF>").await;
    c.send_raw(message.as_bytes()).await;
    c.c(".").await;
    c.line().await
}

fn message(from: &str, id: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <alice@contoso.example>\r\nSubject: mock test\r\n\
         Message-ID: {id}\r\n\r\nHello.\r\n..dot-stuffed line\r\n"
    )
}

#[tokio::test]
async fn starttls_then_auth_with_initial_response() {
    let server = start(Config::demo()).await;
    let mut plain = Client::plain(server.smtp_submission_addr()).await;
    banner(&mut plain).await;
    plain.c("EHLO client.example").await;
    plain.reply().await;
    plain
        .c(&format!(
            "AUTH XOAUTH2 {}",
            xoauth2("alice@contoso.example", &alice(&server))
        ))
        .await;
    plain
        .s(&format!(
            "504 5.7.4 Unrecognized authentication type [{HOST}]"
        ))
        .await;
    plain.c("MAIL FROM:<alice@contoso.example>").await;
    plain
        .s(&format!(
            "530 5.7.57 Client not authenticated to send mail. [{HOST}]"
        ))
        .await;
    drop(plain);

    let mut c = authed(&server, "alice@contoso.example", &alice(&server)).await;
    c.c("NOOP").await;
    c.s("250 2.0.0 OK").await;
    c.c("QUIT").await;
    c.s("221 2.0.0 Service closing transmission channel").await;
    c.closed().await;
    let log = server.command_log();
    assert_eq!(
        log[log.len() - 6..],
        [
            "SMTP EHLO",
            "SMTP STARTTLS",
            "SMTP EHLO",
            "SMTP AUTH XOAUTH2",
            "SMTP NOOP",
            "SMTP QUIT"
        ]
    );
    assert!(log.iter().all(|l| !l.contains(&alice(&server))));
    server.shutdown().await;
}

#[tokio::test]
async fn two_step_auth_and_bad_token() {
    let server = start(Config::demo()).await;
    let mut c = submission(&server).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", "expired")
    ))
    .await;
    c.s(&format!("535 5.7.3 Authentication unsuccessful [{HOST}]"))
        .await;
    // A valid token for a mailbox the principal may not open.
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("payroll@contoso.example", &alice(&server))
    ))
    .await;
    c.s(&format!("535 5.7.3 Authentication unsuccessful [{HOST}]"))
        .await;
    c.c("MAIL FROM:<alice@contoso.example>").await;
    c.s(&format!(
        "530 5.7.57 Client not authenticated to send mail. [{HOST}]"
    ))
    .await;
    c.c("auth xoauth2").await;
    c.s("334").await;
    c.c(&xoauth2("alice@contoso.example", &alice(&server)))
        .await;
    c.s(AUTH_OK).await;
    server.shutdown().await;
}

#[tokio::test]
async fn smtp_auth_switches() {
    let mailbox_off = format!(
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. [{HOST}]"
    );
    let tenant_off = format!(
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [{HOST}]"
    );
    // Demo: bob has the per-mailbox switch set.
    let server = start(Config::demo()).await;
    let mut c = submission(&server).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("bob@contoso.example", &bob(&server))
    ))
    .await;
    c.s(&mailbox_off).await;
    server.shutdown().await;

    // Tenant off; sales overrides it (Set-CASMailbox -SmtpClientAuthenticationDisabled $false).
    let mut config = Config::demo();
    config.tenant.smtp_auth_disabled = true;
    config.mailboxes[2].smtp_auth_disabled = Some(false);
    let server = start(config).await;
    let mut c = submission(&server).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s(&tenant_off).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("sales@contoso.example", &alice(&server))
    ))
    .await;
    c.s(AUTH_OK).await;
    server.shutdown().await;

    let mut config = Config::demo();
    config.tenant.security_defaults = true;
    let server = start(config).await;
    let mut c = submission(&server).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s("535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn gmail_style_error_challenge() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    let server = start(config).await;
    let mut c = submission(&server).await;
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", "bad")
    ))
    .await;
    c.s("334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==").await;
    c.c("").await;
    assert_eq!(
        c.reply().await,
        [
            "535-5.7.8 Username and Password not accepted. Learn more at",
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials mock - gsmtp",
        ]
    );
    c.c(&format!(
        "AUTH XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s(AUTH_OK).await;
    server.shutdown().await;
}

#[tokio::test]
async fn submitted_mail_reaches_the_inbox_and_imap_search() {
    let server = start(Config::demo()).await;
    let mut c = authed(&server, "alice@contoso.example", &alice(&server)).await;
    let id = "<submitted-1@client.example>";
    let reply = send(
        &mut c,
        "alice@contoso.example",
        "alice@contoso.example",
        &message("alice@contoso.example", id),
    )
    .await;
    assert_eq!(reply, format!("250 2.0.0 OK {id} [Hostname={HOST}]"));
    let ids = server.message_ids("alice@contoso.example", "Inbox");
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[3], id);
    let raw = server
        .message("alice@contoso.example", id)
        .expect("delivered");
    assert!(raw.ends_with(b"\r\nHello.\r\n.dot-stuffed line\r\n"));
    c.c("QUIT").await;
    c.s("221 2.0.0 Service closing transmission channel").await;

    // IMAP sees it.
    let mut imap = Client::tls(&server, server.imaps_addr()).await;
    imap.line().await;
    imap.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    imap.s("A1 OK AUTHENTICATE completed.").await;
    imap.c("A2 EXAMINE INBOX").await;
    assert_eq!(imap.until_tagged("A2").await[0], "* 4 EXISTS");
    imap.c(&format!("A3 SEARCH HEADER Message-ID \"{id}\""))
        .await;
    imap.s("* SEARCH 4").await;
    imap.s("A3 OK SEARCH completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn send_as_denied_and_permitted() {
    let server = start(Config::demo()).await;
    let mut c = authed(&server, "alice@contoso.example", &alice(&server)).await;
    let reply = send(
        &mut c,
        "alice@contoso.example",
        "alice@contoso.example",
        &message("payroll@contoso.example", "<denied@client.example>"),
    )
    .await;
    assert_eq!(
        reply,
        format!(
            "554 5.2.252 SendAsDenied; alice@contoso.example not allowed to send as payroll@contoso.example; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. [{HOST}]"
        )
    );
    assert!(
        server
            .message("alice@contoso.example", "<denied@client.example>")
            .is_none()
    );

    // sales lists alice in send_as (Add-RecipientPermission).
    let id = "<as-sales@client.example>";
    let reply = send(
        &mut c,
        "sales@contoso.example",
        "alice@contoso.example",
        &message("sales@contoso.example", id),
    )
    .await;
    assert_eq!(reply, format!("250 2.0.0 OK {id} [Hostname={HOST}]"));
    assert!(
        server
            .message_ids("alice@contoso.example", "Inbox")
            .contains(&id.to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn implicit_tls_listener() {
    let server = start(Config::demo()).await;
    let mut c = Client::tls(&server, server.smtps_addr()).await;
    banner(&mut c).await;
    c.c("EHLO client.example").await;
    assert_eq!(c.reply().await, ehlo_lines("250-AUTH LOGIN XOAUTH2"));
    c.c("STARTTLS").await;
    c.s("500 5.3.3 Unrecognized command").await;
    c.c("AUTH XOAUTH2").await;
    c.s("334").await;
    c.c(&xoauth2("alice@contoso.example", &alice(&server)))
        .await;
    c.s(AUTH_OK).await;
    // Pipelined envelope (PIPELINING), to someone outside the tenant: dropped silently.
    c.send_raw(b"MAIL FROM:<alice@contoso.example>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n")
        .await;
    c.s("250 2.1.0 Sender OK").await;
    c.s("250 2.1.5 Recipient OK").await;
    c.s("354 Start mail input; end with <CRLF>.<CRLF>").await;
    c.send_raw(b"From: alice@contoso.example\r\n\r\nhi\r\n.\r\n")
        .await;
    let reply = c.line().await;
    assert!(reply.starts_with("250 2.0.0 OK <MOCK01"), "{reply}");
    server.shutdown().await;
}
