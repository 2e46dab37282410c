//! The mail services judge tokens like Exchange Online: signature, lifetime, audience,
//! permission (delegated `scp` / app-only `roles` + Exchange service principal), then
//! FullAccess. Tokens come from `MockServer::issue_token` or from the token endpoint.

mod common;

use common::{Client, post_form, start, xoauth2};
use xoauth_mock::{Config, DEMO_DAEMON_CLIENT_ID, MockServer, Subject, TokenSpec};

const IMAP_FAILED: &str = "A1 NO AUTHENTICATE failed.";
const POP_FAILED: &str = "-ERR Authentication failure: unknown user name or bad password.";
const SMTP_FAILED: &str = "535 5.7.3 Authentication unsuccessful [MOCK01.outlook.office365.com]";

/// IMAP: greeting, AUTHENTICATE XOAUTH2 with SASL-IR; returns the tagged reply and the client.
async fn imap_auth(server: &MockServer, user: &str, token: &str) -> (String, Client) {
    let mut c = Client::tls(server, server.imaps_addr()).await;
    c.line().await;
    c.c(&format!("A1 AUTHENTICATE XOAUTH2 {}", xoauth2(user, token)))
        .await;
    (c.line().await, c)
}

/// POP3: greeting, two-step AUTH XOAUTH2; returns the reply.
async fn pop_auth(server: &MockServer, user: &str, token: &str) -> String {
    let mut c = Client::tls(server, server.pop3s_addr()).await;
    c.line().await;
    c.c("AUTH XOAUTH2").await;
    c.s("+").await;
    c.c(&xoauth2(user, token)).await;
    c.line().await
}

/// SMTP over implicit TLS: banner, EHLO, AUTH XOAUTH2; returns the reply and the client.
async fn smtp_auth(server: &MockServer, user: &str, token: &str) -> (String, Client) {
    let mut c = Client::tls(server, server.smtps_addr()).await;
    c.line().await;
    c.c("EHLO client.example").await;
    c.reply().await;
    c.c(&format!("AUTH XOAUTH2 {}", xoauth2(user, token))).await;
    (c.line().await, c)
}

/// The same refusal on all three protocols.
async fn refused_everywhere(server: &MockServer, user: &str, token: &str) {
    assert_eq!(imap_auth(server, user, token).await.0, IMAP_FAILED);
    assert_eq!(pop_auth(server, user, token).await, POP_FAILED);
    assert_eq!(smtp_auth(server, user, token).await.0, SMTP_FAILED);
}

fn with_scopes(mut spec: TokenSpec, scopes: &[&str]) -> TokenSpec {
    spec.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    spec
}

#[tokio::test]
async fn delegated_token_failures() {
    let server = start(Config::demo()).await;
    let alice = "alice@contoso.example";
    let mut expired = TokenSpec::user(alice);
    expired.lifetime_secs = -60;
    refused_everywhere(&server, alice, &server.issue_token(&expired)).await;
    // Graph audience: bare or graph-prefixed scope names.
    for scope in [
        "IMAP.AccessAsUser.All",
        "https://graph.microsoft.com/IMAP.AccessAsUser.All",
    ] {
        let graph = server.issue_token(&with_scopes(TokenSpec::user(alice), &[scope]));
        assert_eq!(imap_auth(&server, alice, &graph).await.0, IMAP_FAILED);
    }
    // Only POP permission: IMAP and SMTP refuse, POP accepts.
    let pop_only = server.issue_token(&with_scopes(
        TokenSpec::user(alice),
        &["https://outlook.office.com/POP.AccessAsUser.All"],
    ));
    assert_eq!(imap_auth(&server, alice, &pop_only).await.0, IMAP_FAILED);
    assert_eq!(smtp_auth(&server, alice, &pop_only).await.0, SMTP_FAILED);
    assert_eq!(
        pop_auth(&server, alice, &pop_only).await,
        "+OK User successfully authenticated."
    );
    // A token for a mailbox with the other Exchange audience works.
    let o365 = server.issue_token(&with_scopes(
        TokenSpec::user(alice),
        &["https://outlook.office365.com/IMAP.AccessAsUser.All"],
    ));
    assert_eq!(
        imap_auth(&server, alice, &o365).await.0,
        "A1 OK AUTHENTICATE completed."
    );
    // A token from another mock with a different tenant id.
    let mut other = Config::demo();
    other.idp.tenant_id = "00000000-0000-0000-0000-0000000000ff".to_owned();
    let other = start(other).await;
    let foreign = other.issue_token(&TokenSpec::user(alice));
    assert_eq!(imap_auth(&server, alice, &foreign).await.0, IMAP_FAILED);
    other.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn app_only_full_access() {
    let server = start(Config::demo()).await;
    let app = server.issue_token(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID));
    // sales@ lists the daemon in full_access.
    let (reply, mut c) = imap_auth(&server, "sales@contoso.example", &app).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    c.c("A2 SELECT Inbox").await;
    let lines = c.until_tagged("A2").await;
    assert_eq!(lines[0], "* 5 EXISTS");
    assert_eq!(
        pop_auth(&server, "sales@contoso.example", &app).await,
        "+OK User successfully authenticated."
    );
    let (reply, mut c) = smtp_auth(&server, "sales@contoso.example", &app).await;
    assert_eq!(reply, "235 2.7.0 Authentication successful");
    c.c("MAIL FROM:<sales@contoso.example>").await;
    c.s("250 2.1.0 Sender OK").await;
    c.c("RCPT TO:<bob@contoso.example>").await;
    c.s("250 2.1.5 Recipient OK").await;
    c.c("DATA").await;
    c.line().await;
    c.send_raw(b"From: <sales@contoso.example>\r\nMessage-ID: <app-1@example>\r\n\r\nHi.\r\n.\r\n")
        .await;
    assert!(c.line().await.starts_with("250 2.0.0 OK"));
    assert_eq!(
        server.message_ids("bob@contoso.example", "Inbox"),
        ["<app-1@example>"]
    );

    // payroll@ does not: IMAP authenticates but is not connected, POP and SMTP refuse.
    let (reply, mut c) = imap_auth(&server, "payroll@contoso.example", &app).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("A2 BAD User is authenticated but not connected.").await;
    assert_eq!(
        pop_auth(&server, "payroll@contoso.example", &app).await,
        POP_FAILED
    );
    assert_eq!(
        smtp_auth(&server, "payroll@contoso.example", &app).await.0,
        SMTP_FAILED
    );
    // An app cannot open a user's own mailbox without FullAccess.
    let (_, mut c) = imap_auth(&server, "alice@contoso.example", &app).await;
    c.c("A2 NOOP").await;
    c.c("A3 LIST \"\" \"*\"").await;
    c.s("A2 OK NOOP completed.").await;
    c.s("A3 BAD User is authenticated but not connected.").await;
    server.shutdown().await;
}

#[tokio::test]
async fn app_only_needs_service_principal_and_roles() {
    let mut config = Config::demo();
    config.apps[1].exchange_service_principal = false;
    let server = start(config).await;
    let app = server.issue_token(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID));
    refused_everywhere(&server, "sales@contoso.example", &app).await;
    server.shutdown().await;

    let mut config = Config::demo();
    config.apps[1].roles = vec!["SMTP.SendAsApp".to_owned()];
    let server = start(config).await;
    let app = server.issue_token(&TokenSpec::app(DEMO_DAEMON_CLIENT_ID));
    assert_eq!(
        imap_auth(&server, "sales@contoso.example", &app).await.0,
        IMAP_FAILED
    );
    assert_eq!(
        pop_auth(&server, "sales@contoso.example", &app).await,
        POP_FAILED
    );
    assert_eq!(
        smtp_auth(&server, "sales@contoso.example", &app).await.0,
        "235 2.7.0 Authentication successful"
    );
    // An app-only token for Graph carries no Exchange roles and the wrong audience.
    let spec = TokenSpec {
        subject: Subject::App {
            client_id: DEMO_DAEMON_CLIENT_ID.to_owned(),
        },
        scopes: vec!["https://graph.microsoft.com/.default".to_owned()],
        lifetime_secs: 600,
    };
    let graph = server.issue_token(&spec);
    assert_eq!(
        smtp_auth(&server, "sales@contoso.example", &graph).await.0,
        SMTP_FAILED
    );
    server.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_tokens_open_mailboxes() {
    let server = start(Config::demo()).await;
    let r = post_form(
        &server,
        "/contoso.onmicrosoft.com/oauth2/v2.0/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://outlook.office365.com/.default"),
            ("client_id", DEMO_DAEMON_CLIENT_ID),
            ("client_secret", "mock-secret-valid-0001"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().expect("token").to_owned();
    let (reply, _) = imap_auth(&server, "sales@contoso.example", &token).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    server.shutdown().await;
}
