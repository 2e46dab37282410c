//! High Volume Email (`--provider microsoft-hve`) against the mock's HVE accounts: an allowed
//! app gets in even with SMTP AUTH disabled for the tenant, a refusal is explained with the
//! Allowed Apps list, and IMAP/POP are refused before any connection.

use crate::util::*;

/// `smtp --provider microsoft-hve` at the mock, as the daemon app for `account`.
fn hve_smtp(mock: &Mock, account: &str, extra: &[&str]) -> Vec<String> {
    let mut args = as_user(mock.smtp_args(), account);
    args.extend(strings(&["--provider", "microsoft-hve"]));
    mock.oauth(args, DAEMON, extra)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_app_sends_as_the_hve_account_whatever_the_smtp_auth_switch() {
    // SMTP AUTH off for the whole tenant: ordinary submission is refused, HVE is not.
    let mock = Mock::with(|c| c.tenant.smtp_auth_disabled = true).await;
    let env = [("S", DAEMON_SECRET)];
    let args = hve_smtp(
        &mock,
        "notify@contoso.example",
        &[
            "--client-secret-env",
            "S",
            "--json",
            "--send",
            "--to",
            "alice@contoso.example",
        ],
    );
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let r = run.json();
    assert_eq!(r["token"]["origin"], "client-credentials");
    assert!(r["warnings"].as_array().is_none_or(|w| w.is_empty()), "{r}");

    // The same app through ordinary submission, as a mailbox it may open: the switch refuses.
    let mut args = as_user(mock.smtp_args(), "sales@contoso.example");
    args = mock.oauth(args, DAEMON, &["--client-secret-env", "S", "--json"]);
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.json()["failure"]["kind"], "smtp_auth_disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_missing_from_the_allow_list_is_told_to_add_it() {
    let mock = Mock::start().await;
    let env = [("S", DAEMON_SECRET)];
    let args = hve_smtp(
        &mock,
        "alerts@contoso.example",
        &["--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    let f = &run.json()["failure"];
    assert_eq!(f["kind"], "auth_rejected", "{f}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(&format!(
            "Add-HVEAppAccess -Identity 'alerts@contoso.example' -AppIds '{DAEMON}'"
        )),
        "{fix}"
    );
    let text = f.to_string();
    for wrong in [
        "New-ServicePrincipal",
        "Set-CASMailbox",
        "SmtpClientAuthentication",
    ] {
        assert!(!text.contains(wrong), "{wrong}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_recipient_is_warned_about() {
    let mock = Mock::start().await;
    let env = [("S", DAEMON_SECRET)];
    let args = hve_smtp(
        &mock,
        "notify@contoso.example",
        &[
            "--client-secret-env",
            "S",
            "--json",
            "--send",
            "--to",
            "someone@fabrikam.example",
        ],
    );
    let run = xoauth_env(&args, &env, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("someone@fabrikam.example") && warnings.contains("5.5.105"),
        "{warnings}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hve_has_no_imap_or_pop() {
    for (cmd, proto) in [("imap", "imap"), ("pop", "pop")] {
        let args = strings(&[
            cmd,
            "--provider",
            "microsoft-hve",
            "--user",
            "notify@contoso.example",
            "--access-token-env",
            "XOAUTH_TEST_TOKEN",
        ]);
        let run = xoauth(&args, Some("t"), None).await;
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("SMTP submission only") && run.stderr.contains(proto),
            "{}",
            run.stderr
        );
    }
}
