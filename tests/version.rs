//! `xoauth -V`/`--version` and the reports' `xoauth_version`: the version, the commit when
//! built from a checkout, and the TLS stack, so that a pasted report says which build ran.

use crate::util::*;

/// `git rev-parse --short HEAD` when the package is a checkout's top, as build.rs reads it.
fn checkout_commit() -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let top = std::path::PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    (top.canonicalize().ok()? == dir.canonicalize().ok()?)
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten()
}

/// rustls's major.minor in Cargo.lock, so that the text cannot outlive an upgrade.
fn locked_rustls() -> String {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"rustls\"\n"))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .expect("rustls in Cargo.lock");
    version.splitn(3, '.').take(2).collect::<Vec<_>>().join(".")
}

#[tokio::test(flavor = "multi_thread")]
async fn version_names_the_build_commit_and_tls_stack() {
    let long = xoauth(&strings(&["--version"]), None, None).await;
    assert_eq!(long.code, 0, "{}", long.all());
    let short = xoauth(&strings(&["-V"]), None, None).await;
    assert_eq!(short.code, 0, "{}", short.all());
    let first = format!("xoauth {}", env!("CARGO_PKG_VERSION"));

    let short = short.stdout.trim_end();
    assert!(short.starts_with(&first), "{short}");
    assert_eq!(short.lines().count(), 1, "-V stays one line: {short}");
    match checkout_commit() {
        Some(commit) => assert_eq!(short, format!("{first} (commit {commit})")),
        None => eprintln!("note: not built from a git checkout, so no commit to compare"),
    }

    let mut lines = long.stdout.lines();
    assert_eq!(lines.next(), Some(short), "--version starts as -V does");
    let tls = lines.next().unwrap_or_default();
    assert!(
        tls.starts_with("TLS: ") && tls.contains(&format!("rustls {}", locked_rustls())),
        "{tls}"
    );
    assert!(tls.contains("ring"), "{tls}");
    assert_eq!(
        format!("xoauth {}", xoauth::report::version::LONG),
        long.stdout.trim_end()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_reports_say_which_build_wrote_them() {
    let short = xoauth(&strings(&["-V"]), None, None).await;
    let version = short
        .stdout
        .trim_end()
        .strip_prefix("xoauth ")
        .unwrap()
        .to_string();
    // A report that fails before any network: the token variable is not set.
    for args in [
        &[
            "token",
            "--json",
            "--access-token-env",
            "XOAUTH_NOT_SET_ANYWHERE",
        ][..],
        &[
            "imap",
            "--json",
            "--user",
            ALICE,
            "--host",
            "127.0.0.1",
            "--access-token-env",
            "XOAUTH_NOT_SET_ANYWHERE",
        ],
        &[
            "check",
            "--json",
            "--user",
            ALICE,
            "--host",
            "127.0.0.1",
            "--access-token-env",
            "XOAUTH_NOT_SET_ANYWHERE",
        ],
    ] {
        let run = xoauth(&strings(args), None, None).await;
        assert_eq!(run.code, 3, "{args:?}: {}", run.all());
        let doc = run.json();
        assert_eq!(doc["xoauth_version"], version.as_str(), "{args:?}: {doc:#}");
        for nested in doc["checks"].as_array().into_iter().flatten() {
            assert!(nested.get("xoauth_version").is_none(), "said once: {doc:#}");
        }
    }
}
