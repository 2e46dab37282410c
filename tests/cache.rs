//! The token cache through the CLI: a real OS keyring shared by separate xoauth processes.
//! Without a keyring backend these tests skip loudly; under CI they must not skip. Every test
//! uses its own keyring service (`XOAUTH_KEYRING_SERVICE`), never the user's `xoauth` entries.

use crate::util::*;

/// A keyring service of this test's own, for every xoauth process it runs.
struct Service(String);

impl Service {
    fn new(test: &str) -> Service {
        Service(format!("xoauth-test-{test}-{}", unique_tenant()))
    }

    fn env<'a>(&'a self, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![("XOAUTH_KEYRING_SERVICE", self.0.as_str())];
        env.extend_from_slice(more);
        env
    }

    async fn run(&self, args: &[String], more: &[(&str, &str)]) -> Run {
        xoauth_env(args, &self.env(more), None).await
    }

    async fn list(&self) -> Run {
        let run = self.run(&strings(&["cache", "list", "--json"]), &[]).await;
        assert_eq!(run.code, 0, "{}", run.all());
        run
    }
}

impl Drop for Service {
    /// Leaves nothing behind in the test service, whatever the outcome.
    fn drop(&mut self) {
        let _ = std::process::Command::new(assert_cmd::cargo::cargo_bin("xoauth"))
            .args(["cache", "clear"])
            .env("XOAUTH_KEYRING_SERVICE", &self.0)
            .output();
    }
}

async fn keyring_available(service: &Service) -> bool {
    let run = service.run(&strings(&["cache", "list"]), &[]).await;
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
async fn sign_in(service: &Service, mock: &Mock, args: &[String], user: &str) -> Run {
    let mut live = spawn_xoauth(args, &service.env(&[]));
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
    let service = Service::new("hit");
    if !keyring_available(&service).await {
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
    let run = sign_in(&service, &mock, &a, ALICE).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "device-code");
    let list = service.list().await;
    let mine = entries(&tenant, &list);
    assert_eq!(mine.len(), 1, "{}", list.stdout);
    assert_eq!(mine[0]["user"], ALICE);
    assert_eq!(mine[0]["credential"], "public-client");
    assert_eq!(mine[0]["has_refresh_token"], true);
    assert!(!contains_jwt(&list.all()));

    // 2. A hit: a second process reuses it without asking anyone.
    let requests = mock.server.token_requests().len();
    let run = service.run(&a, &[]).await;
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
    let run = sign_in(&service, &short, &b, BOB).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let run = service.run(&b, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "refresh");
    // A token valid for less than a minute is not "expires in 0 min".
    let human = service.run(&strings(&["cache", "list"]), &[]).await;
    let bob = human
        .stdout
        .lines()
        .find(|l| l.contains(BOB) && l.contains(&tenant))
        .unwrap_or_else(|| panic!("{}", human.stdout));
    assert!(
        bob.contains(" public-client ") && bob.contains(" s, refresh token"),
        "{bob}"
    );
    assert!(!bob.contains("0 min"), "{bob}");
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
    let clear = service.run(&strings(&["cache", "clear"]), &[]).await;
    assert_eq!(clear.code, 0, "{}", clear.all());
    assert!(clear.stdout.contains("removed"), "{}", clear.stdout);
    let list = service.list().await;
    assert!(entries(&tenant, &list).is_empty(), "{}", list.stdout);
    let run = sign_in(&service, &mock, &a, ALICE).await;
    assert_eq!(run.json()["token"]["origin"], "device-code");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_the_run_continues_uncached_and_says_so() {
    // A misspelt XOAUTH_KEYRING gives no backend, whatever the machine has: the run warns, and
    // the warning names the typo rather than a missing keyring.
    let mock = Mock::start().await;
    let a = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--cache", "--client-secret-env", "S", "--json"],
    );
    let run = xoauth_env(
        &a,
        &[("S", DAEMON_SECRET), ("XOAUTH_KEYRING", "bogus")],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("token cache unavailable"), "{warnings}");
    assert!(
        warnings.contains("is not one of secret-service, keyutils, none"),
        "{warnings}"
    );
    let list = xoauth_env(
        &strings(&["cache", "list"]),
        &[("XOAUTH_KEYRING", "bogus")],
        None,
    )
    .await;
    assert_eq!(list.code, 2);
    assert!(
        list.stderr
            .contains("XOAUTH_KEYRING=\"bogus\" is not one of secret-service, keyutils, none"),
        "{}",
        list.stderr
    );
    assert!(!list.stderr.contains("no OS keyring"), "{}", list.stderr);
}

/// `XOAUTH_KEYRING=none` is the user's choice: runs say nothing about the cache, and `cache
/// list` and `cache clear` say it is off and succeed.
#[tokio::test(flavor = "multi_thread")]
async fn a_cache_turned_off_is_no_warning_nor_error() {
    let mock = Mock::start().await;
    let a = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--cache", "--client-secret-env", "S", "--json"],
    );
    let off = ("XOAUTH_KEYRING", "none");
    let run = xoauth_env(&a, &[("S", DAEMON_SECRET), off], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.json()["warnings"],
        serde_json::json!([]),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("cache"), "{}", run.all());
    for (cmd, says) in [
        (&["cache", "list"][..], "nothing to list"),
        (&["cache", "clear"][..], "nothing was removed"),
    ] {
        let run = xoauth_env(&strings(cmd), &[off], None).await;
        assert_eq!(run.code, 0, "{cmd:?}: {}", run.all());
        assert!(
            run.stdout
                .contains("the token cache is turned off by XOAUTH_KEYRING=none"),
            "{cmd:?}: {}",
            run.all()
        );
        assert!(run.stdout.contains(says), "{cmd:?}: {}", run.all());
        assert!(!run.all().contains("no OS keyring"), "{}", run.all());
    }
    let list = xoauth_env(&strings(&["cache", "list", "--json"]), &[off], None).await;
    assert_eq!(list.code, 0, "{}", list.all());
    assert_eq!(
        list.json(),
        serde_json::json!({ "backend": "none", "entries": [] })
    );
}

/// Client credentials with the cache on, in `tenant`, for the token command. `--user` names
/// the mailbox the admin has in mind; an app-only token's cache entry has no user all the same.
fn app_token_args(mock: &Mock, tenant: &str, extra: &[&str]) -> Vec<String> {
    let base = strings(&[
        "token",
        "--user",
        "sales@contoso.example",
        "--ca-file",
        mock.ca_file.to_str().unwrap(),
    ]);
    let mut extra = extra.to_vec();
    extra.extend(["--cache", "--client-secret-env", "S"]);
    let mut a = mock.oauth(base, DAEMON, &extra);
    let i = a.iter().position(|x| x == "contoso.example").unwrap();
    a[i] = tenant.to_string();
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_or_rotated_secret_is_never_answered_from_the_cache() {
    let service = Service::new("secret");
    if !keyring_available(&service).await {
        return;
    }
    let tenant = unique_tenant();
    let t = tenant.clone();
    let mock = Mock::with(move |c| c.idp.tenant_names.push(t)).await;
    let json = app_token_args(&mock, &tenant, &["--json"]);
    let human = app_token_args(&mock, &tenant, &[]);
    let good = [("S", DAEMON_SECRET)];

    let run = service.run(&json, &good).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "client-credentials");
    // The same secret again: from the cache, and the human report says so.
    let run = service.run(&human, &good).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("token (cache)"), "{}", run.stdout);
    let requests = mock.server.token_requests().len();

    // A wrong secret is tried at the identity provider, and fails there.
    let run = service.run(&json, &[("S", "wrong-secret-value-77")]).await;
    assert_eq!(run.code, 3, "a wrong secret must not pass: {}", run.all());
    assert!(run.stdout.contains("AADSTS7000215"), "{}", run.stdout);
    assert_eq!(mock.server.token_requests().len(), requests + 1);
    assert!(!run.all().contains("wrong-secret-value-77"));

    // --refresh skips the cache read but writes the new token: the next run is a hit again.
    let mut refresh = json.clone();
    refresh.push("--refresh".into());
    let run = service.run(&refresh, &good).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["token"]["origin"], "client-credentials");
    assert_eq!(mock.server.token_requests().len(), requests + 2);
    let run = service.run(&json, &good).await;
    assert_eq!(run.json()["token"]["origin"], "cache", "{}", run.all());
    assert_eq!(mock.server.token_requests().len(), requests + 2);

    // One entry: app-only, named by a digest of the secret, never the secret itself.
    let list = service.list().await;
    let mine = entries(&tenant, &list);
    assert_eq!(mine.len(), 1, "{}", list.stdout);
    assert_eq!(mine[0]["user"], "(app-only)");
    assert!(!list.all().contains(DAEMON_SECRET));
    // Which credential: the secret's fingerprint, in both outputs.
    let credential = mine[0]["credential"].as_str().unwrap_or_default();
    let hex = credential.strip_prefix("secret:").unwrap_or_default();
    assert!(
        hex.len() == 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        list.stdout
    );
    let human_list = service.run(&strings(&["cache", "list"]), &[]).await;
    assert!(!human_list.all().contains(DAEMON_SECRET));
    assert!(
        human_list
            .stdout
            .lines()
            .any(|l| l.contains(&tenant) && l.contains(&format!(" {credential} (app-only) "))),
        "{}",
        human_list.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_answered_from_the_cache_says_so() {
    let service = Service::new("check");
    if !keyring_available(&service).await {
        return;
    }
    let mock = Mock::start().await;
    let args = mock.oauth(
        mock.imap_args(),
        DAEMON,
        &[
            "--cache",
            "--client-secret-env",
            "S",
            "--mailbox",
            "sales@contoso.example",
        ],
    );
    let args = as_user(args, "sales@contoso.example");
    let good = [("S", DAEMON_SECRET)];
    let run = service.run(&args, &good).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("(client-credentials)"),
        "{}",
        run.stdout
    );
    let run = service.run(&args, &good).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("(cache)"), "{}", run.stdout);
    let mut json = args.clone();
    json.push("--json".into());
    let run = service.run(&json, &good).await;
    assert_eq!(run.json()["token"]["origin"], "cache");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_issued_already_expired_is_diagnosed_and_never_cached() {
    let service = Service::new("expired");
    if !keyring_available(&service).await {
        return;
    }
    let tenant = unique_tenant();
    let scenario = xoauth_mock::Scenario::bundled("expired-token").unwrap();
    let t = tenant.clone();
    let mock = Mock::with(move |c| {
        *c = scenario.config;
        c.idp.tenant_names.push(t);
    })
    .await;
    let mut args = mock.oauth(
        as_user(mock.imap_args(), "sales@contoso.example"),
        DAEMON,
        &["--cache", "--client-secret-env", "S", "--json"],
    );
    let i = args.iter().position(|x| x == "contoso.example").unwrap();
    args[i] = tenant.clone();
    for _ in 0..2 {
        let run = service.run(&args, &[("S", DAEMON_SECRET)]).await;
        assert_eq!(run.code, 1, "{}", run.all());
        let r = run.json();
        assert_eq!(
            r["token"]["origin"], "client-credentials",
            "never from the cache"
        );
        assert!(
            r["failure"]["cause"]
                .as_str()
                .unwrap()
                .contains("the token expired"),
            "{}",
            r["failure"]
        );
    }
    assert!(entries(&tenant, &service.list().await).is_empty());
}
