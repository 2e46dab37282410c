//! The support bundle (`--support-bundle FILE`): everything a Microsoft support case or a
//! tenant's identity team asks for first, in one `.tar.gz` that `tar` opens on every system —
//! the report (text and JSON), each connection's redacted transcript, the token's non-secret
//! claims, the ids, the environment, and a ready-made filter for the Entra sign-in logs.
//!
//! Nothing secret can reach it by construction: it is built only from [`Report`]s, which hold
//! claims, never the token, and transcripts redacted as they were recorded. The command line,
//! the one input from outside the reports, has any value that looks like a token replaced.
//! Tests unpack a bundle and scan it for every secret of the run.

use std::fmt::Write as _;
use std::io::Write as _;

use super::{Combined, Report, version};
use crate::transport::tap::Direction;
use crate::transport::util::{escape_text as show, rfc3339};

/// Minutes of sign-in log around the run: the identity platform's clock and the log's
/// ingestion are not ours.
const WINDOW_MARGIN_SECS: i64 = 5 * 60;

/// What the bundle needs besides the reports.
pub struct Context<'a> {
    /// The command as typed (without the program name).
    pub args: &'a [String],
    /// Seconds since the epoch when the run started and ended.
    pub started: i64,
    pub finished: i64,
    /// The app the token was requested for, and whether app-only (client credentials): known
    /// from the command even when no token came back, which is when the filter matters most.
    pub client_id: Option<&'a str>,
    pub app_only: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the support bundle: {0}")]
pub struct BundleError(#[from] std::io::Error);

/// The bundle's files, in the order `tar tzf` lists them.
pub fn files(reports: &[Report], ctx: &Context<'_>) -> Vec<(String, String)> {
    let combined = Combined::new(reports.to_vec());
    let json = serde_json::to_value(&combined).unwrap_or_default();
    let mut files = vec![
        ("README.md".to_string(), readme(reports, ctx)),
        ("report.txt".to_string(), combined.render_human()),
        ("report.json".to_string(), combined.to_json()),
        ("environment.txt".to_string(), environment(reports, ctx)),
        (
            "entra-sign-in-logs.md".to_string(),
            sign_in_filter(reports, ctx, &json),
        ),
    ];
    for (i, r) in reports.iter().enumerate() {
        if let Some(t) = &r.transcript {
            let mut text = String::new();
            for e in t {
                let who = match e.direction {
                    Direction::Client => "C:",
                    Direction::Server => "S:",
                    Direction::Note => "--",
                };
                let _ = writeln!(text, "{:>6} ms {who} {}", e.at_ms, show(&e.text));
            }
            files.push((
                format!("transcript-{}-{}.txt", i + 1, r.protocol.name()),
                text,
            ));
        }
    }
    files
}

/// The bundle as `.tar.gz` bytes.
pub fn tar_gz(reports: &[Report], ctx: &Context<'_>) -> Result<Vec<u8>, BundleError> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mtime = u64::try_from(ctx.finished).unwrap_or(0);
    for (name, text) in files(reports, ctx) {
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("xoauth-support/{name}"),
            text.as_bytes(),
        )?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    Ok(gz.finish()?)
}

fn readme(reports: &[Report], ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# xoauth support bundle\n");
    let _ = writeln!(
        out,
        "Made by xoauth {} on {} (UTC), for a run from {} to {}. Secrets (tokens, client \
         secrets, the XOAUTH2 string, keys) are not in it: the transcripts were redacted as \
         they were recorded.\n",
        version::SHORT,
        rfc3339(ctx.finished),
        rfc3339(ctx.started),
        rfc3339(ctx.finished)
    );
    let _ = writeln!(out, "Command: `xoauth {}`\n", command_line(ctx.args));
    let _ = writeln!(
        out,
        "| check | target | outcome | cause |\n|---|---|---|---|"
    );
    for r in reports {
        let cause = r
            .failure
            .as_ref()
            .map(|f| {
                f.explanation
                    .as_ref()
                    .map_or(f.message.clone(), |e| e.cause.clone())
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} as {} on {} | {}:{} | {} | {} |",
            r.protocol.label(),
            r.user,
            r.mailbox,
            r.target.host,
            r.target.port,
            if r.passed() { "pass" } else { "FAIL" },
            cause.replace('|', "\\|")
        );
    }
    let _ = writeln!(
        out,
        "\nFiles: `report.txt` (what xoauth printed, with the transcripts), `report.json` (the \
         same as data; docs/report.schema.json in xoauth's repository describes it), \
         `environment.txt` (version, system, addresses, TLS), `entra-sign-in-logs.md` (how to \
         find this run in the Entra sign-in logs), `transcript-N-PROTOCOL.txt` (each \
         connection, redacted)."
    );
    out
}

fn environment(reports: &[Report], ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "xoauth {}", version::LONG);
    let _ = writeln!(
        out,
        "system: {} {}{}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        os_release().map(|r| format!(" ({r})")).unwrap_or_default()
    );
    let _ = writeln!(out, "command: xoauth {}", command_line(ctx.args));
    let _ = writeln!(
        out,
        "run: {} to {} (UTC)",
        rfc3339(ctx.started),
        rfc3339(ctx.finished)
    );
    for r in reports {
        let _ = writeln!(
            out,
            "\n{}: {}:{} ({:?}), connected to {}",
            r.protocol.label(),
            r.target.host,
            r.target.port,
            r.target.security,
            r.target.address.as_deref().unwrap_or("(no connection)")
        );
        if let Some(tls) = &r.tls {
            let _ = writeln!(
                out,
                "  TLS {} {}, verified: {}, resumed: {}",
                tls.version, tls.cipher_suite, tls.verified, tls.resumed
            );
            if let Some(c) = &tls.certificate {
                let _ = writeln!(
                    out,
                    "  certificate: {} issued by {}, valid {} to {}",
                    c.subject, c.issuer, c.not_before, c.not_after
                );
            }
        }
        if let Some(t) = &r.token {
            let _ = writeln!(out, "  token: {}", t.summary());
        }
    }
    out
}

/// The distribution's name from os-release, where there is one (Linux); elsewhere the OS
/// and architecture above say enough.
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let line = text.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    let name = line["PRETTY_NAME=".len()..].trim_matches('"');
    (!name.is_empty() && name.len() < 200).then(|| show(name))
}

/// The arguments, quoted where needed, with anything that looks like a token (a JWT or a long
/// unbroken string) replaced: xoauth takes secrets only from the environment, files or
/// standard input, but a user may still paste one where a name was expected.
pub fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if looks_secret(a) {
                "<redacted>".to_string()
            } else if a.is_empty() || a.contains([' ', '\'', '"']) {
                format!("'{}'", show(a).replace('\'', "'\\''"))
            } else {
                show(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A token or client secret by the shape the token layer already recognises (a JWT, `~`, a long
/// random run), GUIDs excepted: a client or tenant id is what a support case needs.
fn looks_secret(a: &str) -> bool {
    let guid = a.len() == 36 && a.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    !guid && crate::token::source::looks_like_secret(a)
}

/// A value placed in a filter: ids and addresses have a known shape; anything else is left
/// to be read from report.json rather than pasted into a query.
fn safe(v: &str) -> Option<&str> {
    (!v.is_empty()
        && v.len() <= 256
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c)))
    .then_some(v)
}

/// Every string under a key named `key`, anywhere in the report (the ids of token errors and
/// server replies, wherever the report keeps them).
fn strings_named(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if k == key => {
                        if !out.contains(s) {
                            out.push(s.clone());
                        }
                    }
                    _ => strings_named(v, key, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings_named(v, key, out)),
        _ => {}
    }
}

fn sign_in_filter(reports: &[Report], ctx: &Context<'_>, json: &serde_json::Value) -> String {
    let from = rfc3339(ctx.started - WINDOW_MARGIN_SECS);
    let to = rfc3339(ctx.finished + WINDOW_MARGIN_SECS);
    let claims = reports
        .iter()
        .find_map(|r| r.token.as_ref().and_then(|t| t.claims.as_ref()));
    let app = claims
        .and_then(|c| c.app_id())
        .or(ctx.client_id)
        .and_then(safe);
    let app_only = claims.map_or(ctx.app_only, |c| c.is_app_only());
    let user = claims.and_then(|c| c.user()).and_then(safe);
    let sp = claims
        .filter(|_| app_only)
        .and_then(|c| c.oid.as_deref())
        .and_then(safe);
    let mut correlation = Vec::new();
    strings_named(json, "correlation_id", &mut correlation);
    correlation.retain(|c| safe(c).is_some());

    let mut out = String::new();
    let _ = writeln!(out, "# Finding this run in the Entra sign-in logs\n");
    let _ = writeln!(
        out,
        "The identity platform logs a sign-in when it issues a token, not when a mail server \
         accepts one: a token taken from the cache or given to xoauth was issued before this \
         run, so widen the window back to when it was obtained.\n"
    );
    let _ = writeln!(
        out,
        "Entra admin center → Identity → Monitoring & health → Sign-in logs → {} tab:\n",
        if app_only {
            "Service principal sign-ins"
        } else {
            "User sign-ins (non-interactive too)"
        }
    );
    let _ = writeln!(out, "- Date: custom range {from} to {to} (UTC)");
    if let Some(app) = app {
        let _ = writeln!(out, "- Application ID: {app}");
    }
    if let Some(user) = user.filter(|_| !app_only) {
        let _ = writeln!(out, "- User: {user}");
    }
    if let Some(sp) = sp {
        let _ = writeln!(out, "- Service principal ID: {sp}");
    }
    for c in &correlation {
        let _ = writeln!(out, "- Correlation ID: {c}");
    }
    let table = if app_only {
        "AADServicePrincipalSignInLogs"
    } else {
        "SigninLogs"
    };
    let mut kql =
        format!("{table}\n| where TimeGenerated between (datetime({from}) .. datetime({to}))");
    if let Some(app) = app {
        let _ = write!(kql, "\n| where AppId == \"{app}\"");
    }
    if let Some(user) = user.filter(|_| !app_only) {
        let _ = write!(kql, "\n| where UserPrincipalName =~ \"{user}\"");
    }
    if let Some(sp) = sp {
        let _ = write!(kql, "\n| where ServicePrincipalId == \"{sp}\"");
    }
    if !correlation.is_empty() {
        let list: Vec<String> = correlation.iter().map(|c| format!("\"{c}\"")).collect();
        let _ = write!(kql, "\n| where CorrelationId in ({})", list.join(", "));
    }
    let _ = write!(
        kql,
        "\n| project TimeGenerated, AppId, AppDisplayName, ResultType, ResultDescription, \
         CorrelationId"
    );
    let _ = writeln!(out, "\nLog Analytics (KQL):\n\n```kusto\n{kql}\n```");
    if !app_only {
        let mut filter = format!("createdDateTime ge {from} and createdDateTime le {to}");
        if let Some(app) = app {
            let _ = write!(filter, " and appId eq '{app}'");
        }
        if let Some(user) = user {
            let _ = write!(filter, " and userPrincipalName eq '{user}'");
        }
        let _ = writeln!(
            out,
            "\nMicrosoft Graph (AuditLog.Read.All):\n\n```text\nGET \
             https://graph.microsoft.com/v1.0/auditLogs/signIns?$filter={filter}\n```"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_keeps_names_and_drops_anything_token_shaped() {
        let args: Vec<String> = [
            "imap",
            "--client-id",
            "66666666-7777-8888-9999-000000000000",
            "--host",
            "BL1P221CA0016.namprd00.prod.outlook.example.com",
            "--certificate",
            "/very/long/path/to/a/certificate/file/app-cert-and-key.pem",
            "--user",
            "a.very.long.mailbox.name.for.testing@contoso.example",
            // Pasted where a variable name was expected: a JWT and an Entra-style secret.
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
            "Abc8Q~xyzD3fGhIjKlMnOpQrStUvWxYz0123456789",
            "with space",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            command_line(&args),
            "imap --client-id 66666666-7777-8888-9999-000000000000 --host \
             BL1P221CA0016.namprd00.prod.outlook.example.com --certificate \
             /very/long/path/to/a/certificate/file/app-cert-and-key.pem --user \
             a.very.long.mailbox.name.for.testing@contoso.example <redacted> <redacted> \
             'with space'"
        );
    }
}
