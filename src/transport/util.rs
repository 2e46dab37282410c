//! Small helpers shared by the transport and the report: escaping untrusted text for display
//! and formatting times without a date-time dependency.

/// Longest server text kept verbatim in a report; the rest is summarised with its length.
pub const MAX_SNIPPET: usize = 2000;

/// Makes untrusted bytes safe to print: control characters become `\xNN`, and overlong text is
/// cut with a note, so a server cannot move the cursor or flood the terminal.
pub fn escape(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len().min(MAX_SNIPPET) + 16);
    for (count, c) in text.chars().enumerate() {
        if count >= MAX_SNIPPET {
            out.push_str(&format!("… ({} bytes in all)", bytes.len()));
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// [`escape`] without the length cut, for text that is already bounded (token claims, folder
/// names, report lines): escaping it twice gives the same text, so a renderer may apply it to
/// anything it prints without knowing what was escaped before.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// The one rule for both: C0, DEL and C1 controls as `\xNN`, and the bidirectional and
/// invisible formatting characters (which reorder or hide what follows them, e.g. U+202E) as
/// `\u{NNNN}`.
fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.push_str(&format!("\\x{:02x}", c as u32));
    } else if is_format_control(c) {
        out.push_str(&format!("\\u{{{:04x}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// Unicode format characters (category Cf) that change how a terminal shows the text around
/// them: bidi embeddings, overrides and isolates, directional marks, zero-width characters,
/// the line and paragraph separators, and the BOM.
fn is_format_control(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// `host:port` as an admin would type it back: an IPv6 address in brackets (`[::1]:993`), so
/// the port cannot be read as part of the address.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Seconds since the Unix epoch as RFC 3339 UTC (`2026-11-23T17:57:09Z`).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape(b"OK\x1b[2Jhi\x07"), "OK\\x1b[2Jhi\\x07");
        assert_eq!(escape("Entwürfe".as_bytes()), "Entwürfe");
        assert_eq!(escape("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        let long = vec![b'a'; MAX_SNIPPET + 10];
        assert!(escape(&long).ends_with(&format!("({} bytes in all)", MAX_SNIPPET + 10)));
    }

    #[test]
    fn escape_text_covers_every_terminal_control_and_is_idempotent() {
        let nasty = "a\x1b[31mb\nc\rd\te\x07f\x7fg\u{85}h\u{9b}i\u{202e}j\u{2066}k\u{200b}l";
        let once = escape_text(nasty);
        assert_eq!(
            once,
            "a\\x1b[31mb\\x0ac\\x0dd\\x09e\\x07f\\x7fg\\x85h\\x9bi\\u{202e}j\\u{2066}k\\u{200b}l"
        );
        assert!(!once.chars().any(|c| c.is_control() || is_format_control(c)));
        assert_eq!(escape_text(&once), once);
        assert_eq!(escape_text("Entwürfe عربي 日本"), "Entwürfe عربي 日本");
    }

    #[test]
    fn brackets_ipv6_before_a_port() {
        assert_eq!(host_port("::1", 993), "[::1]:993");
        assert_eq!(host_port("127.0.0.1", 993), "127.0.0.1:993");
        assert_eq!(host_port("mail.example", 587), "mail.example:587");
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_456_629), "2026-11-23T17:57:09Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
