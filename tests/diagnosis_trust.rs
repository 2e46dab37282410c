//! What a new admin meets first (issue 9), through the real binary against the mock: printed
//! PowerShell that cannot be turned into another command, the token-of-another-user mix-up
//! named as such, a fix for a bare refusal with the causes the claims rule out left out, and
//! throttling headed and timed as throttling in every protocol.

use crate::util::*;
use xoauth_mock::{Scenario, TokenSpec};

/// The check that failed in a JSON report (one command, one check).
fn failure(run: &Run) -> serde_json::Value {
    let doc = run.json();
    let checks = doc["checks"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![doc]);
    let failed: Vec<&serde_json::Value> =
        checks.iter().filter(|c| c["outcome"] == "fail").collect();
    assert_eq!(failed.len(), 1, "{}", run.all());
    failed[0]["failure"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_script_refuses_values_that_would_break_out_of_powershell_quotes() {
    let base = |mailbox: &str, tenant: &str| {
        strings(&[
            "setup-script",
            "--app-id",
            DAEMON,
            "--tenant",
            tenant,
            "--mailbox",
            mailbox,
        ])
    };
    // PowerShell closes '...' at ’ as at ': this address would have run calc.
    let run = xoauth(&base("x’;calc;’@x.com", "contoso.example"), None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.is_empty(), "no script at all: {}", run.stdout);
    assert!(
        run.stderr.contains("--mailbox") && run.stderr.contains("U+2019"),
        "{}",
        run.stderr
    );
    for tenant in ["x';calc;'", "common", "contoso.example;calc"] {
        let run = xoauth(&base("sales@contoso.example", tenant), None, None).await;
        assert_eq!(run.code, 2, "{tenant}: {}", run.all());
        assert!(
            run.stderr.contains("--tenant") && run.stderr.contains("domain"),
            "{tenant}: {}",
            run.stderr
        );
    }
    let run = xoauth(
        &base("o'brien@contoso.example", "contoso.onmicrosoft.com"),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Add-MailboxPermission -Identity 'o''brien@contoso.example'"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fix_lines_quote_the_mailbox() {
    // An apostrophe in an address is legal; the printed fix must still be one command.
    let mock = Mock::start().await;
    let user = "o'brien@contoso.example";
    let token = mock.server.issue_token(&TokenSpec::user(user));
    let run = xoauth(
        &with_token(as_user(mock.imap_args(), user), &["--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let fix = failure(&run)["fix"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        fix.contains("-Identity 'o''brien@contoso.example'"),
        "{fix}"
    );
    assert!(!fix.contains("-Identity o'brien"), "{fix}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bobs_token_with_user_alice_is_named_and_fixed_for_the_right_principal() {
    let mock = Mock::start().await;
    let bob = mock.token(BOB);
    let run = xoauth(&with_token(mock.imap_args(), &["--json"]), Some(&bob), None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = failure(&run);
    let cause = f["cause"].as_str().unwrap();
    assert!(
        cause.starts_with(&format!("the token is {BOB}'s, not {ALICE}'s")),
        "{cause}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("--user {BOB} --mailbox {ALICE}")),
        "{fix}"
    );
    assert!(fix.contains(&format!("obtain {ALICE}'s token")), "{fix}");
    assert!(!fix.contains(&format!("-User '{ALICE}'")), "{fix}");
    assert!(!fix.contains(&format!("-User {ALICE}")), "{fix}");
    assert!(
        !f["candidates"].to_string().contains("app-only"),
        "{}",
        f["candidates"]
    );
    // The pre-flight says it before connecting.
    let doc = run.json();
    let pre = doc["preflight"].as_array().expect("pre-flight findings");
    assert!(
        pre.iter().any(|p| p["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("the token is {BOB}'s"))),
        "{pre:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_refusal_of_a_token_valid_for_an_hour_does_not_blame_expiry() {
    // Claims that look right (alice, Exchange audience, the scope, 60 minutes left) on a token
    // whose signature does not verify: Exchange says only "NO AUTHENTICATE failed."
    let mock = Mock::start().await;
    let good = mock.token(ALICE);
    let (signed, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{signed}.c2lnbmF0dXJlLWRvZXMtbm90LXZlcmlmeQ");
    let run = xoauth(
        &with_token(mock.imap_args(), &["--json"]),
        Some(&forged),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = failure(&run);
    assert_eq!(f["kind"], "auth_rejected", "{f}");
    let cause = f["cause"].as_str().unwrap();
    assert!(cause.contains("rule out expiry"), "{cause}");
    let candidates: Vec<&str> = f["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(!candidates.is_empty());
    assert!(
        !candidates.iter().any(|c| c.contains("expired")),
        "{candidates:?}"
    );
    assert!(
        candidates.iter().any(|c| c.contains("signature")),
        "{candidates:?}"
    );
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("Get-CASMailbox -Identity 'alice@contoso.example'"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_is_not_a_jwt_is_called_out() {
    let mock = Mock::start().await;
    for token in ["opaque-token-that-is-not-a-jwt", BAD_TOKEN] {
        let run = xoauth(
            &with_token(mock.imap_args(), &["--json"]),
            Some(token),
            None,
        )
        .await;
        assert_eq!(run.code, 1, "{}", run.all());
        let f = failure(&run);
        let cause = f["cause"].as_str().unwrap();
        assert!(
            cause.contains("not an Exchange Online access token"),
            "{cause}"
        );
        assert!(
            f["fix"]
                .as_str()
                .is_some_and(|f| f.contains("access_token")),
            "{f}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_headed_and_timed_as_throttling_in_every_protocol() {
    let config = Scenario::bundled("throttled").unwrap().config;
    let mock = Mock::with(move |c| *c = config).await;
    let token = mock.token(ALICE);
    let run = xoauth(
        &with_token(mock.check_args(false), &["--json"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let doc = run.json();
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{doc}");
    for c in checks {
        let f = &c["failure"];
        assert_eq!(f["kind"], "throttled", "{f}");
        let headline = f["message"].as_str().unwrap();
        assert!(
            headline.contains("throttling"),
            "{}: {headline}",
            c["protocol"]
        );
        assert!(f["fix"].as_str().is_some_and(|x| !x.is_empty()), "{f}");
        if c["protocol"] != "smtp" {
            // 299961 ms: rounded up, never shorter than asked.
            let cause = f["cause"].as_str().unwrap();
            assert!(cause.contains("300 s (about 5 min)"), "{cause}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_delegated_consent_names_the_scope_the_protocol_needs() {
    // The bundled scenario, as an admin runs it: default scopes, a device-code sign-in.
    let mut config = Scenario::bundled("delegated-missing-scope").unwrap().config;
    config.idp.device_code_interval_secs = 1;
    let mock = Mock::with(move |c| *c = config).await;
    let mut args = mock.oauth(
        mock.pop_args(),
        PUBLIC,
        &["--flow", "device-code", "--login-wait", "20"],
    );
    args.push("--json".into());
    let mut live = spawn_xoauth(&args, &[]);
    let code = live.device_code().await;
    assert!(mock.server.approve_device_code(&code, ALICE));
    let run = live.finish().await;
    assert_ne!(run.code, 0, "{}", run.all());
    let f = failure(&run);
    let text = format!("{} {}", f["cause"], f["fix"]);
    assert!(
        text.contains("https://outlook.office.com/POP.AccessAsUser.All"),
        "{f}"
    );
}
