//! End-to-end IMAP dialogues against the in-process mock, over real TCP and TLS, with a raw
//! tokio-rustls client that trusts only the mock's CA. Each test reads like C:/S: lines.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Client, alice, bob, start, xoauth2};
use tokio::net::TcpStream;
use xoauth_mock::{Config, MockError, MockServer};

/// Connects to the implicit-TLS listener and checks the greeting.
async fn imaps(server: &MockServer) -> Client {
    let mut client = Client::tls(server, server.imaps_addr()).await;
    greeting(&mut client).await;
    client
}

async fn greeting(client: &mut Client) {
    let line = client.line().await;
    let backend = common::backend_name(
        &line,
        "* OK The Microsoft Exchange IMAP4 service is ready. [",
    );
    assert_eq!(backend, "MOCK01.outlook.office365.com");
}

#[tokio::test]
async fn greeting_and_capability() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;
    c.c("A1 NOOP").await;
    c.s("A1 OK NOOP completed.").await;
    c.c("A2 LOGOUT").await;
    c.s("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        .await;
    c.s("A2 OK LOGOUT completed.").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn sasl_ir_success_then_post_auth_capability() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A2 OK CAPABILITY completed.").await;
    c.c("A3 LIST \"\" \"*\"").await;
    assert_eq!(
        c.until_tagged("A3").await,
        [
            "* LIST (\\HasNoChildren) \"/\" Inbox",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Deleted Items\"",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk Email\"",
            "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe",
            "* LIST (\\HasNoChildren) \"/\" \"&AMQ-rger &- Co\"",
            "* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-",
            "A3 OK LIST completed.",
        ]
    );
    c.c("A4 EXAMINE INBOX").await;
    assert_eq!(
        c.until_tagged("A4").await,
        [
            "* 3 EXISTS",
            "* 0 RECENT",
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)",
            "* OK [PERMANENTFLAGS ()] Permanent flags",
            "* OK [UIDVALIDITY 14] UIDVALIDITY value",
            "* OK [UIDNEXT 4] The next unique identifier value",
            "A4 OK [READ-ONLY] EXAMINE completed.",
        ]
    );
    let log = server.command_log();
    assert_eq!(
        log,
        [
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP CAPABILITY",
            "IMAP LIST",
            "IMAP EXAMINE"
        ]
    );
    assert!(log.iter().all(|l| !l.contains(&alice(&server))));
    server.shutdown().await;
}

#[tokio::test]
async fn two_step_success_with_bare_plus() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A1 AUTHENTICATE XOAUTH2").await;
    c.s("+").await;
    c.c(&xoauth2("bob@contoso.example", &bob(&server))).await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 NAMESPACE").await;
    c.s("* NAMESPACE ((\"\" \"/\")) NIL NIL").await;
    c.s("A2 OK NAMESPACE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_token_is_refused_exchange_style() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", "expired-token")
    ))
    .await;
    c.s("A1 NO AUTHENTICATE failed.").await;
    c.c("A2 AUTHENTICATE XOAUTH2 not!base64").await;
    c.s("A2 NO AUTHENTICATE failed.").await;
    c.c("A3 LOGIN alice password").await;
    c.s("A3 NO LOGIN failed.").await;
    // Still not authenticated.
    c.c("A4 LIST \"\" *").await;
    c.s("A4 BAD Command received in Invalid state.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn shared_mailbox_with_full_access_lists() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("sales@contoso.example", &alice(&server))
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("* LIST (\\HasNoChildren) \"/\" Inbox").await;
    c.s("* LIST (\\HasChildren) \"/\" Angebote").await;
    c.s("* LIST (\\HasNoChildren) \"/\" Angebote/2026").await;
    c.s("A2 OK LIST completed.").await;
    c.c("A3 SELECT Inbox").await;
    let lines = c.until_tagged("A3").await;
    assert_eq!(lines[0], "* 5 EXISTS");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("A3 OK [READ-WRITE] SELECT completed.")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn mailbox_without_permission_is_authenticated_but_not_connected() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("payroll@contoso.example", &alice(&server))
    ))
    .await;
    c.s("A1 OK AUTHENTICATE completed.").await;
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("A2 BAD User is authenticated but not connected.").await;
    c.s("* BYE Connection closed. 14").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn starttls_path() {
    let server = start(Config::demo()).await;
    let tcp = TcpStream::connect(server.imap_starttls_addr())
        .await
        .expect("connect");
    let mut plain = Client::new(tcp);
    greeting(&mut plain).await;
    plain.c("A0 CAPABILITY").await;
    plain.s("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    plain.s("A0 OK CAPABILITY completed.").await;
    plain
        .c(&format!(
            "A1 AUTHENTICATE XOAUTH2 {}",
            xoauth2("alice@contoso.example", &alice(&server))
        ))
        .await;
    plain.s("A1 BAD Command received in Invalid state.").await;
    plain.c("A2 STARTTLS").await;
    plain.s("A2 OK Begin TLS negotiation now.").await;

    // The server sent nothing after the OK, so the reader holds no buffered bytes.
    let mut c = plain.starttls(&server).await;
    c.c("A3 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A3 OK CAPABILITY completed.").await;
    c.c("A4 STARTTLS").await;
    c.s("A4 BAD Command Error. 12").await;
    c.c(&format!(
        "A5 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s("A5 OK AUTHENTICATE completed.").await;
    assert_eq!(
        server.command_log(),
        [
            "IMAP CAPABILITY",
            "IMAP AUTHENTICATE XOAUTH2",
            "IMAP STARTTLS",
            "IMAP CAPABILITY",
            "IMAP STARTTLS",
            "IMAP AUTHENTICATE XOAUTH2",
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn starttls_disabled_is_not_offered() {
    let mut config = Config::demo();
    config.server.starttls = false;
    let server = start(config).await;
    let tcp = TcpStream::connect(server.imap_starttls_addr())
        .await
        .expect("connect");
    let mut c = Client::new(tcp);
    greeting(&mut c).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;
    c.c("A1 STARTTLS").await;
    c.s("A1 BAD Command Error. 12").await;
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_commands_get_bad() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    c.c("A1 FROBNICATE now").await;
    c.s("A1 BAD Command Error. 12").await;
    c.c("))) garbage").await;
    c.s("* BAD Command Error. 12").await;
    c.send_raw(b"\x00\xff\xfe\r\n").await;
    c.s("* BAD Command Error. 12").await;
    c.c("A2 SELECT").await;
    c.s("A2 BAD Command Error. 12").await;
    // A synchronizing literal is accepted with a continuation request.
    c.c("A3 EXAMINE {5}").await;
    c.s("+ Ready for additional command text.").await;
    c.c("INBOX").await;
    c.s("A3 BAD Command received in Invalid state.").await;
    // The session still works.
    c.c("A4 NOOP").await;
    c.s("A4 OK NOOP completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_command_is_refused_and_closed() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    let huge = vec![b'A'; 70 * 1024];
    c.send_raw(&huge).await;
    c.s("* BYE Command too long.").await;
    c.closed().await;

    let mut c = imaps(&server).await;
    c.c("A1 LOGIN {1000000}").await;
    c.s("* BYE Command too long.").await;
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn gmail_style_error_challenge() {
    let mut config = Config::demo();
    config.server.xoauth2_error_challenge = true;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    c.c(&format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", "bad")
    ))
    .await;
    c.s("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==").await;
    c.c("").await;
    c.s("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        .await;
    // A good token still works afterwards.
    c.c(&format!(
        "A2 AUTHENTICATE XOAUTH2 {}",
        xoauth2("alice@contoso.example", &alice(&server))
    ))
    .await;
    c.s("A2 OK AUTHENTICATE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_error_challenge_and_success() {
    let mut config = Config::demo();
    config.server.oauthbearer = true;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    c.c("A0 CAPABILITY").await;
    c.s("* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+").await;
    c.s("A0 OK CAPABILITY completed.").await;

    let port = server.imaps_addr().port();
    let bad = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01host=localhost\x01port={port}\x01auth=Bearer bad\x01\x01"
    ));
    c.c(&format!("A1 AUTHENTICATE OAUTHBEARER {bad}")).await;
    let challenge = c.line().await;
    let json = STANDARD
        .decode(challenge.strip_prefix("+ ").expect("challenge"))
        .expect("base64 challenge");
    assert_eq!(
        String::from_utf8(json).expect("UTF-8"),
        r#"{"status":"invalid_token","scope":"https://outlook.office.com/IMAP.AccessAsUser.All","openid-configuration":"https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"}"#
    );
    c.c("AQ==").await;
    c.s("A1 NO AUTHENTICATE failed.").await;

    let alice_token = alice(&server);
    let good = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01host=localhost\x01port={port}\x01auth=Bearer {alice_token}\x01\x01"
    ));
    c.c(&format!("A2 AUTHENTICATE OAUTHBEARER {good}")).await;
    c.s("A2 OK AUTHENTICATE completed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_is_refused_when_not_advertised() {
    let server = start(Config::demo()).await;
    let mut c = imaps(&server).await;
    let alice_token = alice(&server);
    let msg = STANDARD.encode(format!(
        "n,a=alice@contoso.example,\x01auth=Bearer {alice_token}\x01\x01"
    ));
    c.c(&format!("A1 AUTHENTICATE OAUTHBEARER {msg}")).await;
    c.s("A1 NO AUTHENTICATE failed.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn idle_timeout_closes_the_connection() {
    let mut config = Config::demo();
    config.server.idle_timeout_secs = 1;
    let server = start(config).await;
    let mut c = imaps(&server).await;
    let started = std::time::Instant::now();
    c.s("* BYE Connection is closed. 13").await;
    assert!(started.elapsed() < Duration::from_secs(3));
    c.closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn serves_many_connections_concurrently() {
    let server = Arc::new(start(Config::demo()).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            let mut c = imaps(&server).await;
            c.c(&format!("T{i} NOOP")).await;
            c.s(&format!("T{i} OK NOOP completed.")).await;
            c.c(&format!("U{i} LOGOUT")).await;
            c.until_tagged(&format!("U{i}")).await;
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    let log = server.command_log();
    assert_eq!(log.iter().filter(|l| *l == "IMAP NOOP").count(), 20);
}

#[tokio::test]
async fn shutdown_ends_open_sessions_and_listeners() {
    let server = start(Config::demo()).await;
    let addr = server.imaps_addr();
    let mut c = imaps(&server).await;
    server.shutdown().await;
    c.closed().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener still accepting"
    );
}

#[tokio::test]
async fn invalid_config_is_refused_at_start() {
    let mut config = Config::demo();
    config.mailboxes[2]
        .full_access
        .push("ghost@contoso.example".to_owned());
    match MockServer::start(config).await {
        Err(MockError::Config(e)) => assert!(e.to_string().contains("ghost@contoso.example")),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn ca_pem_matches_ca_der() {
    let server = start(Config::demo()).await;
    let pem = server.ca_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).expect("PEM body is base64");
    assert_eq!(der, server.ca_der().as_ref());
    server.shutdown().await;
}
