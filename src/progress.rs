//! The audit's progress bar: on standard error, only when it is a terminal (nothing on a pipe
//! or in a log), drawn from the first finished cell (so it never mixes with a sign-in prompt),
//! in colour unless `NO_COLOR` is set.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bar {
    total: u64,
    shown: bool,
    bar: OnceLock<ProgressBar>,
}

impl Bar {
    /// `wanted`: not with `--json`.
    pub fn new(total: u64, wanted: bool) -> Bar {
        Bar {
            total,
            shown: wanted && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
        }
    }

    pub fn inc(&self) {
        if !self.shown {
            return;
        }
        self.bar
            .get_or_init(|| {
                let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                let template = if colour {
                    "{bar:30.cyan/blue} {pos}/{len} checks {elapsed_precise}"
                } else {
                    "{bar:30} {pos}/{len} checks {elapsed_precise}"
                };
                let style = ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr())
                    .with_style(style)
            })
            .inc(1);
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
