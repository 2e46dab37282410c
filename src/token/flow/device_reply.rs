//! The device authorization reply (RFC 8628 §3.2), read leniently where providers differ from
//! the spec, as [`reply`](super::reply) does for the token reply: `expires_in` and `interval`
//! may be numbers, strings of digits, zero, negative or missing. oauth2's
//! `StandardDeviceAuthorizationResponse` insists on whole numbers, so a provider that sends
//! `"expires_in":"900"` would make a working sign-in look like a refusal; this reply is
//! rewritten into the shape oauth2 reads before oauth2 sees it.
//!
//! ```text
//! S: {"device_code":"…","user_code":"ABCD-EFGH","verification_uri":"https://…",
//! S:  "expires_in":"900","interval":"0"}
//! ```
//!
//! A missing or non-positive `interval` is RFC 8628's default of 5 s (polling with none would
//! hammer the server); a missing or non-positive `expires_in` is unknown, and the wait is
//! `--login-wait`'s.

use std::sync::OnceLock;
use std::time::Duration;

use oauth2::http::StatusCode;
use oauth2::{AsyncHttpClient as _, HttpClientError, HttpRequest, HttpResponse};

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What the provider said about time, once read leniently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The code's lifetime, when the provider gave a positive one.
    pub lifetime: Option<Duration>,
    /// How long to wait between polls: the provider's when positive, else the default.
    pub interval: Duration,
}

/// A successful reply's body with `expires_in` and `interval` as positive whole numbers
/// (`expires_in` is `fallback` when the provider gave none), and what the provider gave.
/// `None` when the body is not a JSON object: oauth2 then reports it as it is.
pub fn normalize(body: &[u8], fallback: Duration) -> Option<(Vec<u8>, Timing)> {
    let serde_json::Value::Object(mut reply) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let positive = |field: &str| {
        reply
            .get(field)
            .and_then(super::reply::seconds)
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.unsigned_abs()))
    };
    let timing = Timing {
        lifetime: positive("expires_in"),
        interval: positive("interval").unwrap_or(DEFAULT_INTERVAL),
    };
    let lifetime = timing
        .lifetime
        .unwrap_or(fallback)
        .as_secs_f64()
        .ceil()
        .max(1.0) as u64;
    reply.insert("expires_in".into(), lifetime.into());
    reply.insert("interval".into(), timing.interval.as_secs().into());
    let body = serde_json::to_vec(&serde_json::Value::Object(reply)).ok()?;
    Some((body, timing))
}

/// oauth2's HTTP call for the device authorization request, with the successful reply
/// [normalized](normalize) and its [`Timing`] kept in `timing`.
pub async fn call(
    http: &reqwest::Client,
    request: HttpRequest,
    fallback: Duration,
    timing: &OnceLock<Timing>,
) -> Result<HttpResponse, HttpClientError<reqwest::Error>> {
    let mut response = http.call(request).await?;
    if response.status() == StatusCode::OK
        && let Some((body, said)) = normalize(response.body(), fallback)
    {
        *response.body_mut() = body;
        let _ = timing.set(said);
    }
    Ok(response)
}

/// A lifetime as a person reads it: seconds below two minutes ("0 min" says nothing), whole
/// minutes above.
pub fn span(d: Duration) -> String {
    match d.as_secs() {
        1 => "1 second".to_string(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} min", s / 60),
    }
}

/// The line that asks the user to sign in, with how long the code is valid when the provider
/// said, else how long xoauth waits; and the page that carries the code already
/// (`verification_uri_complete`, RFC 8628 §3.3.1) when the provider sent one, for a phone's
/// camera or a click.
pub fn prompt(
    uri: &str,
    code: &str,
    complete: Option<&str>,
    lifetime: Option<Duration>,
    wait: Duration,
) -> String {
    let when = match lifetime {
        Some(l) => format!("it expires in {}", span(l)),
        None => format!(
            "the provider did not say when it expires; xoauth waits {} (--login-wait)",
            span(wait)
        ),
    };
    let line = format!("To sign in, open {uri} and enter the code {code} ({when}).");
    match complete {
        Some(complete) => format!("{line}\nOr open {complete}, which carries the code."),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use oauth2::StandardDeviceAuthorizationResponse;

    use super::*;

    const WAIT: Duration = Duration::from_secs(300);

    /// The reply with `fields` appended, normalized, then read by oauth2's strict type.
    fn read(fields: &str) -> (StandardDeviceAuthorizationResponse, Timing) {
        let body = format!(
            r#"{{"device_code":"DC-SECRET","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device"{fields}}}"#
        );
        let (normalized, timing) =
            normalize(body.as_bytes(), WAIT).unwrap_or_else(|| panic!("{fields}"));
        let details =
            serde_json::from_slice(&normalized).unwrap_or_else(|e| panic!("{fields}: {e}"));
        (details, timing)
    }

    #[test]
    fn oauth2_alone_refuses_what_providers_send() {
        for fields in [r#","expires_in":"900""#, r#","expires_in":-1"#, ""] {
            let body = format!(
                r#"{{"device_code":"d","user_code":"u","verification_uri":"https://i.example/d"{fields}}}"#
            );
            assert!(
                serde_json::from_str::<StandardDeviceAuthorizationResponse>(&body).is_err(),
                "{fields}"
            );
        }
    }

    #[test]
    fn expires_in_in_every_shape_providers_send() {
        for (fields, lifetime) in [
            (r#","expires_in":900"#, Some(900)),
            (r#","expires_in":"900""#, Some(900)),
            (r#","expires_in":" 60 ""#, Some(60)),
            (r#","expires_in":899.5"#, Some(899)),
            (r#","expires_in":0"#, None),
            (r#","expires_in":-5"#, None),
            (r#","expires_in":"-5""#, None),
            (r#","expires_in":null"#, None),
            (r#","expires_in":"soon""#, None),
            ("", None),
        ] {
            let (details, timing) = read(fields);
            let lifetime = lifetime.map(Duration::from_secs);
            assert_eq!(timing.lifetime, lifetime, "{fields}");
            // oauth2 is given the lifetime, or --login-wait's when there is none.
            assert_eq!(details.expires_in(), lifetime.unwrap_or(WAIT), "{fields}");
        }
    }

    #[test]
    fn interval_defaults_to_five_seconds_unless_positive() {
        for (fields, secs) in [
            (r#","interval":7"#, 7),
            (r#","interval":"7""#, 7),
            (r#","interval":0"#, 5),
            (r#","interval":"0""#, 5),
            (r#","interval":-3"#, 5),
            (r#","interval":null"#, 5),
            (r#","interval":"often""#, 5),
            ("", 5),
        ] {
            let (details, timing) = read(&format!(r#","expires_in":900{fields}"#));
            assert_eq!(timing.interval, Duration::from_secs(secs), "{fields}");
            assert_eq!(details.interval(), Duration::from_secs(secs), "{fields}");
        }
    }

    #[test]
    fn the_rest_of_the_reply_is_kept() {
        let (details, _) = read(r#","expires_in":"900","message":"Go to …","extra":{"a":1}"#);
        assert_eq!(details.device_code().secret(), "DC-SECRET");
        assert_eq!(details.user_code().secret(), "ABCD-EFGH");
        assert_eq!(
            details.verification_uri().as_str(),
            "https://idp.example/device"
        );
        // Still required by oauth2, and not made up: the codes and the page.
        let (body, _) = normalize(br#"{"user_code":"u"}"#, WAIT).unwrap();
        assert!(serde_json::from_slice::<StandardDeviceAuthorizationResponse>(&body).is_err());
        assert_eq!(normalize(b"[1,2]", WAIT), None);
        assert_eq!(normalize(b"<html>", WAIT), None);
    }

    #[test]
    fn a_short_lifetime_is_said_in_seconds() {
        assert_eq!(span(Duration::from_secs(1)), "1 second");
        assert_eq!(span(Duration::from_secs(45)), "45 seconds");
        assert_eq!(span(Duration::from_secs(119)), "119 seconds");
        assert_eq!(span(Duration::from_secs(120)), "2 min");
        assert_eq!(span(Duration::from_secs(900)), "15 min");
        assert_eq!(
            prompt(
                "https://d.example",
                "ABCD",
                None,
                Some(Duration::from_secs(45)),
                WAIT
            ),
            "To sign in, open https://d.example and enter the code ABCD (it expires in 45 \
             seconds)."
        );
        assert_eq!(
            prompt("https://d.example", "ABCD", None, None, WAIT),
            "To sign in, open https://d.example and enter the code ABCD (the provider did not \
             say when it expires; xoauth waits 5 min (--login-wait))."
        );
        assert_eq!(
            prompt(
                "https://d.example",
                "ABCD",
                Some("https://d.example?user_code=ABCD"),
                Some(Duration::from_secs(900)),
                WAIT
            ),
            "To sign in, open https://d.example and enter the code ABCD (it expires in 15 \
             min).\nOr open https://d.example?user_code=ABCD, which carries the code."
        );
    }
}
