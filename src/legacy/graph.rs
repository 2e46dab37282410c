//! The pure half of reading sign-ins live from Microsoft Graph: the first page's URL (a
//! server-side filter on the legacy client apps of [`LEGACY_APPS`] and a time window) and what
//! each HTTP answer means (a page, wait and retry, no licence, or an error). No I/O: the caller
//! owns the HTTP client, its timeouts and the token; each page's body is read with
//! [`super::Reader`], whose `next_link` gives the next URL.

use super::protocols::LEGACY_APPS;
use super::time;

/// Graph's public endpoint; tests point `base` at a mock instead.
pub const DEFAULT_BASE: &str = "https://graph.microsoft.com";
/// The app-only scope that carries `AuditLog.Read.All` once granted.
pub const SCOPE: &str = "https://graph.microsoft.com/.default";
/// Retries of one page after 429/503/504 before giving up.
pub const MAX_RETRIES: u32 = 5;
/// The longest `Retry-After` honoured; a longer one is an error rather than a hang.
pub const MAX_RETRY_AFTER_SECS: u64 = 120;
/// Graph's error code when the tenant has no Entra ID P1/P2 for sign-in logs.
pub const NO_LICENCE: &str = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";

/// The `$filter`: sign-ins at or after `since` whose `clientAppUsed` is a legacy client app.
pub fn filter(since: i64) -> String {
    let apps: Vec<String> = LEGACY_APPS
        .iter()
        .map(|a| format!("clientAppUsed eq '{}'", a.client_app.replace('\'', "''")))
        .collect();
    format!(
        "createdDateTime ge {} and ({})",
        time::format(since),
        apps.join(" or ")
    )
}

/// RFC 3986 percent-encoding of a query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first page: `{base}/beta/auditLogs/signIns?$filter=…&$top=…`. Beta, because only beta's
/// `signIn` carries `authenticationDetails`, which the ActiveSync certificate rule reads.
pub fn first_url(base: &str, since: i64, top: u32) -> String {
    format!(
        "{}/beta/auditLogs/signIns?$filter={}&$top={top}",
        base.trim_end_matches('/'),
        encode(&filter(since))
    )
}

/// What one HTTP answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: read the body as a page.
    Page,
    /// 429, 503 or 504: wait this many seconds, then ask again.
    Retry(u64),
    /// 403 with [`NO_LICENCE`]: say what to do instead.
    NoLicence,
    /// Anything else: the message to show (Graph's `error.code` and `error.message` when given).
    Error(String),
}

/// Classifies a response from its status, its `Retry-After` header and (for errors) the first
/// bytes of its body. `attempt` counts the retries already made for this page.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8], attempt: u32) -> Answer {
    if status == 200 {
        return Answer::Page;
    }
    if matches!(status, 429 | 503 | 504) {
        if attempt >= MAX_RETRIES {
            return Answer::Error(format!(
                "Graph still throttles (HTTP {status}) after {MAX_RETRIES} retries; try a \
                 shorter --since window or later"
            ));
        }
        // Retry-After in seconds (Graph's form); absent or unreadable: back off exponentially.
        let wait = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1 << attempt.min(5));
        if wait > MAX_RETRY_AFTER_SECS {
            return Answer::Error(format!(
                "Graph asks to wait {wait} s (Retry-After) before the next page; more than the \
                 {MAX_RETRY_AFTER_SECS} s xoauth waits"
            ));
        }
        return Answer::Retry(wait);
    }
    let (code, message) = error_of(body);
    if status == 403 && code == NO_LICENCE {
        return Answer::NoLicence;
    }
    let detail = match (code.is_empty(), message.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(": {code}"),
        (false, false) => format!(": {code}: {message}"),
    };
    let hint = match status {
        401 => {
            " (the token is not for Graph: ask for the scope https://graph.microsoft.com/.default)"
        }
        403 => {
            " (the app needs the AuditLog.Read.All application permission with admin consent, and a role that may read sign-in logs)"
        }
        _ => "",
    };
    Answer::Error(format!("Graph answered HTTP {status}{detail}{hint}"))
}

/// What to tell the admin when the tenant has no licence for sign-in logs in Graph.
pub const NO_LICENCE_ADVICE: &str = "Graph refuses sign-in logs in this tenant \
    (Authentication_RequestFromNonPremiumTenantOrB2CTenant): reading them through Graph needs \
    Microsoft Entra ID P1 or P2. Without it, download the log from the Entra admin center \
    (Sign-in logs > Download, CSV or JSON) and run `xoauth legacy-auth --file` on it.";

/// Graph's `{"error": {"code", "message"}}`, bounded and lenient.
fn error_of(body: &[u8]) -> (String, String) {
    let body = &body[..body.len().min(64 * 1024)];
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| {
        v["error"][k]
            .as_str()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect::<String>()
    };
    (field("code"), field("message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_names_every_legacy_app_and_the_window() {
        let f = filter(1_764_551_123);
        assert!(f.starts_with("createdDateTime ge 2025-12-01T01:05:23Z and ("));
        for app in LEGACY_APPS {
            assert!(
                f.contains(&format!("clientAppUsed eq '{}'", app.client_app)),
                "{f}"
            );
        }
        let url = first_url("http://127.0.0.1:1/", 0, 500);
        assert!(url.starts_with("http://127.0.0.1:1/beta/auditLogs/signIns?$filter=createdDateTime%20ge%201970-01-01T00%3A00%3A00Z%20and%20%28clientAppUsed%20eq%20%27IMAP4%27"), "{url}");
        assert!(url.ends_with("&$top=500"));
        assert!(url.contains("%27Outlook%20Anywhere%20%28RPC%20over%20HTTP%29%27"));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, None, b"", 0), Answer::Page);
        assert_eq!(classify(429, Some("3"), b"", 0), Answer::Retry(3));
        assert_eq!(classify(429, None, b"", 2), Answer::Retry(4));
        assert!(matches!(
            classify(429, Some("3"), b"", MAX_RETRIES),
            Answer::Error(_)
        ));
        assert!(
            matches!(classify(429, Some("100000"), b"", 0), Answer::Error(m) if m.contains("Retry-After"))
        );
        let no_licence = br#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license"}}"#;
        assert_eq!(classify(403, None, no_licence, 0), Answer::NoLicence);
        let denied = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#;
        assert!(
            matches!(classify(403, None, denied, 0), Answer::Error(m) if m.contains("Authorization_RequestDenied") && m.contains("AuditLog.Read.All"))
        );
        assert!(
            matches!(classify(500, None, b"\xff not json", 0), Answer::Error(m) if m == "Graph answered HTTP 500")
        );
    }
}
