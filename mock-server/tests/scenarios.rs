//! Failure scenarios end to end: each `[faults]` knob gives Exchange Online's exact reply on
//! the wire (IMAP, POP3, SMTP) or at the token endpoint (AADSTS JSON), and every bundled
//! scenario starts and shows its symptom.

mod common;

use common::{Client, HttpResponse, alice, https, jwt_claims, post_form, query_param, start};
use common::{form, xoauth2};
use serde_json::Value;
use xoauth_mock::{
    Config, DEMO_DAEMON_CLIENT_ID, DEMO_PUBLIC_CLIENT_ID, MockServer, SCENARIOS, Scenario,
    TokenErrorConfig,
};

const TOKEN: &str = "/contoso.example/oauth2/v2.0/token";
const AUTHORIZE: &str = "/contoso.example/oauth2/v2.0/authorize";
const DEVICECODE: &str = "/contoso.example/oauth2/v2.0/devicecode";
const DELEGATED: &str = "https://outlook.office.com/IMAP.AccessAsUser.All \
                         https://outlook.office.com/POP.AccessAsUser.All \
                         https://outlook.office.com/SMTP.Send offline_access";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://localhost:53682/";
const ALICE: &str = "alice@contoso.example";

const IMAP_FAILED: &str = "A1 NO AUTHENTICATE failed.";
const POP_FAILED: &str = "-ERR Authentication failure: unknown user name or bad password.";
const SMTP_FAILED: &str = "535 5.7.3 Authentication unsuccessful [MOCK01.outlook.office365.com]";

async fn scenario(name: &str) -> MockServer {
    let s = Scenario::bundled(name).unwrap_or_else(|| panic!("bundled scenario {name}"));
    start(s.config).await
}

// ---- mail-side helpers -------------------------------------------------------------------

async fn imap_auth(server: &MockServer, user: &str, token: &str) -> (String, Client) {
    let mut c = Client::tls(server, server.imaps_addr()).await;
    c.line().await;
    c.c(&format!("A1 AUTHENTICATE XOAUTH2 {}", xoauth2(user, token)))
        .await;
    (c.line().await, c)
}

async fn pop_auth(server: &MockServer, user: &str, token: &str) -> (String, Client) {
    let mut c = Client::tls(server, server.pop3s_addr()).await;
    c.line().await;
    c.c("AUTH XOAUTH2").await;
    c.s("+").await;
    c.c(&xoauth2(user, token)).await;
    (c.line().await, c)
}

async fn smtp_auth(server: &MockServer, user: &str, token: &str) -> (String, Client) {
    let mut c = Client::tls(server, server.smtps_addr()).await;
    c.line().await;
    c.c("EHLO client.example").await;
    c.reply().await;
    c.c(&format!("AUTH XOAUTH2 {}", xoauth2(user, token))).await;
    (c.line().await, c)
}

async fn refused_everywhere(server: &MockServer, user: &str, token: &str) {
    assert_eq!(imap_auth(server, user, token).await.0, IMAP_FAILED);
    assert_eq!(pop_auth(server, user, token).await.0, POP_FAILED);
    assert_eq!(smtp_auth(server, user, token).await.0, SMTP_FAILED);
}

// ---- identity-platform helpers -----------------------------------------------------------

/// Authorization code + PKCE for `ALICE` through the public client: the token response.
async fn sign_in(server: &MockServer, scope: &str) -> HttpResponse {
    let query = form(&[
        ("client_id", DEMO_PUBLIC_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("login_hint", ALICE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let r = https(server, "GET", &format!("{AUTHORIZE}?{query}"), &[], "").await;
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").expect("Location");
    let code = query_param(location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    post_form(
        server,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn daemon_token(server: &MockServer) -> HttpResponse {
    post_form(
        server,
        TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://outlook.office365.com/.default"),
            ("client_id", DEMO_DAEMON_CLIENT_ID),
            ("client_secret", "mock-secret-valid-0001"),
        ],
    )
    .await
}

fn access_token(r: &HttpResponse) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// An AADSTS error body: status, `error`, and the first line of `error_description`.
fn aadsts(r: &HttpResponse) -> (u16, String, String) {
    let v: Value = r.json();
    let description = v["error_description"].as_str().expect("description");
    let line = description.split("\r\n").next().unwrap_or_default();
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert_eq!(
        v["error_uri"],
        format!(
            "https://login.microsoftonline.com/error?code={}",
            v["error_codes"][0]
        )
    );
    (
        r.status,
        v["error"].as_str().expect("error").to_owned(),
        line.to_owned(),
    )
}

fn with_token_errors(rules: &[(Option<&str>, Option<&str>, u32)]) -> Config {
    let mut config = Config::demo();
    config.idp.enforce_slow_down = false;
    config.faults.token_error = rules
        .iter()
        .map(|(user, client_id, code)| TokenErrorConfig {
            user: user.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            code: *code,
        })
        .collect();
    config
}

// ---- throttling --------------------------------------------------------------------------

#[tokio::test]
async fn throttled_imap_answers_the_first_command_after_authenticate() {
    let server = scenario("throttled").await;
    let (reply, mut c) = imap_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    c.c("A2 SELECT INBOX").await;
    c.s("A2 BAD Request is throttled. Suggested Backoff Time: 299961 milliseconds")
        .await;
    c.closed().await;
    // LOGOUT is still answered normally.
    let (_, mut c) = imap_auth(&server, ALICE, &alice(&server)).await;
    c.c("A2 LOGOUT").await;
    c.s("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        .await;
    c.s("A2 OK LOGOUT completed.").await;
    // A bad token still fails as usual.
    assert_eq!(imap_auth(&server, ALICE, "x.y.z").await.0, IMAP_FAILED);
    server.shutdown().await;
}

#[tokio::test]
async fn throttled_pop_refuses_auth() {
    let server = scenario("throttled").await;
    let (reply, mut c) = pop_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(
        reply,
        "-ERR Request is throttled. Suggested Backoff Time: 299961 milliseconds"
    );
    c.c("STAT").await;
    c.s("-ERR Command is not valid in this state.").await;
    c.c("QUIT").await;
    c.s("+OK Microsoft Exchange Server POP3 server signing off.")
        .await;
    assert_eq!(pop_auth(&server, ALICE, "x.y.z").await.0, POP_FAILED);
    server.shutdown().await;
}

#[tokio::test]
async fn throttled_smtp_refuses_auth() {
    let server = scenario("throttled").await;
    let (reply, mut c) = smtp_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(
        reply,
        "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"
    );
    c.c(&format!("MAIL FROM:<{ALICE}>")).await;
    let reply = c.line().await;
    assert!(reply.starts_with("530 5.7.57 "), "{reply}");
    assert_eq!(smtp_auth(&server, ALICE, "x.y.z").await.0, SMTP_FAILED);
    server.shutdown().await;
}

#[tokio::test]
async fn throttle_first_throttles_the_first_sign_ins_per_mailbox_then_lets_them_through() {
    let mut config = Config::demo();
    config.faults.throttle_first = 2;
    config.faults.throttle_backoff_ms = 75;
    let server = start(config).await;
    let token = alice(&server);
    let imap_throttled = "A2 BAD Request is throttled. Suggested Backoff Time: 75 milliseconds";
    for _ in 0..2 {
        let (reply, mut c) = imap_auth(&server, ALICE, &token).await;
        assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
        c.c("A2 LIST \"\" \"*\"").await;
        c.s(imap_throttled).await;
        c.closed().await;
    }
    // The third sign-in to alice's mailbox goes through.
    let (_, mut c) = imap_auth(&server, ALICE, &token).await;
    c.c("A2 LIST \"\" \"*\"").await;
    let listed = c.until_tagged("A2").await;
    assert_eq!(
        listed.last().map(String::as_str),
        Some("A2 OK LIST completed.")
    );
    // Counted per mailbox: sales@ (which alice may open) starts again at one.
    let (_, mut c) = imap_auth(&server, "sales@contoso.example", &token).await;
    c.c("A2 NOOP").await;
    c.s(imap_throttled).await;
    // Counted per protocol: POP and SMTP throttle their own first two.
    for _ in 0..2 {
        let (reply, _) = pop_auth(&server, ALICE, &token).await;
        assert_eq!(
            reply,
            "-ERR Request is throttled. Suggested Backoff Time: 75 milliseconds"
        );
    }
    assert_eq!(
        pop_auth(&server, ALICE, &token).await.0,
        "+OK User successfully authenticated."
    );
    for _ in 0..2 {
        let (reply, _) = smtp_auth(&server, ALICE, &token).await;
        assert_eq!(
            reply,
            "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"
        );
    }
    assert_eq!(
        smtp_auth(&server, ALICE, &token).await.0,
        "235 2.7.0 Authentication successful"
    );
    // A bad token is refused as usual and does not count: bob's first good sign-in is
    // still throttled.
    let bob = "bob@contoso.example";
    assert_eq!(imap_auth(&server, bob, "x.y.z").await.0, IMAP_FAILED);
    let (_, mut c) = imap_auth(&server, bob, &common::bob(&server)).await;
    c.c("A2 NOOP").await;
    c.s(imap_throttled).await;
    server.shutdown().await;
}

#[tokio::test]
async fn smtp_sessions_per_mailbox_caps_concurrent_logins_like_exchange() {
    let mut config = Config::demo();
    config.server.smtp_sessions_per_mailbox = 3;
    let server = start(config).await;
    let token = alice(&server);
    let mut open = Vec::new();
    for _ in 0..3 {
        let (reply, c) = smtp_auth(&server, ALICE, &token).await;
        assert_eq!(reply, "235 2.7.0 Authentication successful");
        open.push(c);
    }
    let (reply, _) = smtp_auth(&server, ALICE, &token).await;
    assert_eq!(
        reply,
        "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"
    );
    // Another mailbox has its own three.
    let (reply, _) = smtp_auth(&server, "sales@contoso.example", &token).await;
    assert_eq!(reply, "235 2.7.0 Authentication successful");
    // One session ends: its place is free again.
    let mut first = open.remove(0);
    first.c("QUIT").await;
    first.line().await;
    first.closed().await;
    let mut freed = false;
    for _ in 0..50 {
        let (reply, _) = smtp_auth(&server, ALICE, &token).await;
        if reply.starts_with("235 ") {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(freed, "the place of a closed session is given back");
    server.shutdown().await;
}

// ---- wrong audience ----------------------------------------------------------------------

#[tokio::test]
async fn delegated_audience_gives_graph_tokens_the_mail_services_refuse() {
    let server = scenario("wrong-audience").await;
    let r = sign_in(&server, DELEGATED).await;
    let token = access_token(&r);
    let claims = jwt_claims(&token);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(
        claims["scp"],
        "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"
    );
    // The response still reports the scopes as requested.
    assert!(
        r.json()["scope"]
            .as_str()
            .expect("scope")
            .starts_with("https://outlook.office.com/IMAP.AccessAsUser.All")
    );
    let (reply, _) = imap_auth(&server, ALICE, &token).await;
    assert_eq!(reply, "A1 NO AUTHENTICATE failed.");
    refused_everywhere(&server, ALICE, &token).await;
    // App-only tokens are not affected.
    let daemon = access_token(&daemon_token(&server).await);
    assert_eq!(jwt_claims(&daemon)["aud"], "https://outlook.office365.com");
    server.shutdown().await;
}

// ---- token-endpoint refusals -------------------------------------------------------------

#[tokio::test]
async fn conditional_access_refuses_alices_tokens() {
    let server = scenario("conditional-access").await;
    let r = sign_in(&server, DELEGATED).await;
    assert_eq!(
        aadsts(&r),
        (
            400,
            "invalid_grant".to_owned(),
            "AADSTS53003: Access has been blocked by Conditional Access policies. The access \
             policy does not allow token issuance."
                .to_owned()
        )
    );
    assert_eq!(r.json()["error_codes"][0], 53003);
    // Other principals are unaffected.
    access_token(&daemon_token(&server).await);
    let records = server.token_requests();
    assert_eq!(records[0].error_code, Some(53003));
    server.shutdown().await;
}

#[tokio::test]
async fn mfa_required_names_the_exchange_resource() {
    let server = scenario("mfa-required").await;
    let r = sign_in(&server, DELEGATED).await;
    assert_eq!(
        aadsts(&r),
        (
            400,
            "invalid_grant".to_owned(),
            "AADSTS50076: Due to a configuration change made by your administrator, or because \
             you moved to a new location, you must use multi-factor authentication to access \
             '00000002-0000-0ff1-ce00-000000000000'."
                .to_owned()
        )
    );
    server.shutdown().await;
}

async fn poll(server: &MockServer, device_code: &str) -> HttpResponse {
    post_form(
        server,
        TOKEN,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("device_code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_is_refused_when_the_approved_code_is_redeemed() {
    let mut config = Scenario::bundled("mfa-required").expect("bundled").config;
    config.idp.enforce_slow_down = false;
    let server = start(config).await;
    let r = post_form(
        &server,
        DEVICECODE,
        &[("client_id", DEMO_PUBLIC_CLIENT_ID), ("scope", DELEGATED)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    let device_code = d["device_code"].as_str().expect("device_code");
    assert_eq!(
        poll(&server, device_code).await.json()["error"],
        "authorization_pending"
    );
    assert!(server.approve_device_code(d["user_code"].as_str().expect("user_code"), ALICE));
    let (status, error, line) = aadsts(&poll(&server, device_code).await);
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(
        line.starts_with("AADSTS50076: Due to a configuration change"),
        "{line}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn security_defaults_and_missing_resource_for_apps() {
    let server = start(with_token_errors(&[(
        None,
        Some(DEMO_DAEMON_CLIENT_ID),
        530035,
    )]))
    .await;
    assert_eq!(
        aadsts(&daemon_token(&server).await),
        (
            400,
            "invalid_grant".to_owned(),
            "AADSTS530035: Access has been blocked by security defaults. This is due to the \
             request using legacy auth or being deemed unsafe by security defaults policies."
                .to_owned()
        )
    );
    access_token(&sign_in(&server, DELEGATED).await);
    server.shutdown().await;

    let server = start(with_token_errors(&[(
        None,
        Some(DEMO_DAEMON_CLIENT_ID),
        500011,
    )]))
    .await;
    assert_eq!(
        aadsts(&daemon_token(&server).await),
        (
            400,
            "invalid_resource".to_owned(),
            "AADSTS500011: The resource principal named https://outlook.office365.com was not \
             found in the tenant named contoso.example. This can happen if the application has \
             not been installed by the administrator of the tenant or consented to by any user \
             in the tenant. You might have sent your authentication request to the wrong tenant."
                .to_owned()
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn expired_refresh_token_refuses_only_the_refresh_grant() {
    let server = start(with_token_errors(&[(Some(ALICE), None, 700082)])).await;
    let r = sign_in(&server, DELEGATED).await;
    access_token(&r);
    let refresh = r.json()["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let r = post_form(
        &server,
        TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    let (status, error, line) = aadsts(&r);
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(
        line.starts_with(
            "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on "
        ) && line.ends_with("Z and was inactive for 90.00:00:00."),
        "{line}"
    );
    server.shutdown().await;
}

// ---- Exchange service principal ----------------------------------------------------------

#[tokio::test]
async fn wrong_service_principal_object_id_refuses_app_tokens() {
    let server = scenario("service-principal-wrong-object-id").await;
    let token = access_token(&daemon_token(&server).await);
    assert_eq!(
        jwt_claims(&token)["oid"],
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    );
    refused_everywhere(&server, "sales@contoso.example", &token).await;
    // Delegated tokens are unaffected.
    let (reply, _) = imap_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    server.shutdown().await;
}

// ---- already-expired tokens --------------------------------------------------------------

#[tokio::test]
async fn negative_lifetime_issues_expired_tokens() {
    let server = scenario("expired-token").await;
    let r = daemon_token(&server).await;
    let v = r.json();
    assert_eq!(v["expires_in"], -600);
    let token = access_token(&r);
    let claims = jwt_claims(&token);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().expect("exp");
    assert!((now - 700..=now - 500).contains(&exp), "{claims}");
    assert!(claims["iat"].as_i64() < Some(exp));
    let (reply, _) = imap_auth(&server, "sales@contoso.example", &token).await;
    assert_eq!(reply, "A1 NO AUTHENTICATE failed.");
    let user = access_token(&sign_in(&server, DELEGATED).await);
    refused_everywhere(&server, ALICE, &user).await;
    server.shutdown().await;
}

// ---- every bundled scenario --------------------------------------------------------------

#[tokio::test]
async fn every_bundled_scenario_starts() {
    for name in SCENARIOS {
        let s = Scenario::bundled(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(&s.name, name);
        let server = start(s.config).await;
        server.shutdown().await;
    }
}

#[tokio::test]
async fn knob_scenarios_show_their_symptom() {
    let sales = "sales@contoso.example";
    // Mailbox-side knobs, with the demo tokens.
    let server = scenario("imap-disabled").await;
    let (reply, mut c) = imap_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    c.c("A2 SELECT INBOX").await;
    c.s("A2 BAD User is authenticated but not connected.").await;
    server.shutdown().await;

    let server = scenario("pop-disabled").await;
    assert_eq!(
        pop_auth(&server, ALICE, &alice(&server)).await.0,
        POP_FAILED
    );
    server.shutdown().await;

    for (name, reply) in [
        (
            "smtp-auth-disabled-tenant",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for \
             the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. \
             [MOCK01.outlook.office365.com]",
        ),
        (
            "smtp-auth-disabled-mailbox",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for \
             the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. \
             [MOCK01.outlook.office365.com]",
        ),
        (
            "security-defaults",
            "535 5.7.139 Authentication unsuccessful, user is locked by your organization's \
             security defaults policy. Contact your administrator.",
        ),
    ] {
        let server = scenario(name).await;
        assert_eq!(
            smtp_auth(&server, ALICE, &alice(&server)).await.0,
            reply,
            "{name}"
        );
        server.shutdown().await;
    }

    let server = scenario("send-as-denied").await;
    let (reply, mut c) = smtp_auth(&server, ALICE, &alice(&server)).await;
    assert_eq!(reply, "235 2.7.0 Authentication successful");
    c.c(&format!("MAIL FROM:<{sales}>")).await;
    c.s("250 2.1.0 Sender OK").await;
    c.c("RCPT TO:<bob@contoso.example>").await;
    c.s("250 2.1.5 Recipient OK").await;
    c.c("DATA").await;
    c.line().await;
    c.c(&format!("From: {sales}\r\nSubject: x\r\n\r\nx\r\n."))
        .await;
    let reply = c.line().await;
    assert!(reply.starts_with("554 5.2.252 SendAsDenied;"), "{reply}");
    server.shutdown().await;

    // App-side knobs, with tokens from the token endpoint.
    for name in ["app-missing-role", "service-principal-not-registered"] {
        let server = scenario(name).await;
        let token = access_token(&daemon_token(&server).await);
        let (reply, _) = imap_auth(&server, sales, &token).await;
        assert_eq!(reply, IMAP_FAILED, "{name}");
        server.shutdown().await;
    }
    let server = scenario("no-full-access").await;
    let token = access_token(&daemon_token(&server).await);
    let (reply, mut c) = imap_auth(&server, sales, &token).await;
    assert_eq!(reply, "A1 OK AUTHENTICATE completed.");
    c.c("A2 LIST \"\" \"*\"").await;
    c.s("A2 BAD User is authenticated but not connected.").await;
    server.shutdown().await;

    let server = scenario("delegated-missing-scope").await;
    let token = access_token(&sign_in(&server, "https://outlook.office.com/.default").await);
    assert_eq!(jwt_claims(&token)["scp"], "IMAP.AccessAsUser.All SMTP.Send");
    assert_eq!(pop_auth(&server, ALICE, &token).await.0, POP_FAILED);
    assert_eq!(
        imap_auth(&server, ALICE, &token).await.0,
        "A1 OK AUTHENTICATE completed."
    );
    server.shutdown().await;

    // Identity-platform knobs.
    let server = scenario("consent-missing").await;
    let query = form(&[
        ("client_id", DEMO_PUBLIC_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", DELEGATED),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let r = https(&server, "GET", &format!("{AUTHORIZE}?{query}"), &[], "").await;
    let location = r.header("location").expect("Location");
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("consent_required")
    );
    let description = query_param(location, "error_description").expect("description");
    assert!(description.starts_with("AADSTS65001: "), "{description}");
    server.shutdown().await;

    let server = scenario("redirect-uri-missing").await;
    let r = https(&server, "GET", &format!("{AUTHORIZE}?{query}"), &[], "").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("AADSTS50011: "), "{}", r.body);
    server.shutdown().await;

    let server = scenario("secret-expired").await;
    let r = daemon_token(&server).await;
    assert_eq!(r.status, 401);
    assert!(aadsts(&r).2.starts_with("AADSTS7000222: "));
    server.shutdown().await;
}
