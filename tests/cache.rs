//! The token cache through the CLI: a real OS keyring shared by separate xoauth processes.
//! Without a keyring backend these tests skip loudly; under CI they must not skip.

use crate::util::*;

async fn keyring_available() -> bool {
    let run = xoauth(&strings(&["cache", "list"]), None, None).await;
    if run.code == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!(
            "CI must provide an OS keyring for the cache tests:\n{}",
            run.all()
        );
    }
    eprintln!(
        "SKIPPED: token cache CLI tests need an OS keyring (run under dbus-run-session with \
         gnome-keyring, or keyctl session): {}",
        run.stderr.trim()
    );
    false
}

/// A tenant name unique to this run, so the cache keys meet nothing from earlier runs.
fn unique_tenant() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("run{}-{nanos}.example", std::process::id())
}

fn args(mock: &Mock, tenant: &str, user: &str) -> Vec<String> {
    let mut a = mock.oauth(
        as_user(mock.imap_args(), user),
        PUBLIC,
        &[
            "--cache",
            "--flow",
            "device-code",
            "--login-wait",
            "10",
            "--json",
        ],
    );
    let i = a.iter().position(|x| x == "contoso.example").unwrap();
    a[i] = tenant.to_string();
    a
}

/// Runs with a device-code sign-in that the test approves as `user`.
async fn sign_in(mock: &Mock, args: &[String], user: &str) -> Run {
    let mut live = spawn_xoauth(args, &[]);
    let code = live.device_code().await;
    assert!(mock.server.approve_device_code(&code, user));
    live.finish().await
}

fn entries(tenant: &str, list: &Run) -> Vec<serde_json::Value> {
    list.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tenant"] == tenant)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_hit_refresh_after_expiry_and_clear() {
    if !keyring_available().await {
        return;
    }
    let tenant = unique_tenant();
    let with_tenant = |lifetime: i64| {
        let tenant = tenant.clone();
        move |c: &mut xoauth_mock::Config| {
            c.idp.device_code_interval_secs = 1;
            c.idp.token_lifetime_secs = lifetime;
            c.idp.tenant_names.push(tenant);
        }
    };

    // 1. A miss: sign in, and the token lands in the keyring (never the token in the listing).
    let mock = Mock::with(with_tenant(3599)).await;
    let a = args(&mock, &tenant, ALICE);
    let run = sign_in(&mock, &a, ALICE).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "device-code");
    let list = xoauth(&strings(&["cache", "list", "--json"]), None, None).await;
    assert_eq!(list.code, 0, "{}", list.all());
    let mine = entries(&tenant, &list);
    assert_eq!(mine.len(), 1, "{}", list.stdout);
    assert_eq!(mine[0]["user"], ALICE);
    assert_eq!(mine[0]["has_refresh_token"], true);
    assert!(!contains_jwt(&list.all()));

    // 2. A hit: a second process reuses it without asking anyone.
    let requests = mock.server.token_requests().len();
    let run = xoauth(&a, None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "cache");
    assert_eq!(
        mock.server.token_requests().len(),
        requests,
        "no request to the IdP"
    );

    // 3. After expiry (a lifetime inside the reuse margin): the refresh token is used.
    let short = Mock::with(with_tenant(60)).await;
    let b = args(&short, &tenant, BOB);
    let run = sign_in(&short, &b, BOB).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let run = xoauth(&b, None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "refresh");
    let grants: Vec<String> = short
        .server
        .token_requests()
        .iter()
        .map(|r| r.grant_type.clone())
        .collect();
    assert_eq!(
        grants.last().map(String::as_str),
        Some("refresh_token"),
        "{grants:?}"
    );

    // 4. Clear: the entries are gone and the next run signs in again.
    let clear = xoauth(&strings(&["cache", "clear"]), None, None).await;
    assert_eq!(clear.code, 0, "{}", clear.all());
    assert!(clear.stdout.contains("removed"), "{}", clear.stdout);
    let list = xoauth(&strings(&["cache", "list", "--json"]), None, None).await;
    assert!(entries(&tenant, &list).is_empty(), "{}", list.stdout);
    let run = sign_in(&mock, &a, ALICE).await;
    assert_eq!(run.json()["token"]["origin"], "device-code");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_the_run_continues_uncached_and_says_so() {
    // XOAUTH_KEYRING=none forces "no backend", whatever the machine has.
    let mock = Mock::start().await;
    let a = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--cache", "--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(
        &a,
        &[("S", DAEMON_SECRET), ("XOAUTH_KEYRING", "none")],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("token cache unavailable"), "{warnings}");
    let list = xoauth_env(
        &strings(&["cache", "list"]),
        &[("XOAUTH_KEYRING", "none")],
        None,
    )
    .await;
    assert_eq!(list.code, 2);
    assert!(list.stderr.contains("no OS keyring"), "{}", list.stderr);
}
