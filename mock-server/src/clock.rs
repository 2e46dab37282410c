//! Wall-clock time for the identity platform and the token checks: Unix seconds and
//! milliseconds, the `YYYY-MM-DD` dates of secret expiry in the config, and the
//! `YYYY-MM-DD hh:mm:ssZ` timestamps of Microsoft's error bodies (and the other date forms
//! inside AADSTS texts).

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, Month, OffsetDateTime};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> i64 {
    now_ms() / 1000
}

/// `2026-11-23` → Unix seconds of that day's midnight UTC.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Unix seconds → `2026-11-23 18:22:00Z`, as in `timestamp` of an AADSTS error.
pub(crate) fn aad_timestamp(unix_secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Unix seconds → `2026-11-23T18:22:00.0000000Z`, as Entra prints dates inside AADSTS texts.
pub(crate) fn iso_timestamp(unix_secs: i64) -> String {
    let aad = aad_timestamp(unix_secs);
    format!(
        "{}.0000000Z",
        aad.trim_end_matches('Z').replacen(' ', "T", 1)
    )
}

/// Unix seconds → `11/23/2026 18:22:00`, as Entra prints key validity in AADSTS50013.
pub(crate) fn us_datetime(unix_secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_date("1970-01-02"), Some(86_400));
        assert_eq!(parse_date("2020-01-01"), Some(1_577_836_800));
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("2020-1-01"), None);
        assert_eq!(parse_date("2020-02-30"), None);
        assert_eq!(parse_date("tomorrow"), None);
        assert_eq!(aad_timestamp(1_795_458_120), "2026-11-23 18:22:00Z");
        assert_eq!(us_datetime(1_795_458_120), "11/23/2026 18:22:00");
        assert_eq!(iso_timestamp(1_795_458_120), "2026-11-23T18:22:00.0000000Z");
        assert!(now_secs() > 1_700_000_000);
    }
}
