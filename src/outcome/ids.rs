//! The ids a support engineer asks for first: the identity provider's trace and correlation
//! ids, the mail server's own name, this run's id and when each stage began. They live here,
//! below every layer, because the token layer finds some, the protocol replies hold others and
//! the report shows them all.

use serde::Serialize;

use super::Stage;

/// Longest id value kept: Entra's are GUIDs and `YYYY-MM-DD hh:mm:ssZ`; anything longer is
/// not an id and would only carry noise (or worse) into a report meant to be pasted.
const MAX_ID: usize = 64;
/// At most this many error codes are kept from one reply.
const MAX_CODES: usize = 8;

/// The identity provider's ids from a token error reply (Entra's JSON fields `error_codes`,
/// `timestamp`, `trace_id`, `correlation_id`, or the same lines of its `error_description`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderIds {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl ProviderIds {
    pub fn is_empty(&self) -> bool {
        self == &ProviderIds::default()
    }

    /// The ids from a parsed error reply's JSON fields, each checked by [`id_value`]; fields
    /// of the wrong type are ignored, never an error (the failure matters more than its ids).
    pub fn from_json(body: &serde_json::Value) -> Self {
        let text = |name: &str| body.get(name).and_then(|v| v.as_str()).and_then(id_value);
        let error_codes = body
            .get("error_codes")
            .and_then(|v| v.as_array())
            .map(|codes| {
                codes
                    .iter()
                    .filter_map(serde_json::Value::as_u64)
                    .take(MAX_CODES)
                    .collect()
            })
            .unwrap_or_default();
        ProviderIds {
            error_codes,
            trace_id: text("trace_id"),
            correlation_id: text("correlation_id"),
            timestamp: text("timestamp"),
        }
    }

    /// The ids Entra also writes into `error_description` (`Trace ID: …`, `Correlation ID: …`,
    /// `Timestamp: …` lines, and the `AADSTSnnnn:` prefix): the only place they survive in
    /// replies read as plain OAuth errors (the device-code poll, the browser redirect).
    pub fn from_description(description: &str) -> Self {
        let mut ids = ProviderIds::default();
        for line in description.split(['\r', '\n']).take(16) {
            let line = line.trim();
            let field = |prefix: &str| line.strip_prefix(prefix).map(str::trim).and_then(id_value);
            if let Some(v) = field("Trace ID:") {
                ids.trace_id = Some(v);
            } else if let Some(v) = field("Correlation ID:") {
                ids.correlation_id = Some(v);
            } else if let Some(v) = field("Timestamp:") {
                ids.timestamp = Some(v);
            } else if let Some(code) = line
                .strip_prefix("AADSTS")
                .and_then(|rest| rest.split(':').next())
                .and_then(|digits| digits.parse::<u64>().ok())
                && ids.error_codes.is_empty()
            {
                ids.error_codes.push(code);
            }
        }
        ids
    }

    /// `self`, with what it lacks taken from `other`.
    pub fn or(self, other: ProviderIds) -> Self {
        ProviderIds {
            error_codes: if self.error_codes.is_empty() {
                other.error_codes
            } else {
                self.error_codes
            },
            trace_id: self.trace_id.or(other.trace_id),
            correlation_id: self.correlation_id.or(other.correlation_id),
            timestamp: self.timestamp.or(other.timestamp),
        }
    }
}

/// `raw` as an id when it looks like one: short, and only letters, digits and `-:. _TZ`
/// (GUIDs, timestamps, host names). Anything else is dropped rather than escaped, so a hostile
/// reply cannot put text into the block support engineers copy.
pub fn id_value(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_ID
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | ' ' | '_'));
    ok.then(|| raw.to_string())
}

/// When one stage began, in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageStart {
    pub stage: Stage,
    /// RFC 3339 UTC with milliseconds.
    pub started_at: String,
}

/// Every id of one check, always in the JSON report and in the text report on failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ids {
    /// Random, per xoauth run: ties the reports of one run (and its log lines) together.
    pub run_id: String,
    /// The mail server's own name: the bracketed host of an Exchange SMTP reply, or the
    /// decoded name in an Exchange IMAP/POP greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderIds>,
    pub stages: Vec<StageStart>,
}

/// This process's run id, made on first use: every report of one xoauth run carries the same.
pub fn run_id() -> &'static str {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(new_run_id)
}

impl Ids {
    /// The ids of a check: this run's id, the stage start times, and what the failure and
    /// the server's lines told.
    pub fn new(
        stages: Vec<StageStart>,
        provider: Option<&ProviderIds>,
        server_name: Option<String>,
    ) -> Self {
        Ids {
            run_id: run_id().to_string(),
            server_name,
            provider: provider.filter(|p| !p.is_empty()).cloned(),
            stages,
        }
    }
}

/// A new run id: 16 hex characters from the system's random source (unique enough to find one
/// run among a support case's attachments; no secret, so no need for more).
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 8];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        // No random source: the time still tells runs apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        bytes = nanos.to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-11-23T17:57:09.123Z`).
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The wall clock now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_ids_from_json_and_from_the_description() {
        let body = serde_json::json!({
            "error": "invalid_grant",
            "error_description": "AADSTS700082: The refresh token has expired.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-11-23 18:22:00Z",
            "error_codes": [700082],
            "timestamp": "2026-11-23 18:22:00Z",
            "trace_id": "0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b",
            "correlation_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
        });
        let ids = ProviderIds::from_json(&body);
        assert_eq!(ids.error_codes, vec![700082]);
        assert_eq!(
            ids.trace_id.as_deref(),
            Some("0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b")
        );
        let from_text = ProviderIds::from_description(body["error_description"].as_str().unwrap());
        assert_eq!(from_text.error_codes, vec![700082]);
        assert_eq!(from_text.trace_id.as_deref(), Some("t-1"));
        assert_eq!(from_text.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(from_text.timestamp.as_deref(), Some("2026-11-23 18:22:00Z"));
        // The JSON fields win; the description fills gaps.
        let merged = ids.clone().or(from_text);
        assert_eq!(merged, ids);
    }

    #[test]
    fn hostile_ids_are_dropped() {
        let body = serde_json::json!({
            "trace_id": "x".repeat(65),
            "correlation_id": "line\r\nbreak",
            "timestamp": 5,
            "error_codes": "70011"
        });
        assert!(ProviderIds::from_json(&body).is_empty());
        assert!(ProviderIds::from_description("Trace ID: <script>").is_empty());
    }

    #[test]
    fn run_ids_are_16_hex_and_differ() {
        let a = new_run_id();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_run_id());
    }

    #[test]
    fn utc_times_with_milliseconds() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_456_629_123), "2026-11-23T17:57:09.123Z");
    }
}
