//! The timestamps sign-in exports carry, to Unix seconds: ISO 8601 (with or without `Z`, an
//! offset or fractional seconds, as Graph and the Entra JSON/CSV downloads write them) and the
//! month-first `M/D/YYYY h:mm:ss AM` of older portal CSVs. Pure, no clock.

/// Seconds since 1970-01-01T00:00:00Z, or `None` when `text` is none of the known shapes.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.contains('/') { us_date(t) } else { iso(t) }
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn iso(t: &str) -> Option<i64> {
    let (date, rest) = t.split_at_checked(10)?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || date.len() != 10 {
        return None;
    }
    if rest.is_empty() {
        return civil(y, m, day, 0, 0, 0);
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    // The zone: `Z`, `+hh:mm`, `-hh:mm`, `+hhmm`, or none (UTC, as the exports' columns say).
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(at) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(at);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        if z.len() != 4 {
            return None;
        }
        let (hh, mm) = (num(&z[..2])?, num(&z[2..])?);
        if hh > 23 || mm > 59 {
            return None;
        }
        (c, sign * (hh * 3600 + mm * 60))
    } else {
        (rest, 0)
    };
    let clock = clock.split('.').next()?; // fractional seconds are dropped
    let mut c = clock.split(':');
    let (h, mi) = (num(c.next()?)?, num(c.next()?)?);
    let s = match c.next() {
        Some(s) => num(s)?,
        None => 0,
    };
    if c.next().is_some() {
        return None;
    }
    Some(civil(y, m, day, h, mi, s)? - offset)
}

fn us_date(t: &str) -> Option<i64> {
    let mut parts = t.split_whitespace();
    let date = parts.next()?;
    let mut d = date.split('/');
    let (m, day, y) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() {
        return None;
    }
    let (mut h, mut mi, mut s) = (0, 0, 0);
    if let Some(clock) = parts.next() {
        let mut c = clock.split(':');
        h = num(c.next()?)?;
        mi = num(c.next()?)?;
        if let Some(x) = c.next() {
            s = num(x)?;
        }
        match parts.next().map(str::to_ascii_uppercase).as_deref() {
            None => {}
            Some("AM") if (1..=12).contains(&h) => h %= 12,
            Some("PM") if (1..=12).contains(&h) => h = h % 12 + 12,
            Some(_) => return None,
        }
    }
    if parts.next().is_some() {
        return None;
    }
    civil(y, m, day, h, mi, s)
}

/// Days-from-civil (Howard Hinnant's algorithm), with range checks.
fn civil(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    if d < 1 || d > days_in[(m - 1) as usize] {
        return None;
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s)
}

/// `2026-12-01T01:02:03Z` for Unix seconds.
pub fn format(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A look-back window such as `7d`, `24h` or `90m`, in seconds.
pub fn window(text: &str) -> Option<i64> {
    let t = text.trim();
    let (n, unit) = t.split_at_checked(t.len().checked_sub(1)?)?;
    let n = num(n)?;
    let secs = match unit {
        "d" => n.checked_mul(86400)?,
        "h" => n.checked_mul(3600)?,
        "m" => n.checked_mul(60)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_shapes_agree() {
        let want = Some(1_764_551_123); // 2025-12-01T01:05:23Z
        assert_eq!(parse("2025-12-01T01:05:23Z"), want);
        assert_eq!(parse("2025-12-01T01:05:23.1234567Z"), want);
        assert_eq!(parse("2025-12-01T01:05:23"), want);
        assert_eq!(parse("2025-12-01 01:05:23"), want);
        assert_eq!(parse("2025-12-01T02:05:23+01:00"), want);
        assert_eq!(parse("2025-11-30T23:05:23.5-0200"), want);
        assert_eq!(parse("12/1/2025 1:05:23 AM"), want);
        assert_eq!(parse("12/1/2025 1:05:23 PM"), want.map(|s| s + 12 * 3600));
        assert_eq!(format(1_764_551_123), "2025-12-01T01:05:23Z");
    }

    #[test]
    fn nonsense_is_none_not_a_panic() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-02-30",
            "2025-12-01T25:00:00Z",
            "2025-12-01T01:05:23+1",
            "13/45/2025",
            "é2025-12-01",
            "2025-12-01T01:05:23ZZ",
            "9999999999-01-01",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(window("7d"), Some(7 * 86400));
        assert_eq!(window("12h"), Some(12 * 3600));
        for bad in ["", "d", "7", "7w", "0d", "-1d", "99999999999d"] {
            assert_eq!(window(bad), None, "{bad}");
        }
    }
}
