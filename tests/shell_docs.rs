//! `xoauth completions SHELL` and `xoauth man [SUBCOMMAND]`, generated from the clap
//! definitions: the bash script loads in a real bash and completes, and every manual page
//! renders in groff without a warning.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::util::*;

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Skips loudly without the tool, unless CI is set (.ci/run installs it).
fn require(tool: &str, test: &str) -> bool {
    if installed(tool) {
        return true;
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    assert!(!ci, "{test}: CI is set but {tool} is not installed");
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {tool} is not installed [{test}]"
    );
    false
}

/// What bash offers for `line` (the word under the cursor is its last one).
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let words_quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' || exit 9\n\
         COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _xoauth xoauth '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words_quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "bash: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bash_completion_loads_and_completes_subcommands_and_flags() {
    let test = "the_bash_completion_loads_and_completes_subcommands_and_flags";
    let run = xoauth(&strings(&["completions", "bash"]), None, None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    if !require("bash", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("xoauth.bash");
    std::fs::write(&script, &run.stdout).unwrap();

    let offered = bash_completes(&script, &["xoauth", "ch"]);
    assert!(offered.contains(&"check".to_string()), "{offered:?}");
    assert!(!offered.contains(&"imap".to_string()), "{offered:?}");
    let offered = bash_completes(&script, &["xoauth", "imap", "--ca"]);
    assert!(offered.contains(&"--ca-file".to_string()), "{offered:?}");
    let offered = bash_completes(&script, &["xoauth", "completions", "p"]);
    assert!(offered.contains(&"powershell".to_string()), "{offered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = xoauth(&strings(&["completions", shell]), None, None).await;
        assert_eq!(run.code, 0, "{shell}: {}", run.all());
        for word in ["check", "setup-script", "access-token-file"] {
            assert!(run.stdout.contains(word), "{shell}: {word} missing");
        }
    }
    let run = xoauth(&strings(&["completions", "tcsh"]), None, None).await;
    assert_eq!(run.code, 2, "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_manual_page_renders_without_warnings() {
    let test = "every_manual_page_renders_without_warnings";
    let main = xoauth(&strings(&["man"]), None, None).await;
    assert_eq!(main.code, 0, "{}", main.all());
    let subcommands = [
        "imap",
        "pop",
        "smtp",
        "check",
        "token",
        "cache",
        "setup-script",
    ];
    for sub in subcommands {
        // roff spells every hyphen `\-`.
        let listed = format!("xoauth-{sub}(1)").replace('-', "\\-");
        assert!(main.stdout.contains(&listed), "{sub} not listed");
    }
    let mut pages = vec![("xoauth".to_string(), main.stdout)];
    for sub in subcommands.iter().chain(&["completions", "man"]) {
        let run = xoauth(&strings(&["man", sub]), None, None).await;
        assert_eq!(run.code, 0, "{sub}: {}", run.all());
        pages.push((format!("xoauth-{sub}"), run.stdout));
    }
    let bad = xoauth(&strings(&["man", "imapp"]), None, None).await;
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("imap, pop, smtp"), "{}", bad.stderr);

    if !require("groff", test) {
        return;
    }
    for (name, roff) in &pages {
        assert!(roff.is_ascii(), "{name}: non-ASCII reaches troff");
        let mut child = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-P", "-cbou"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("groff runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(roff.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{name}: groff says\n{stderr}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{name}");
    }
    let imap = &pages.iter().find(|(n, _)| n == "xoauth-imap").unwrap().1;
    assert!(imap.contains("ca\\-file"), "the imap page lists its flags");
}
