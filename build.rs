//! The git commit xoauth is built from, for `--version` and the reports' `xoauth_version`:
//! `git rev-parse --short HEAD` in a checkout, else the commit `cargo package` recorded in
//! `.cargo_vcs_info.json`, else nothing (a source tree without either still builds).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    let commit = from_checkout(&dir)
        .or_else(|| from_package(&dir))
        .unwrap_or_default();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=XOAUTH_GIT_COMMIT={commit}");
    // What `-V` prints and reports carry as `xoauth_version`.
    if commit.is_empty() {
        println!("cargo:rustc-env=XOAUTH_VERSION={version}");
    } else {
        println!("cargo:rustc-env=XOAUTH_VERSION={version} (commit {commit})");
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Only when this package is the checkout's top: an unpacked `.crate` inside some other
/// repository (`target/package/` in this one) must not take that repository's commit.
fn from_checkout(dir: &Path) -> Option<String> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--short", "HEAD"])?;
    // A new commit or checkout changes HEAD or the branch it names; packed refs change on gc.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(commit)
}

/// `{"git": {"sha1": "…"}, …}`, written by `cargo package` into the `.crate`.
fn from_package(dir: &Path) -> Option<String> {
    let path = dir.join(".cargo_vcs_info.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.split("\"sha1\"").nth(1)?;
    let sha: String = after
        .trim_start_matches([' ', ':', '"'])
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(7)
        .collect();
    (sha.len() == 7).then_some(sha)
}
