//! The README's "Using the mock" section, run word for word: its ```sh blocks, in order, in one
//! `sh` session from the repository root, against the built `xoauth` and `xoauth-mock`; the
//! ```text block after a command block lists lines its output must show, in order (`...`
//! stands for whatever varies). So the README cannot drift from what the binaries do.
//!
//! Loopback only (the mock binds 127.0.0.1), no keyring (`XOAUTH_KEYRING=none`, and the
//! commands say `--no-cache`), bounded by a deadline after which the whole process group is
//! killed. Needs `curl` (the device-code approval); without it the test says SKIPPED, except
//! in CI.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::fixture;

const HEADING: &str = "## Using the mock";
const DEADLINE: Duration = Duration::from_secs(120);

/// A fenced block: its info string and its lines.
#[derive(Debug)]
struct Block {
    lang: String,
    body: String,
}

/// The fenced blocks between `heading` and the next level-2 heading.
fn section_blocks(readme: &str, heading: &str) -> Vec<Block> {
    let mut lines = readme.lines().skip_while(|l| l.trim_end() != heading);
    assert!(
        lines.next().is_some(),
        "README.md has no {heading:?} section"
    );
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in lines {
        match open.as_mut() {
            None if line.starts_with("## ") => break,
            None => {
                if let Some(lang) = line.strip_prefix("```") {
                    open = Some(Block {
                        lang: lang.trim().to_string(),
                        body: String::new(),
                    });
                }
            }
            Some(_) if line.trim_end() == "```" => blocks.extend(open.take()),
            Some(block) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
        }
    }
    assert!(open.is_none(), "unclosed code block in {heading:?}");
    blocks
}

/// Each `sh` block with the `text` block that follows it, if any.
fn steps(blocks: &[Block]) -> Vec<(&str, Option<&str>)> {
    let mut steps = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if block.lang == "sh" {
            let expected = blocks
                .get(i + 1)
                .filter(|b| b.lang == "text")
                .map(|b| b.body.as_str());
            steps.push((block.body.as_str(), expected));
        }
    }
    steps
}

/// Whether `actual` is `pattern`, where each `...` in `pattern` matches any text; both are
/// compared without surrounding whitespace.
fn matches(pattern: &str, actual: &str) -> bool {
    let pattern = pattern.trim();
    let actual = actual.trim();
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    if !rest.ends_with(last) {
        return false;
    }
    rest = &rest[..rest.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The first expected line (in order) that `output` does not show, if any.
fn first_missing<'a>(expected: &'a str, output: &str) -> Option<&'a str> {
    let mut actual = output.lines();
    expected
        .lines()
        .filter(|l| !l.trim().is_empty())
        .find(|wanted| !actual.any(|line| matches(wanted, line)))
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// `xoauth-mock` beside `xoauth`: `cargo test --workspace` builds both before any test runs
/// (the mock's integration tests make cargo build its binary), a filtered run may not.
fn mock_binary(xoauth: &Path) -> PathBuf {
    let mock = xoauth.with_file_name(format!("xoauth-mock{}", std::env::consts::EXE_SUFFIX));
    assert!(
        mock.exists(),
        "{} is not built: run `cargo test --workspace` or `cargo build -p xoauth-mock`",
        mock.display()
    );
    // A stale mock would test the README against old code: its sources must be older than it.
    let built = std::fs::metadata(&mock).and_then(|m| m.modified()).unwrap();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-server");
    let mut sources = vec![
        crate_dir.join("Cargo.toml"),
        crate_dir.join("config/contoso.toml"),
    ];
    let mut dirs = vec![crate_dir.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push(path);
            }
        }
    }
    for source in sources {
        let changed = std::fs::metadata(&source)
            .and_then(|m| m.modified())
            .unwrap();
        assert!(
            changed <= built,
            "{} is older than {}: run `cargo test --workspace` or `cargo build -p xoauth-mock`",
            mock.display(),
            source.display()
        );
    }
    mock
}

fn curl_available() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !in_ci(),
            "CI must provide curl for the README's mock section"
        );
        eprintln!("SKIPPED: the README's mock section approves a device code with curl");
    }
    found
}

/// What the script printed (stdout and stderr merged), and how it ended.
struct Ran {
    output: String,
    status: Option<std::process::ExitStatus>,
}

/// Runs `script` with `sh` in its own process group under `env`, from `cwd`; when it ends or
/// the deadline passes, kills whatever of that group is left (the mock, a waiting sign-in).
fn run_script(script: &str, cwd: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Ran {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec 2>&1\n{script}"))
        .current_dir(cwd)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BROWSER")
        .env_remove("XOAUTH_TEST_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sh runs");
    let group = child.id();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Only the group this test started; errors mean it is already gone.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let output = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    Ran { output, status }
}

#[test]
fn readme_mock_section_runs_as_written() {
    if !curl_available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = section_blocks(&readme, HEADING);
    let steps = steps(&blocks);

    // The section must still show what it is for, so an emptied section cannot pass.
    let commands: String = steps.iter().map(|(sh, _)| *sh).collect();
    for needed in [
        "xoauth-mock --ca-out",
        "--env-out",
        "--authority \"$MOCK_IDP\"",
        "--tenant contoso.example",
        "--certificate mock-server/fixtures/app.pem",
        "--client-secret-env",
        "--flow device-code",
        "/mock/devicecode/approve",
    ] {
        assert!(
            commands.contains(needed),
            "the README's mock section no longer runs {needed:?}"
        );
    }
    assert!(
        steps
            .iter()
            .filter(|(_, expected)| expected.is_some())
            .count()
            >= 4,
        "the README's mock section shows too little output to check"
    );

    let mut script = String::from("set -eu\n");
    for (i, (sh, _)) in steps.iter().enumerate() {
        script.push_str(&format!("printf '\\n@@readme-step {i}@@\\n'\n{sh}\n"));
    }
    script.push_str("printf '\\n@@readme-end@@\\n'\n");

    let xoauth = assert_cmd::cargo::cargo_bin("xoauth");
    let mock = mock_binary(&xoauth);
    let bin_dir = mock.parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ran = run_script(
        &script,
        root,
        &[
            ("PATH", path.as_os_str()),
            ("TMPDIR", tmp.path().as_os_str()),
            ("XOAUTH_KEYRING", "none".as_ref()),
        ],
    );
    let out = &ran.output;
    let status = ran.status.unwrap_or_else(|| {
        panic!("the README's mock section did not finish within {DEADLINE:?}:\n{out}")
    });
    assert!(
        status.success() && out.contains("@@readme-end@@"),
        "the README's mock section failed ({status}):\n--- script\n{script}--- output\n{out}"
    );

    for (i, (sh, expected)) in steps.iter().enumerate() {
        let Some(expected) = expected else { continue };
        let segment = out
            .split(&format!("@@readme-step {i}@@"))
            .nth(1)
            .and_then(|rest| rest.split("@@readme-").next())
            .expect("every step's marker is in the output");
        if let Some(missing) = first_missing(expected, segment) {
            panic!(
                "the README's mock section promises a line the commands did not print (or not in \
                 this order):\n  {missing}\n--- commands\n{sh}--- output\n{segment}"
            );
        }
    }

    // The "What xoauth checks" table names the IMAP LIST command; the transcript shows the one
    // sent.
    let list = readme
        .lines()
        .find(|l| l.starts_with("| list |"))
        .and_then(|row| row.split('`').nth(1))
        .expect("the README's stage table has a list row with the command in backticks");
    let sent: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(" C: "))
        .filter_map(|(_, command)| command.split_once(' '))
        .map(|(_tag, command)| command.trim_end())
        .filter(|command| command.starts_with("LIST"))
        .collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|c| *c == list),
        "the README says the list stage sends `{list}`; the transcript shows {sent:?}"
    );
}

/// `app.pem` is the registered demo certificate with its key, nothing else.
#[test]
fn demo_pem_is_the_registered_certificate_and_key() {
    let combined = std::fs::read_to_string(fixture("app.pem")).unwrap();
    let cert = std::fs::read_to_string(fixture("app-cert.pem")).unwrap();
    let key = std::fs::read_to_string(fixture("app-key.pem")).unwrap();
    assert_eq!(combined, format!("{cert}{key}"));
}

#[test]
fn expected_lines_match_with_gaps() {
    assert!(matches("a ... c", "  a b c  "));
    assert!(matches("MOCK_CA=/.../ca.pem", "MOCK_CA=/tmp/x/ca.pem"));
    assert!(matches("...", "anything"));
    assert!(matches("x ... y ... z", "x 1 y 2 z"));
    assert!(!matches("x ... y ... z", "x 1 z 2 y"));
    assert!(!matches("ab...ba", "aba"), "the two ends may not overlap");
    assert!(!matches("exit code 1", "exit code 10"));
    assert_eq!(first_missing("b\na\n", "a\nb\n"), Some("a"));
    assert_eq!(first_missing("a\n\nb\n", "a\nx\nb\n"), None);
}
