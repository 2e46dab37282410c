//! `xoauth legacy-auth --html FILE`: the legacy-auth summary as one self-contained page in the
//! bulk audit's style (its stylesheet, no scripts, prints as shown). Built from the summary's
//! JSON, the same document `--json` prints, so both always say the same; every name from the
//! log goes through [`markup`].

use std::fmt::Write as _;

use serde_json::Value;

use super::audit::html::STYLE;
use super::audit::text::markup;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => markup(s),
        Value::Null => "—".into(),
        other => markup(&other.to_string()),
    }
}

/// The `top` names of a tally as "name (n)", with how many others.
fn names(tally: &Value) -> String {
    let top = tally["top"].as_array().cloned().unwrap_or_default();
    let mut out: Vec<String> = top
        .iter()
        .map(|t| format!("{} ({})", text(&t["name"]), t["sign_ins"]))
        .collect();
    let distinct = tally["distinct"].as_u64().unwrap_or(0);
    if distinct > top.len() as u64 {
        out.push(format!("and {} more", distinct - top.len() as u64));
    }
    out.join(", ")
}

/// The page for a summary (`Summary::to_json`).
pub fn render(summary: &Value) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>xoauth legacy-auth report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>Legacy (Basic) authentication sign-ins</h1>\n"
    );
    let legacy = summary["legacy_sign_ins"].as_u64().unwrap_or(0);
    let (class, verdict) = if legacy == 0 {
        ("pass", "no legacy sign-ins")
    } else {
        ("fail", "legacy sign-ins found")
    };
    let _ = writeln!(
        out,
        "<p><span class=\"verdict {class}\">{verdict}: {legacy}</span></p>\n<dl>\
         <dt>source</dt><dd>{}</dd><dt>format</dt><dd>{}</dd><dt>since</dt><dd>{}</dd>\
         <dt>records read</dt><dd>{}</dd><dt>modern (not counted)</dt><dd>{}</dd>\
         <dt>certificate-based ActiveSync (left out)</dt><dd>{}</dd></dl>",
        text(&summary["source"]),
        text(&summary["format"]),
        text(&summary["since"]),
        text(&summary["records"]),
        text(&summary["modern"]),
        text(&summary["excluded_certificate_activesync"]),
    );
    let _ = writeln!(
        out,
        "<table class=\"grid\">\n<caption>Per client app: a succeeded sign-in still works and \
         breaks when Basic is switched off; a failed one is already blocked or a wrong \
         password.</caption>\n<thead><tr><th scope=\"col\">client app</th><th scope=\"col\">\
         sign-ins</th><th scope=\"col\">succeeded</th><th scope=\"col\">failed</th><th \
         scope=\"col\">users</th><th scope=\"col\">apps</th><th scope=\"col\">IPs</th><th \
         scope=\"col\">last seen</th></tr></thead>\n<tbody>"
    );
    let protocols = summary["legacy_protocols"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for p in &protocols {
        let succeeded = p["succeeded"].as_u64().unwrap_or(0);
        let cell = if succeeded > 0 { "fail" } else { "pass" };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"{cell}\">{succeeded}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&p["client_app"]),
            p["sign_ins"],
            p["failed"],
            p["users"]["distinct"],
            p["apps"]["distinct"],
            p["ips"]["distinct"],
            text(&p["last_seen"]),
        );
    }
    let _ = writeln!(out, "</tbody>\n</table>");
    for p in protocols
        .iter()
        .filter(|p| p["sign_ins"].as_u64().unwrap_or(0) > 0)
    {
        let _ = writeln!(
            out,
            "<section class=\"failure\">\n<h2>{}</h2>\n<dl><dt>still working with Basic</dt>\
             <dd>{}</dd><dt>users</dt><dd>{}</dd><dt>apps</dt><dd>{}</dd><dt>IPs</dt><dd>{}</dd>\
             </dl>\n<p>Next step:</p>\n<pre>{}</pre>\n</section>",
            text(&p["client_app"]),
            names(&p["users_succeeded"]),
            names(&p["users"]),
            names(&p["apps"]),
            names(&p["ips"]),
            text(&p["next_step"]),
        );
    }
    let shown = summary["warnings"]["shown"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !shown.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Rows not used ({})</h2>\n<ul>",
            summary["warnings"]["count"]
        );
        for w in &shown {
            let _ = writeln!(out, "<li>line {}: {}</li>", w["line"], text(&w["message"]));
        }
        let _ = writeln!(out, "</ul>");
    }
    out.push_str("</body>\n</html>\n");
    out
}
