//! The summary as a human table and as the `--json` object (docs/report.schema.json,
//! `legacy_auth`). Names come from the export, so control characters are replaced before they
//! reach a terminal.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::protocols::LEGACY_APPS;
use super::summary::{ProtocolTally, Summary, TOP, Tally};
use super::{Format, time};

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect()
}

fn when(t: Option<i64>) -> String {
    t.map(time::format).unwrap_or_else(|| "-".into())
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "distinct": t.distinct(),
        "capped": t.capped,
        "top": t.top().iter().map(|(name, n)| json!({"name": name, "sign_ins": n})).collect::<Vec<_>>(),
    })
}

fn format_key(f: Option<Format>) -> Value {
    match f {
        None => Value::Null,
        Some(Format::Csv) => json!("csv"),
        Some(Format::EntraJson) => json!("entra_json"),
        Some(Format::GraphJson) => json!("graph_json"),
    }
}

impl Summary {
    pub fn to_json(&self) -> Value {
        let protocols: Vec<Value> = LEGACY_APPS
            .iter()
            .zip(&self.protocols)
            .map(|(app, p)| {
                json!({
                    "client_app": app.client_app,
                    "sign_ins": p.sign_ins,
                    "succeeded": p.succeeded,
                    "failed": p.failed,
                    "users": tally_json(&p.users),
                    "users_succeeded": tally_json(&p.users_succeeded),
                    "apps": tally_json(&p.apps),
                    "ips": tally_json(&p.ips),
                    "last_seen": p.last_seen.map(time::format),
                    "next_step": app.next_step,
                })
            })
            .collect();
        json!({
            "source": self.source,
            "format": format_key(self.format),
            "since": self.since.map(time::format),
            "records": self.records,
            "modern": self.modern,
            "before_window": self.before_window,
            "undated": self.undated,
            "excluded_certificate_activesync": self.certificate_activesync,
            "legacy_sign_ins": self.legacy_sign_ins(),
            "warnings": {
                "count": self.warning_count,
                "shown": self.warnings.iter().map(|(l, m)| json!({"line": l, "message": m})).collect::<Vec<_>>(),
            },
            "legacy_protocols": protocols,
        })
    }

    pub fn render_human(&self) -> String {
        let mut out = String::new();
        let fmt = self.format.map(Format::label).unwrap_or("sign-in log");
        let _ = writeln!(
            out,
            "Legacy (Basic) authentication sign-ins in {} ({fmt})",
            clean(&self.source)
        );
        if let Some(since) = self.since {
            let _ = writeln!(out, "since {}", time::format(since));
        }
        let _ = writeln!(
            out,
            "{} records read: {} legacy, {} modern (not counted), {} before the window, {} \
             certificate-based ActiveSync (not Basic, left out)",
            self.records,
            self.legacy_sign_ins(),
            self.modern,
            self.before_window,
            self.certificate_activesync
        );
        if self.legacy_sign_ins() == 0 {
            let _ = writeln!(
                out,
                "\nNo legacy-auth sign-ins: nothing signs in with Basic authentication in this log."
            );
            return out;
        }
        let _ = writeln!(
            out,
            "\n{:<34} {:>9} {:>9} {:>7} {:>6} {:>5} {:>6}  last seen",
            "client app", "sign-ins", "succeeded", "failed", "users", "apps", "IPs"
        );
        let rows = LEGACY_APPS
            .iter()
            .zip(&self.protocols)
            .filter(|(_, p)| p.sign_ins > 0);
        for (app, p) in rows.clone() {
            let _ = writeln!(
                out,
                "{:<34} {:>9} {:>9} {:>7} {:>6} {:>5} {:>6}  {}",
                app.client_app,
                p.sign_ins,
                p.succeeded,
                p.failed,
                p.users.distinct(),
                p.apps.distinct(),
                p.ips.distinct(),
                when(p.last_seen)
            );
        }
        for (app, p) in rows {
            section(&mut out, app.client_app, app.next_step, p);
        }
        if self.warning_count > 0 {
            let _ = writeln!(
                out,
                "\n{} row(s) could not be fully used:",
                self.warning_count
            );
            for (line, m) in &self.warnings {
                let _ = writeln!(out, "  line {line}: {}", clean(m));
            }
            if self.warning_count > self.warnings.len() as u64 {
                let _ = writeln!(
                    out,
                    "  … and {} more",
                    self.warning_count - self.warnings.len() as u64
                );
            }
        }
        out
    }
}

fn section(out: &mut String, name: &str, next: &str, p: &ProtocolTally) {
    let _ = writeln!(
        out,
        "\n{name}: {} sign-ins, {} succeeded, {} failed (already blocked or wrong password)",
        p.sign_ins, p.succeeded, p.failed
    );
    let list = |label: &str, t: &Tally, out: &mut String| {
        if t.distinct() == 0 {
            return;
        }
        let names: Vec<String> = t
            .top()
            .iter()
            .map(|(n, c)| format!("{} ({c})", clean(n)))
            .collect();
        let more = t.distinct().saturating_sub(TOP);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let capped = if t.capped { " (list capped)" } else { "" };
        let _ = writeln!(out, "  {label}: {}{tail}{capped}", names.join(", "));
    };
    list("still working with Basic", &p.users_succeeded, out);
    list("users", &p.users, out);
    list("apps", &p.apps, out);
    list("IPs", &p.ips, out);
    let _ = writeln!(out, "  next: {next}");
}
