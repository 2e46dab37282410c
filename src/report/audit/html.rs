//! The audit as one self-contained HTML page (`--html FILE`) that an admin attaches to a
//! ticket or sends to a manager: the mailbox × protocol grid coloured by outcome, the causes
//! and fixes, the token's claims (never the token), the counts and the run's date.
//!
//! No scripts, no external assets (the CSS is in a `<style>`), so it opens anywhere and prints
//! as it shows. Colour is never the only signal: each cell says PASS or FAIL and its failure
//! kind, and the grid has row and column headers. Every text from a server, a token or the
//! mailbox list goes through [`markup`] (entities escaped, control characters shown as text).

use std::fmt::Write as _;

use super::junit::{protocols, retries};
use super::text::{self, markup};
use super::{Audit, Cell, MailboxAudit, kind_name};
use crate::outcome::Explanation;
use crate::service::Protocol;

pub(crate) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
margin:2em;color:#1a1a1a;background:#fff;line-height:1.45;max-width:75em}
h1{margin-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0}
th,td{border:1px solid #8a8a8a;padding:.3em .6em;text-align:left;vertical-align:top}
thead th{background:#e8e8e8}
caption{text-align:left;font-style:italic;padding:.3em 0}
.grid td{min-width:7em}
.grid td.pass{background:#d8f0d8;color:#0b3d0b}
.grid td.fail{background:#f8d4d2;color:#5c0a07;font-weight:bold}
.grid td.none{color:#666}
.grid td a{color:inherit}
.kind{display:block;font-weight:normal;font-size:.85em}
.verdict{display:inline-block;padding:.3em .8em;border:2px solid;font-weight:bold}
.verdict.pass{background:#d8f0d8;color:#0b3d0b}
.verdict.fail{background:#f8d4d2;color:#5c0a07}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dt{font-weight:bold}
dd{margin:0;overflow-wrap:anywhere}
pre{background:#f4f4f4;border:1px solid #c8c8c8;padding:.6em;white-space:pre-wrap;\
overflow-wrap:anywhere}
.group,.failure{border-left:4px solid #b3261e;padding-left:1em;margin:1em 0}
.combined{border-left:4px solid #7a5c00;padding-left:1em}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}\
.grid td,.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
thead{display:table-header-group}.group,.failure,tr{break-inside:avoid}}
";

/// The whole page.
pub fn render(audit: &Audit) -> String {
    let s = audit.summary();
    let date = text::rfc3339(audit.started_at);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>xoauth mailbox audit, {date}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
    );
    let _ = writeln!(out, "<header>\n<h1>OAuth mailbox audit</h1>");
    let who = match (&audit.user, &audit.token) {
        (Some(user), _) => format!("with a delegated token of {}", markup(user)),
        (None, Some(_)) => "with an app-only token".to_string(),
        (None, None) => "without a token (none could be had)".to_string(),
    };
    let _ = writeln!(
        out,
        "<p>Run <time datetime=\"{date}\">{date}</time> (UTC), took {:.1} s, {} at a time, \
         {who}.</p>",
        audit.elapsed_ms as f64 / 1000.0,
        audit.concurrency
    );
    let (class, verdict) = if s.failed == 0 && s.cells > 0 {
        ("pass", format!("PASS: all {} checks passed", s.cells))
    } else {
        (
            "fail",
            format!("FAIL: {} of {} checks failed", s.failed, s.cells),
        )
    };
    let _ = writeln!(out, "<p class=\"verdict {class}\">{verdict}</p>\n</header>");

    counts(&mut out, audit);
    token(&mut out, audit);
    grid(&mut out, audit);
    groups(&mut out, audit);
    details(&mut out, audit);
    list(&mut out, audit);
    out.push_str("</body>\n</html>\n");
    out
}

fn counts(out: &mut String, audit: &Audit) {
    let s = audit.summary();
    out.push_str("<section>\n<h2>Counts</h2>\n<table class=\"counts\">\n<tbody>\n");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{name}</th><td>{value}</td></tr>"
        );
    };
    row("Mailboxes", s.mailboxes.to_string());
    row("Checks (mailbox × protocol)", s.cells.to_string());
    row("Passed", s.passed.to_string());
    row("Failed", s.failed.to_string());
    for (kind, n) in &s.by_kind {
        row(&format!("Failed: {}", markup(kind)), n.to_string());
    }
    row("List lines skipped", s.skipped_lines.to_string());
    row("Duplicate addresses", s.duplicates.to_string());
    row("Exit code", s.exit_code.code().to_string());
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// The claims that say what the token may do; the token itself is never in the report.
fn token(out: &mut String, audit: &Audit) {
    out.push_str("<section>\n<h2>Token</h2>\n");
    let Some(info) = &audit.token else {
        out.push_str("<p>No token was obtained.</p>\n</section>\n");
        return;
    };
    let origin = serde_json::to_value(info.origin)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut rows: Vec<(&str, String)> = vec![("Origin", origin)];
    if let Some(c) = &info.claims {
        let fields = [
            ("Audience (aud)", c.aud.clone()),
            ("Delegated scopes (scp)", c.scp.clone()),
            (
                "Application roles (roles)",
                (!c.roles.is_empty()).then(|| c.roles.join(" ")),
            ),
            ("Tenant (tid)", c.tid.clone()),
            ("Application (appid)", c.app_id().map(str::to_string)),
            ("Application name", c.app_displayname.clone()),
            ("User", c.user().map(str::to_string)),
            ("Token type (idtyp)", c.idtyp.clone()),
        ];
        rows.extend(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    } else if let Some(note) = &info.claims_note {
        rows.push(("Claims", note.clone()));
    }
    if let Some(exp) = &info.expires_at {
        rows.push(("Expires (exp, UTC)", exp.clone()));
    }
    out.push_str("<dl>\n");
    for (name, value) in rows {
        let _ = writeln!(out, "<dt>{name}</dt><dd>{}</dd>", markup(&value));
    }
    out.push_str("</dl>\n</section>\n");
}

/// The mailbox × protocol table: a row header per mailbox, a column header per protocol.
fn grid(out: &mut String, audit: &Audit) {
    let protocols = protocols(audit);
    out.push_str(
        "<section>\n<h2>Mailbox × protocol</h2>\n<table class=\"grid\">\n\
         <caption>PASS: OAuth works. FAIL: the failure kind; the link leads to its cause and \
         fix.</caption>\n<thead>\n<tr><th scope=\"col\">Mailbox</th>",
    );
    for p in &protocols {
        let _ = write!(out, "<th scope=\"col\">{}</th>", p.label());
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for (i, m) in audit.mailboxes.iter().enumerate() {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", markup(&m.mailbox));
        for p in &protocols {
            match m.cells.iter().find(|c| c.protocol == *p) {
                None => out.push_str("<td class=\"none\">not checked</td>"),
                Some(cell) => grid_cell(out, i, cell),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn grid_cell(out: &mut String, row: usize, cell: &Cell) {
    let tries = retries(cell)
        .map(|r| format!("<span class=\"kind\">{}</span>", markup(&r)))
        .unwrap_or_default();
    match &cell.report.failure {
        None => {
            let _ = write!(out, "<td class=\"cell pass\">PASS{tries}</td>");
        }
        Some(f) => {
            let _ = write!(
                out,
                "<td class=\"cell fail\"><a href=\"#{}\">FAIL</a>\
                 <span class=\"kind\">{}</span>{tries}</td>",
                anchor(row, cell.protocol),
                markup(&kind_name(f.kind))
            );
        }
    }
}

fn anchor(row: usize, protocol: Protocol) -> String {
    format!("f{}-{}", row + 1, protocol.name())
}

/// The to-do list, as the terminal says it: the mailboxes whose protocols disagree the same
/// way (one cause, one fix for each), then the other failing cells that share one cause and
/// one fix, largest group first, each mailbox taken out so a thousand read as one.
fn groups(out: &mut String, audit: &Audit) {
    let combined = audit.combined_groups();
    let groups = audit.cause_groups();
    if combined.is_empty() && groups.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2>Causes and fixes</h2>\n");
    for g in &combined {
        let names: Vec<String> = g.mailboxes.iter().map(|m| markup(m)).collect();
        group(
            out,
            &format!(
                "across protocols: {} mailbox{}",
                g.mailboxes.len(),
                if g.mailboxes.len() == 1 { "" } else { "es" }
            ),
            &g.cause,
            g.fix.as_deref(),
            &names,
        );
    }
    for g in &groups {
        let names: Vec<String> = g
            .cells
            .iter()
            .map(|(m, p)| format!("{} ({})", markup(m), p.label()))
            .collect();
        group(
            out,
            &format!(
                "{}: {} check{}",
                kind_name(g.kind),
                g.cells.len(),
                if g.cells.len() == 1 { "" } else { "s" }
            ),
            &g.cause,
            g.fix.as_deref(),
            &names,
        );
    }
    out.push_str("</section>\n");
}

/// One group: its heading, cause, fix and the first of what it affects (already marked up).
fn group(out: &mut String, heading: &str, cause: &str, fix: Option<&str>, affected: &[String]) {
    let _ = writeln!(
        out,
        "<div class=\"group\">\n<h3>{}</h3>\n<p>{}</p>",
        markup(heading),
        markup(cause)
    );
    if let Some(fix) = fix {
        fix_block(out, fix);
    }
    const SHOWN: usize = 50;
    let more = affected.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let label = if affected.len() > 1 {
        "For each of"
    } else {
        "Affected"
    };
    let shown = &affected[..affected.len().min(SHOWN)];
    let _ = writeln!(out, "<p>{label}: {}{more}.</p>\n</div>", shown.join(", "));
}

/// Per mailbox with a failure: what the protocols' disagreement means, then each failing cell.
fn details(out: &mut String, audit: &Audit) {
    let failing: Vec<(usize, &MailboxAudit)> = audit
        .mailboxes
        .iter()
        .enumerate()
        .filter(|(_, m)| m.cells.iter().any(|c| c.report.failure.is_some()))
        .collect();
    if failing.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2>Failures by mailbox</h2>\n");
    for (i, m) in failing {
        let _ = writeln!(
            out,
            "<section class=\"mailbox\">\n<h3>{} <small>(line {})</small></h3>",
            markup(&m.mailbox),
            m.line
        );
        if let Some(ex) = &m.combined {
            out.push_str("<div class=\"combined\">\n<h4>Across protocols</h4>\n");
            explanation(out, ex);
            out.push_str("</div>\n");
        }
        for cell in m.cells.iter() {
            let Some(f) = &cell.report.failure else {
                continue;
            };
            let _ = writeln!(
                out,
                "<div class=\"failure\" id=\"{}\">\n<h4>{}: FAIL, {}</h4>\n<p>{}: {}</p>",
                anchor(i, cell.protocol),
                cell.protocol.label(),
                markup(&kind_name(f.kind)),
                markup(f.stage.name()),
                markup(&f.message)
            );
            match &f.explanation {
                // The audit gives the cells its row explains the row's explanation.
                Some(ex) if m.combined.as_ref() == Some(&**ex) => {
                    out.push_str("<p>Explained above, across protocols.</p>\n")
                }
                Some(ex) => explanation(out, ex),
                None => out.push_str("<p>No known cause.</p>\n"),
            }
            if !f.server_reply.is_empty() {
                let _ = writeln!(
                    out,
                    "<p>The server said:</p>\n<pre class=\"reply\">{}</pre>",
                    markup(&f.server_reply.join("\n"))
                );
            }
            if let Some(r) = retries(cell) {
                let _ = writeln!(out, "<p>{}</p>", markup(&r));
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}

fn explanation(out: &mut String, ex: &Explanation) {
    let _ = writeln!(out, "<p><strong>Cause:</strong> {}</p>", markup(&ex.cause));
    if !ex.candidates.is_empty() {
        out.push_str("<ol>\n");
        for c in &ex.candidates {
            let _ = writeln!(out, "<li>{}</li>", markup(c));
        }
        out.push_str("</ol>\n");
    }
    if let Some(fix) = &ex.fix {
        fix_block(out, fix);
    }
}

/// The fix is a command to paste (Exchange Online PowerShell, Entra): code, kept as written.
fn fix_block(out: &mut String, fix: &str) {
    let _ = writeln!(
        out,
        "<p><strong>Fix:</strong></p>\n<pre><code>{}</code></pre>",
        markup(fix)
    );
}

/// Lines of the list that were not checked, and addresses listed twice.
fn list(out: &mut String, audit: &Audit) {
    if audit.skipped.is_empty() && audit.duplicates.is_empty() {
        return;
    }
    out.push_str("<section>\n<h2>Mailbox list</h2>\n");
    if !audit.skipped.is_empty() {
        out.push_str(
            "<table class=\"skipped\">\n<caption>Lines that are not an address (not \
             checked)</caption>\n<thead><tr><th scope=\"col\">Line</th><th scope=\"col\">Text\
             </th><th scope=\"col\">Why</th></tr></thead>\n<tbody>\n",
        );
        for s in &audit.skipped {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                s.line,
                markup(&s.text),
                markup(&s.reason)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if !audit.duplicates.is_empty() {
        out.push_str(
            "<table class=\"duplicates\">\n<caption>Addresses listed more than once (checked \
             once)</caption>\n<thead><tr><th scope=\"col\">Address</th><th scope=\"col\">Lines\
             </th></tr></thead>\n<tbody>\n",
        );
        for d in &audit.duplicates {
            let lines: Vec<String> = d.lines.iter().map(usize::to_string).collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                markup(&d.mailbox),
                lines.join(", ")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}
