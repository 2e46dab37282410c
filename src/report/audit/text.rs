//! Untrusted text made safe for the audit's files: server replies, claims and mailbox names
//! go through [`clean`] (control and invisible characters shown as `\xNN`, as on the terminal;
//! line breaks kept) and then the format's own escaping ([`markup`] for XML and HTML).
//!
//! XML 1.0 forbids most C0 controls even as character references (`&#1;` is a fatal error),
//! and HTML5 reports them as parse errors, so they cannot be escaped, only replaced.

use crate::transport::util::escape_text;

/// Shows every control and formatting character as text (`\x1b`, `\u{202e}`), keeping `\n`
/// so that multi-line fixes stay multi-line; noncharacters (U+FFFE, U+FDD0…) that XML and
/// HTML refuse become U+FFFD.
pub fn clean(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line: String = line
                .chars()
                .map(|c| if is_noncharacter(c) { '\u{fffd}' } else { c })
                .collect();
            escape_text(&line)
        })
        .collect();
    lines.join("\n")
}

/// [`clean`] on one line: a line break shows as `\x0a` (for attributes and status lines).
pub fn clean_line(text: &str) -> String {
    clean(text).replace('\n', "\\x0a")
}

fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xfdd0..=0xfdef).contains(&n) || n & 0xfffe == 0xfffe
}

/// [`clean`], then `& < > " '` as entities: safe in XML and HTML text and quoted attributes.
pub fn markup(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// [`markup`] for an attribute value: a line break as `&#10;`, which XML keeps (a literal one is
/// normalised to a space).
pub fn markup_attr(text: &str) -> String {
    markup(text).replace('\n', "&#10;")
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-11-30T18:36:24Z`).
pub fn rfc3339(unix: u64) -> String {
    crate::transport::util::rfc3339(i64::try_from(unix).unwrap_or(i64::MAX))
}

/// The inverse of [`crate::transport::util::rfc3339`] for the `…Z` form it writes; `None` for
/// anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = text.get(from..to)?;
        s.bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Howard Hinnant's civil-to-days algorithm (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for t in [0, 951_782_400, 1_795_456_629, 4_102_444_799] {
            let s = crate::transport::util::rfc3339(t);
            assert_eq!(parse_rfc3339(&s), Some(t), "{s}");
        }
        assert_eq!(parse_rfc3339("2026-11-30T18:36:24+01:00"), None);
        assert_eq!(parse_rfc3339("2026-13-30T18:36:24Z"), None);
        assert_eq!(parse_rfc3339("2026-1a-30T18:36:24Z"), None);
    }

    #[test]
    fn markup_escapes_entities_and_replaces_what_xml_forbids() {
        assert_eq!(
            markup("a<b & \"c\" 'd'>\u{1b}[2J\u{0}\u{fffe}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;\\x1b[2J\\x00\u{fffd}"
        );
        assert_eq!(clean("line 1\r\nline\t2"), "line 1\nline\\x092");
        assert_eq!(clean_line("a\nb"), "a\\x0ab");
        assert_eq!(markup_attr("a\nb"), "a&#10;b");
        assert_eq!(markup("日本語 ok"), "日本語 ok");
    }
}
