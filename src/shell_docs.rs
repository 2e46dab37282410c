//! Shell completions and manual pages, both generated from the clap definitions in `cli.rs`,
//! so that neither can describe a flag that no longer exists. Binary only.

use std::io::Write;

use clap::CommandFactory as _;

use crate::cli::Cli;

/// `xoauth completions SHELL`: the script on standard output.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "xoauth", &mut buffer);
    out.write_all(&buffer)?;
    out.flush()
}

/// Why `xoauth man NAME` has no page: NAME is not a subcommand.
#[derive(Debug, thiserror::Error)]
#[error("no manual page for {name:?}: the pages are xoauth and xoauth-SUBCOMMAND for {known}")]
pub struct NoPage {
    name: String,
    known: String,
}

/// `xoauth man [SUBCOMMAND]`: xoauth(1), or one subcommand's page (`xoauth-imap(1)`), which
/// xoauth(1) lists, as git's pages are laid out.
pub fn man(subcommand: Option<&str>, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    // Gives each subcommand its page name (`xoauth-imap`) and its usage (`xoauth imap`).
    command.build();
    let page = match subcommand {
        None => command,
        Some(name) => {
            let visible = || command.get_subcommands().filter(|s| !s.is_hide_set());
            match visible().find(|s| s.get_name() == name) {
                Some(sub) => sub.clone(),
                None => {
                    let known: Vec<&str> = visible().map(|s| s.get_name()).collect();
                    return Err(NoPage {
                        name: name.to_string(),
                        known: known.join(", "),
                    }
                    .into());
                }
            }
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    out.write_all(ascii_roff(&String::from_utf8_lossy(&roff)).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Non-ASCII characters as roff's `\[uXXXX]` escapes: troff reads its input as Latin-1 unless
/// a preprocessor converts it (`man` does, plain `groff` does not), and the help texts hold
/// dashes and arrows.
fn ascii_roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_ascii_becomes_a_roff_escape() {
        assert_eq!(
            super::ascii_roff("a \u{2014} b \u{1F600}"),
            "a \\[u2014] b \\[u1F600]"
        );
    }
}
