//! The identity platform end to end over HTTPS: every grant's success and each AADSTS error
//! the mock emits, device-code polling, the authorize redirect, and what the mock recorded.
//! A raw HTTP/1.1 client over tokio-rustls trusts only the mock's CA.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{HttpResponse, https, jwt_claims, post_form, query_param, start};
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use xoauth_mock::{ClientAuth, Config, DEMO_DAEMON_CLIENT_ID, DEMO_PUBLIC_CLIENT_ID, MockServer};

const TOKEN: &str = "/contoso.example/oauth2/v2.0/token";
const DEVICECODE: &str = "/contoso.example/oauth2/v2.0/devicecode";
const AUTHORIZE: &str = "/contoso.example/oauth2/v2.0/authorize";
const EXO_DEFAULT: &str = "https://outlook.office365.com/.default";
const SECRET: &str = "mock-secret-valid-0001";
const DELEGATED: &str = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Checks Microsoft's error shape and returns the AADSTS number.
fn aadsts(r: &HttpResponse, status: u16, error: &str) -> (u32, String) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v = r.json();
    assert_eq!(v["error"], error, "{}", r.body);
    let code = v["error_codes"][0].as_u64().expect("error_codes") as u32;
    let description = v["error_description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    let trace = v["trace_id"].as_str().expect("trace_id");
    let correlation = v["correlation_id"].as_str().expect("correlation_id");
    let timestamp = v["timestamp"].as_str().expect("timestamp");
    assert_eq!(trace.len(), 36);
    assert_eq!(timestamp.len(), "2026-11-23 18:22:00Z".len());
    assert!(timestamp.ends_with('Z'));
    assert!(description.ends_with(&format!(
        "\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
    )));
    assert_eq!(
        v["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    (code, description)
}

fn success(r: &HttpResponse) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].is_u64(), "expires_in must be a number");
    assert!(v["ext_expires_in"].is_u64());
    v
}

async fn client_credentials(server: &MockServer, extra: &[(&str, &str)]) -> HttpResponse {
    let mut pairs = vec![("grant_type", "client_credentials"), ("scope", EXO_DEFAULT)];
    pairs.extend_from_slice(extra);
    post_form(server, TOKEN, &pairs).await
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A client assertion signed with a fixture key; `s256` picks `x5t#S256` + PS256.
fn assertion(key_pem: &str, cert_pem: &str, claims: Value, s256: bool) -> String {
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("cert PEM");
    let (alg, thumb_name, thumb, encoding): (&str, &str, Vec<u8>, &'static dyn RsaEncoding) =
        if s256 {
            let t = digest::digest(&digest::SHA256, cert.as_ref())
                .as_ref()
                .to_vec();
            ("PS256", "x5t#S256", t, &RSA_PSS_SHA256)
        } else {
            let t = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref())
                .as_ref()
                .to_vec();
            ("RS256", "x5t", t, &RSA_PKCS1_SHA256)
        };
    let header = json!({"alg": alg, "typ": "JWT", thumb_name: URL_SAFE_NO_PAD.encode(thumb)});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM");
    let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("RSA key");
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(encoding, &SystemRandom::new(), input.as_bytes(), &mut sig)
        .expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

const APP_KEY: &str = include_str!("../fixtures/app-key.pem");
const APP_CERT: &str = include_str!("../fixtures/app-cert.pem");
const OTHER_KEY: &str = include_str!("../fixtures/other-key.pem");
const OTHER_CERT: &str = include_str!("../fixtures/other-cert.pem");

fn assertion_claims(server: &MockServer) -> Value {
    json!({
        "aud": format!("{}{TOKEN}", server.idp_url()),
        "iss": DEMO_DAEMON_CLIENT_ID,
        "sub": DEMO_DAEMON_CLIENT_ID,
        "jti": "0b7c6f5e-4d3c-4b2a-9180-7f6e5d4c3b2a",
        "nbf": now(),
        "exp": now() + 600,
    })
}

async fn with_assertion(server: &MockServer, jwt: &str) -> HttpResponse {
    client_credentials(
        server,
        &[
            ("client_id", DEMO_DAEMON_CLIENT_ID),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ],
    )
    .await
}

#[tokio::test]
async fn client_credentials_with_secret_and_basic() {
    let server = start(Config::demo()).await;
    assert!(server.idp_url().starts_with("https://127.0.0.1:"));
    assert_eq!(server.idp_url(), format!("https://{}", server.idp_addr()));
    assert_eq!(server.tenant_id(), "8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b");

    let r = client_credentials(
        &server,
        &[
            ("client_id", DEMO_DAEMON_CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    let v = success(&r);
    assert_eq!(v["scope"], EXO_DEFAULT);
    assert_eq!(v["expires_in"], 3599);
    assert!(
        v.get("refresh_token").is_none(),
        "no refresh token for app-only"
    );
    let claims = jwt_claims(v["access_token"].as_str().expect("access_token"));
    assert_eq!(claims["aud"], "https://outlook.office365.com");
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(
        claims["roles"],
        json!(["IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp"])
    );
    assert_eq!(claims["tid"], server.tenant_id());
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", server.tenant_id())
    );

    // HTTP Basic, tenant id form of the URL.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{DEMO_DAEMON_CLIENT_ID}:{SECRET}"))
    );
    let body = common::form(&[("grant_type", "client_credentials"), ("scope", EXO_DEFAULT)]);
    let path = format!("/{}/oauth2/v2.0/token", server.tenant_id());
    let r = https(
        &server,
        "POST",
        &path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic),
        ],
        &body,
    )
    .await;
    success(&r);

    let records = server.token_requests();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].path, TOKEN);
    assert_eq!(records[0].grant_type, "client_credentials");
    assert_eq!(records[0].client_id.as_deref(), Some(DEMO_DAEMON_CLIENT_ID));
    assert_eq!(records[0].scope.as_deref(), Some(EXO_DEFAULT));
    assert_eq!(records[0].client_auth, ClientAuth::Secret);
    assert_eq!((records[0].status, records[0].error_code), (200, None));
    assert_eq!(records[1].client_auth, ClientAuth::Basic);
    assert_eq!(records[1].path, path);
    assert!(
        !format!("{records:?}").contains(SECRET),
        "no secrets in records"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn client_credentials_errors() {
    let server = start(Config::demo()).await;
    let id = DEMO_DAEMON_CLIENT_ID;
    let r = client_credentials(&server, &[("client_id", id), ("client_secret", "nope")]).await;
    let (code, text) = aadsts(&r, 401, "invalid_client");
    assert_eq!(code, 7000215);
    assert!(text.starts_with(&format!(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the \
         request is the client secret value, not the client secret ID, for a secret added to app '{id}'."
    )));
    let r = client_credentials(
        &server,
        &[
            ("client_id", id),
            ("client_secret", "mock-secret-expired-0002"),
        ],
    )
    .await;
    let (code, text) = aadsts(&r, 401, "invalid_client");
    assert_eq!(code, 7000222);
    assert!(text.starts_with(&format!(
        "AADSTS7000222: The provided client secret keys for app '{id}' are expired. Visit the \
         Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider \
         using certificate credentials for added security: https://aka.ms/certCreds."
    )));
    let r = post_form(
        &server,
        TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://outlook.office.com/IMAP.AccessAsUser.All"),
            ("client_id", id),
            ("client_secret", SECRET),
        ],
    )
    .await;
    let (code, text) = aadsts(&r, 400, "invalid_scope");
    assert_eq!(code, 1002012);
    assert!(text.starts_with(
        "AADSTS1002012: The provided value for scope https://outlook.office.com/IMAP.AccessAsUser.All \
         is not valid. Client credential flows must have a scope value with /.default suffixed to \
         the resource identifier (application ID URI)."
    ));
    let r = client_credentials(&server, &[("client_id", id)]).await;
    assert_eq!(aadsts(&r, 401, "invalid_client").0, 7000218);
    let r = client_credentials(
        &server,
        &[("client_id", DEMO_PUBLIC_CLIENT_ID), ("client_secret", "x")],
    )
    .await;
    assert_eq!(aadsts(&r, 401, "invalid_client").0, 700025);
    let r = client_credentials(
        &server,
        &[
            ("client_id", "00000000-0000-0000-0000-00000000000a"),
            ("client_secret", "x"),
        ],
    )
    .await;
    let (code, text) = aadsts(&r, 400, "unauthorized_client");
    assert_eq!(code, 700016);
    assert!(text.contains("Application with identifier '00000000-0000-0000-0000-00000000000a' was not found in the directory 'contoso.example'."));
    let r = post_form(
        &server,
        "/fabrikam.example/oauth2/v2.0/token",
        &[("grant_type", "client_credentials")],
    )
    .await;
    let (code, text) = aadsts(&r, 400, "invalid_tenant");
    assert_eq!(code, 90002);
    assert!(text.starts_with("AADSTS90002: Tenant 'fabrikam.example' not found."));
    let r = post_form(
        &server,
        "/common/oauth2/v2.0/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", EXO_DEFAULT),
            ("client_id", id),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(aadsts(&r, 400, "invalid_request").0, 50059);
    // Not a form: as if nothing was sent.
    let r = https(
        &server,
        "POST",
        TOKEN,
        &[("Content-Type", "application/json")],
        "{}",
    )
    .await;
    let (code, text) = aadsts(&r, 400, "invalid_request");
    assert_eq!(code, 900144);
    assert!(text.contains("'grant_type'"));
    let r = post_form(&server, TOKEN, &[("grant_type", "password")]).await;
    assert_eq!(aadsts(&r, 400, "unsupported_grant_type").0, 70003);
    // The correlation id echoes client-request-id.
    let r = https(
        &server,
        "POST",
        TOKEN,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("client-request-id", "01234567-89ab-cdef-0123-456789abcdef"),
        ],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(
        r.json()["correlation_id"],
        "01234567-89ab-cdef-0123-456789abcdef"
    );
    let codes: Vec<Option<u32>> = server
        .token_requests()
        .iter()
        .map(|r| r.error_code)
        .collect();
    assert_eq!(codes[..3], [Some(7000215), Some(7000222), Some(1002012)]);
    server.shutdown().await;
}

#[tokio::test]
async fn client_credentials_with_certificate() {
    let server = start(Config::demo()).await;
    // x5t (SHA-1) + RS256.
    let jwt = assertion(APP_KEY, APP_CERT, assertion_claims(&server), false);
    let v = success(&with_assertion(&server, &jwt).await);
    let claims = jwt_claims(v["access_token"].as_str().expect("token"));
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["oid"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    // x5t#S256 + PS256, audience in tenant-id form.
    let mut c = assertion_claims(&server);
    c["aud"] = json!(format!(
        "{}/{}/oauth2/v2.0/token",
        server.idp_url(),
        server.tenant_id()
    ));
    success(&with_assertion(&server, &assertion(APP_KEY, APP_CERT, c, true)).await);
    assert_eq!(
        server.token_requests()[0].client_auth,
        ClientAuth::Assertion
    );

    // A certificate that is not registered.
    let jwt = assertion(OTHER_KEY, OTHER_CERT, assertion_claims(&server), false);
    let (code, text) = aadsts(&with_assertion(&server, &jwt).await, 401, "invalid_client");
    assert_eq!(code, 700027);
    let other = CertificateDer::from_pem_slice(OTHER_CERT.as_bytes()).expect("PEM");
    let hex: String = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, other.as_ref())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert!(text.starts_with(
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not \
         registered on application."
    ));
    assert!(
        text.contains(&format!("Thumbprint of key used by client: '{hex}'")),
        "{text}"
    );
    // The registered thumbprint, signed by another key.
    let mut forged = assertion(APP_KEY, APP_CERT, assertion_claims(&server), false);
    let other_sig = assertion(OTHER_KEY, APP_CERT, assertion_claims(&server), false);
    forged.truncate(forged.rfind('.').expect("dot"));
    forged.push_str(&other_sig[other_sig.rfind('.').expect("dot")..]);
    assert_eq!(
        aadsts(
            &with_assertion(&server, &forged).await,
            400,
            "invalid_grant"
        )
        .0,
        50013
    );
    // iss ≠ sub.
    let mut c = assertion_claims(&server);
    c["sub"] = json!("11111111-2222-3333-4444-555555555555");
    let (code, text) = aadsts(
        &with_assertion(&server, &assertion(APP_KEY, APP_CERT, c, false)).await,
        401,
        "invalid_client",
    );
    assert_eq!(code, 50048);
    assert!(
        text.starts_with("AADSTS50048: Subject mismatches Issuer claim in the client assertion.")
    );
    // Wrong audience (the real login host).
    let mut c = assertion_claims(&server);
    c["aud"] = json!("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token");
    assert_eq!(
        aadsts(
            &with_assertion(&server, &assertion(APP_KEY, APP_CERT, c, false)).await,
            401,
            "invalid_client"
        )
        .0,
        700023
    );
    // Expired assertion.
    let mut c = assertion_claims(&server);
    c["exp"] = json!(now() - 3600);
    assert_eq!(
        aadsts(
            &with_assertion(&server, &assertion(APP_KEY, APP_CERT, c, false)).await,
            401,
            "invalid_client"
        )
        .0,
        700024
    );
    server.shutdown().await;
}

/// GET authorize; returns the response.
async fn authorize(server: &MockServer, pairs: &[(&str, &str)]) -> HttpResponse {
    https(
        server,
        "GET",
        &format!("{AUTHORIZE}?{}", common::form(pairs)),
        &[],
        "",
    )
    .await
}

fn authorize_params<'a>(redirect: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", DEMO_PUBLIC_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", DELEGATED),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

async fn redeem(server: &MockServer, code: &str, redirect: &str, verifier: &str) -> HttpResponse {
    post_form(
        server,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn authorization_code_with_pkce_and_refresh() {
    let server = start(Config::demo()).await;
    let redirect = "http://localhost:53682/";
    let state = "st&te=1 ä/";
    let r = authorize(&server, &authorize_params(redirect, state)).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").expect("Location").to_owned();
    assert!(
        location.starts_with("http://localhost:53682/?code="),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    let code = query_param(&location, "code").expect("code");

    let v = success(&redeem(&server, &code, redirect, VERIFIER).await);
    assert_eq!(
        v["scope"],
        "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send"
    );
    let claims = jwt_claims(v["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "https://outlook.office.com");
    assert_eq!(claims["scp"], "IMAP.AccessAsUser.All SMTP.Send");
    assert_eq!(claims["upn"], "alice@contoso.example");
    assert_eq!(claims["appidacr"], "0");
    let refresh = v["refresh_token"]
        .as_str()
        .expect("offline_access → refresh token")
        .to_owned();
    let record = server.token_requests().pop().expect("record");
    assert!(record.had_code_verifier);
    assert_eq!(record.client_auth, ClientAuth::None);

    // One-time codes.
    let (code54005, _) = aadsts(
        &redeem(&server, &code, redirect, VERIFIER).await,
        400,
        "invalid_grant",
    );
    assert_eq!(code54005, 54005);

    // Refresh: new access and refresh token; narrowing the scope is allowed.
    let r = post_form(
        &server,
        TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("refresh_token", &refresh),
            (
                "scope",
                "https://outlook.office.com/POP.AccessAsUser.All offline_access",
            ),
        ],
    )
    .await;
    let v = success(&r);
    assert_ne!(v["refresh_token"].as_str(), Some(refresh.as_str()));
    assert_eq!(
        jwt_claims(v["access_token"].as_str().expect("token"))["scp"],
        "POP.AccessAsUser.All"
    );
    let r = post_form(
        &server,
        TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("refresh_token", "bogus"),
        ],
    )
    .await;
    let (code, text) = aadsts(&r, 400, "invalid_grant");
    assert_eq!(code, 700082);
    assert!(text.starts_with("AADSTS700082: The refresh token has expired due to inactivity."));
    let r = post_form(
        &server,
        TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            ("refresh_token", &refresh),
            ("scope", "https://graph.microsoft.com/User.Read"),
        ],
    )
    .await;
    assert_eq!(aadsts(&r, 400, "invalid_grant").0, 65001);

    // Wrong verifier (a fresh code, 127.0.0.1 and another port; login_hint picks the user).
    let mut params = authorize_params("http://127.0.0.1:40001", "s");
    params.push(("login_hint", "carol@contoso.example"));
    let r = authorize(&server, &params).await;
    let code = query_param(r.header("location").expect("Location"), "code").expect("code");
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    let (code501481, text) = aadsts(
        &redeem(&server, &code, "http://127.0.0.1:40001", wrong).await,
        400,
        "invalid_grant",
    );
    assert_eq!(code501481, 501481);
    assert!(text.starts_with("AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request."));
    let r = authorize(&server, &params).await;
    let code = query_param(r.header("location").expect("Location"), "code").expect("code");
    assert_eq!(
        aadsts(
            &redeem(&server, &code, "http://127.0.0.1:40002", VERIFIER).await,
            400,
            "invalid_grant"
        )
        .0,
        500112
    );
    let r = authorize(&server, &params).await;
    let code = query_param(r.header("location").expect("Location"), "code").expect("code");
    let v = success(&redeem(&server, &code, "http://127.0.0.1:40001", VERIFIER).await);
    assert_eq!(
        jwt_claims(v["access_token"].as_str().expect("token"))["upn"],
        "carol@contoso.example"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn authorize_errors() {
    let server = start(Config::demo()).await;
    let page = |r: &HttpResponse, code: u32| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.body.contains(&format!("AADSTS{code}: ")), "{}", r.body);
    };
    let r = https(
        &server,
        "GET",
        "/fabrikam.example/oauth2/v2.0/authorize?client_id=x",
        &[],
        "",
    )
    .await;
    page(&r, 90002);
    let mut p = authorize_params("http://localhost:1", "s");
    p[0].1 = "00000000-0000-0000-0000-00000000000b";
    page(&authorize(&server, &p).await, 700016);
    let p = authorize_params("https://evil.example/cb", "s");
    let r = authorize(&server, &p).await;
    page(&r, 50011);
    assert!(r.body.contains("https://evil.example/cb"));

    // Valid redirect URI: errors are redirected, with the state.
    let redirect_error = |r: &HttpResponse, error: &str, code: u32| {
        assert_eq!(r.status, 302, "{}", r.body);
        let location = r.header("location").expect("Location");
        assert!(
            location.starts_with("http://localhost:1?error="),
            "{location}"
        );
        assert_eq!(query_param(location, "error").as_deref(), Some(error));
        assert_eq!(query_param(location, "state").as_deref(), Some("s"));
        let description = query_param(location, "error_description").expect("description");
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
        description
    };
    let mut p = authorize_params("http://localhost:1", "s");
    p.retain(|(n, _)| !n.starts_with("code_challenge"));
    let d = redirect_error(&authorize(&server, &p).await, "invalid_request", 9002325);
    assert!(d.contains("Proof Key for Code Exchange is required"));
    let mut p = authorize_params("http://localhost:1", "s");
    p[6].1 = "plain";
    redirect_error(&authorize(&server, &p).await, "invalid_request", 9002325);
    let mut p = authorize_params("http://localhost:1", "s");
    p[3].1 = "https://graph.microsoft.com/Mail.Read offline_access";
    let d = redirect_error(&authorize(&server, &p).await, "consent_required", 65001);
    assert!(d.contains(&format!(
        "The user or administrator has not consented to use the application with ID \
         '{DEMO_PUBLIC_CLIENT_ID}' named 'xoauth demo (public)'."
    )));
    let mut p = authorize_params("http://localhost:1", "s");
    p.push(("login_hint", "sales@contoso.example"));
    redirect_error(&authorize(&server, &p).await, "invalid_request", 50034);
    let mut p = authorize_params("http://localhost:1", "s");
    p[3].1 = "https://outlook.office356.com/.default";
    redirect_error(&authorize(&server, &p).await, "invalid_resource", 500011);
    server.shutdown().await;
}

fn fast_device_config(interval: u64, expires: u64, slow_down: bool) -> Config {
    let mut config = Config::demo();
    config.idp.device_code_interval_secs = interval;
    config.idp.device_code_expires_secs = expires;
    config.idp.enforce_slow_down = slow_down;
    config
}

async fn start_device(server: &MockServer, scope: &str) -> Value {
    let r = post_form(
        server,
        DEVICECODE,
        &[("client_id", DEMO_PUBLIC_CLIENT_ID), ("scope", scope)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
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
async fn device_code_pending_then_approved() {
    let server = start(fast_device_config(1, 900, true)).await;
    let d = start_device(&server, DELEGATED).await;
    let user_code = d["user_code"].as_str().expect("user_code");
    let device_code = d["device_code"].as_str().expect("device_code");
    let uri = format!("{}/devicelogin", server.idp_url());
    assert_eq!(d["verification_uri"], uri);
    assert_eq!(d["expires_in"], 900);
    assert_eq!(d["interval"], 1);
    assert_eq!(
        d["message"],
        format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
        )
    );
    assert_eq!(user_code.len(), 8);

    let (code, text) = aadsts(
        &poll(&server, device_code).await,
        400,
        "authorization_pending",
    );
    assert_eq!(code, 70016);
    assert!(
        text.starts_with(
            "AADSTS70016: The provided request has not yet been authorized by the user."
        )
    );
    // Polling faster than the interval.
    let r = poll(&server, device_code).await;
    assert_eq!(r.json()["error"], "slow_down");

    // The user approves through the test hook (HTTP), then the next poll gets tokens.
    let page = https(&server, "GET", "/devicelogin", &[], "").await;
    assert_eq!(page.status, 200);
    let r = post_form(
        &server,
        "/mock/devicecode/approve",
        &[("user_code", user_code), ("user", "bob@contoso.example")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let v = success(&poll(&server, device_code).await);
    assert!(v["refresh_token"].is_string());
    assert_eq!(
        jwt_claims(v["access_token"].as_str().expect("token"))["upn"],
        "bob@contoso.example"
    );
    // Redeemed: the device code is gone.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        aadsts(
            &poll(&server, device_code).await,
            400,
            "bad_verification_code"
        )
        .0,
        70018
    );

    let records = server.token_requests();
    assert_eq!(records[0].path, DEVICECODE);
    assert_eq!(records[0].grant_type, "");
    assert_eq!(
        records[1].grant_type,
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(records[1].error_code, Some(70016));
    server.shutdown().await;
}

#[tokio::test]
async fn device_code_declined_expired_unknown() {
    let server = start(fast_device_config(1, 1, false)).await;
    let d = start_device(&server, DELEGATED).await;
    let user_code = d["user_code"].as_str().expect("user_code");
    let device_code = d["device_code"].as_str().expect("device_code").to_owned();
    assert!(
        !server.approve_device_code(user_code, "sales@contoso.example"),
        "not a user"
    );
    assert!(!server.decline_device_code("ZZZZZZZZ"));
    assert!(server.decline_device_code(user_code));
    assert_eq!(
        aadsts(
            &poll(&server, &device_code).await,
            400,
            "authorization_declined"
        )
        .0,
        65004
    );
    assert!(
        !server.approve_device_code(user_code, "alice@contoso.example"),
        "declined"
    );

    let d = start_device(&server, DELEGATED).await;
    let device_code = d["device_code"].as_str().expect("device_code").to_owned();
    aadsts(
        &poll(&server, &device_code).await,
        400,
        "authorization_pending",
    );
    aadsts(
        &poll(&server, &device_code).await,
        400,
        "authorization_pending",
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (code, _) = aadsts(&poll(&server, &device_code).await, 400, "expired_token");
    assert_eq!(code, 70019);
    assert!(!server.approve_device_code(
        d["user_code"].as_str().expect("code"),
        "alice@contoso.example"
    ));
    aadsts(
        &poll(&server, "not-a-device-code").await,
        400,
        "bad_verification_code",
    );

    let r = post_form(
        &server,
        DEVICECODE,
        &[
            ("client_id", "00000000-0000-0000-0000-00000000000c"),
            ("scope", DELEGATED),
        ],
    )
    .await;
    assert_eq!(aadsts(&r, 400, "unauthorized_client").0, 700016);
    let r = post_form(
        &server,
        DEVICECODE,
        &[
            ("client_id", DEMO_PUBLIC_CLIENT_ID),
            (
                "scope",
                "https://graph.microsoft.com/User.Read https://outlook.office.com/SMTP.Send",
            ),
        ],
    )
    .await;
    assert_eq!(aadsts(&r, 400, "invalid_scope").0, 28000);
    server.shutdown().await;
}

#[tokio::test]
async fn device_code_without_consent() {
    let mut config = fast_device_config(1, 900, false);
    config.apps[0].delegated_consent = vec!["SMTP.Send".to_owned()];
    let server = start(config).await;
    let d = start_device(&server, DELEGATED).await;
    assert!(server.approve_device_code(
        d["user_code"].as_str().expect("code"),
        "alice@contoso.example"
    ));
    let r = poll(&server, d["device_code"].as_str().expect("device_code")).await;
    let (code, text) = aadsts(&r, 400, "invalid_grant");
    assert_eq!(code, 65001);
    assert!(text.contains("named 'xoauth demo (public)'"));
    server.shutdown().await;
}

#[tokio::test]
async fn http_limits() {
    let server = start(Config::demo()).await;
    let big = "a".repeat(70 * 1024);
    let r = https(
        &server,
        "POST",
        TOKEN,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    )
    .await;
    assert_eq!(r.status, 413);
    let r = https(&server, "GET", "/nothing/here", &[], "").await;
    assert_eq!(r.status, 404);
    let r = https(&server, "GET", TOKEN, &[], "").await;
    assert_eq!(r.status, 405);
    // Still serving.
    let r = client_credentials(
        &server,
        &[
            ("client_id", DEMO_DAEMON_CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    success(&r);
    server.shutdown().await;
}
