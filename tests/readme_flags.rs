//! The README names every flag the binary takes: each command's `--help` is read, and every
//! long flag in it must appear in README.md, so a flag cannot ship undocumented.

use std::collections::BTreeSet;
use std::process::Command;

/// `xoauth ARGS --help`.
fn help(args: &[&str]) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin("xoauth"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help text lists under `Commands:`, `help` left out.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line starts two spaces in; continuation lines are indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The long flags a help text defines (`-x, --long` or `--long` at the start of an option line).
fn flags(help: &str) -> BTreeSet<String> {
    help.lines()
        // clap indents `  -x, --long` and `      --long`; descriptions go further in.
        .filter(|l| {
            let indent = l.len() - l.trim_start().len();
            (indent == 2 || indent == 6) && l.trim_start().starts_with('-')
        })
        .map(str::trim_start)
        .filter_map(|l| {
            l.split([' ', ',', '='])
                .find(|w| w.starts_with("--") && w.len() > 2)
                .map(|w| w.trim_end_matches(['<', '>', '.']).to_string())
        })
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

/// Every command path, `cache list` included.
fn every_command() -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut todo: Vec<Vec<String>> = commands(&help(&[])).into_iter().map(|c| vec![c]).collect();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in commands(&help(&args)) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        all.push(path);
    }
    all
}

#[test]
fn every_flag_of_every_command_is_in_the_readme() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let commands = every_command();
    assert!(
        commands.iter().any(|c| c == &["cache", "list"]),
        "{commands:?}"
    );
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for path in &commands {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for flag in flags(&help(&args)) {
            seen += 1;
            // `-v` is how the README spells --verbose.
            let documented = readme.contains(&format!("`{flag}"))
                || readme.contains(&format!("{flag} "))
                || (flag == "--verbose" && readme.contains("`-v`"));
            if !documented {
                missing.insert(format!("{} {flag}", path.join(" ")));
            }
        }
    }
    assert!(seen > 40, "too few flags found in --help: {seen}");
    assert!(
        missing.is_empty(),
        "README.md does not mention: {missing:?}"
    );
}
