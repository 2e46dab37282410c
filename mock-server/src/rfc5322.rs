//! Just enough RFC 5322 for a mail store: header lookup (unfolding, case-insensitive
//! names), the address in a `From:`, the `Message-ID`, the date-time format, and the small
//! synthetic messages folders start with. Pure; bytes that are not UTF-8 are read lossily.
//!
//! ```text
//! From: "Alice" <alice@contoso.example>      → alice@contoso.example
//! Message-ID:\r\n <x@y>                       → <x@y>   (folded)
//! 1667556461                                  → Fri, 4 Nov 2022 10:07:41 +0000
//! ```

use time::OffsetDateTime;

/// The header fields before the first empty line, in order, folded lines joined (CRLF
/// plus whitespace becomes the whitespace). Names keep their case; values are not trimmed
/// except for the line ends. A line without `:` is skipped.
pub(crate) fn headers(raw: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in raw[..header_len(raw)].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(&text);
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            fields.push((name.trim_end().to_owned(), value.to_owned()));
        }
    }
    fields
}

/// The values of every `name:` field (case-insensitive name), unfolded.
pub(crate) fn header_values(raw: &[u8], name: &str) -> Vec<String> {
    headers(raw)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// Length of the header section including the empty line that ends it (the whole message
/// when there is no body).
pub(crate) fn header_len(raw: &[u8]) -> usize {
    let mut start = 0;
    while start < raw.len() {
        let end = raw[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| start + i + 1);
        let line = &raw[start..end];
        if line == b"\r\n" || line == b"\n" {
            return end;
        }
        start = end;
    }
    raw.len()
}

/// The first `Message-ID`, as `<id>` (angle brackets included, surrounding text dropped).
pub(crate) fn message_id(raw: &[u8]) -> Option<String> {
    let value = header_values(raw, "Message-ID").into_iter().next()?;
    let value = value.trim();
    let id = match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => &value[open..=close],
        _ => value,
    };
    (!id.is_empty() && id.len() <= 998).then(|| id.to_owned())
}

/// The address of the first mailbox in the first `From:` field.
pub(crate) fn from_address(raw: &[u8]) -> Option<String> {
    address_of(&header_values(raw, "From").into_iter().next()?)
}

/// `Name <a@b>` → `a@b`; `a@b (comment)` → `a@b`; `a@b, c@d` → `a@b`. Angle brackets
/// inside quoted display names and comments are ignored.
pub(crate) fn address_of(value: &str) -> Option<String> {
    let mut plain = String::new(); // the text outside quotes and comments
    let (mut quoted, mut escaped, mut depth) = (false, false, 0usize);
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            '<' if !quoted && depth == 0 => {
                let inside: String = chars.by_ref().take_while(|&c| c != '>').collect();
                let inside = inside.trim();
                return (!inside.is_empty()).then(|| inside.to_owned());
            }
            ',' if !quoted && depth == 0 => break,
            c if !quoted && depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim();
    (plain.contains('@') && !plain.contains(char::is_whitespace)).then(|| plain.to_owned())
}

/// RFC 5322 §3.3 date-time in UTC, e.g. `Fri, 4 Nov 2022 10:07:41 +0000`.
pub(crate) fn date(unix_secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let weekday = &format!("{}", t.weekday())[..3];
    let month = &format!("{}", t.month())[..3];
    format!(
        "{weekday}, {} {month} {} {:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Synthetic message number `n` (1-based) of `folder` in `mailbox`, with Message-ID
/// `<seed-<n>-<slug>@mock.<mailbox domain>>`. One body line starts with a dot so POP3
/// clients see dot-stuffing.
pub(crate) fn seed_message(mailbox: &str, folder: &str, slug: &str, n: u32) -> Vec<u8> {
    let domain = mailbox.rsplit_once('@').map_or("example", |(_, d)| d);
    let date = date(1_667_556_461 + i64::from(n) * 60);
    format!(
        "From: Contoso Mock <noreply@mock.{domain}>\r\n\
         To: <{mailbox}>\r\n\
         Subject: Seed message {n} ({slug})\r\n\
         Date: {date}\r\n\
         Message-ID: <seed-{n}-{slug}@mock.{domain}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Synthetic message {n} in folder \"{folder}\" of {mailbox}.\r\n\
         .This line starts with a dot.\r\n"
    )
    .into_bytes()
}

/// A folder name as a Message-ID-safe word: ASCII letters and digits lowercased, anything
/// else `-`.
pub(crate) fn slug(folder: &str) -> String {
    folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: \"Sales, Team <x>\" <Sales@Contoso.Example>\r\n\
        Subject: hi\r\n\
        message-id:\r\n\t<abc.123@mock.contoso.example>\r\n\
        X-Long: one\r\n two\r\n\
        \r\n\
        Message-ID: <not-a-header@x>\r\n";

    #[test]
    fn headers_unfold_and_stop_at_the_body() {
        assert_eq!(
            header_values(MSG, "MESSAGE-ID"),
            ["\t<abc.123@mock.contoso.example>"]
        );
        assert_eq!(header_values(MSG, "x-long"), [" one two"]);
        assert_eq!(
            message_id(MSG).as_deref(),
            Some("<abc.123@mock.contoso.example>")
        );
        assert_eq!(from_address(MSG).as_deref(), Some("Sales@Contoso.Example"));
        assert_eq!(&MSG[header_len(MSG)..], b"Message-ID: <not-a-header@x>\r\n");
        assert_eq!(header_len(b"A: b\r\n"), 6);
        assert_eq!(header_len(b"A: b\n\nbody"), 6);
        assert_eq!(message_id(b"Subject: x\r\n\r\n"), None);
        assert!(headers(b"\xff\xfe: \x00\r\n no colon\r\n").len() == 1);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address_of(" alice@contoso.example").as_deref(),
            Some("alice@contoso.example")
        );
        assert_eq!(address_of("Alice <a@b>, Bob <c@d>").as_deref(), Some("a@b"));
        assert_eq!(address_of("a@b (Alice <x@y>)").as_deref(), Some("a@b"));
        assert_eq!(address_of("a@b, c@d").as_deref(), Some("a@b"));
        assert_eq!(address_of("\"q\\\"<\" <a@b>").as_deref(), Some("a@b"));
        assert_eq!(address_of("undisclosed-recipients:;"), None);
        assert_eq!(address_of("<>"), None);
        assert_eq!(address_of(""), None);
    }

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(date(1_667_556_461), "Fri, 4 Nov 2022 10:07:41 +0000");
        assert_eq!(date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(date(i64::MAX), "Thu, 1 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn seed_messages_parse_back() {
        let raw = seed_message(
            "alice@contoso.example",
            "Sent Items",
            &slug("Sent Items"),
            2,
        );
        assert_eq!(
            message_id(&raw).as_deref(),
            Some("<seed-2-sent-items@mock.contoso.example>")
        );
        assert_eq!(
            from_address(&raw).as_deref(),
            Some("noreply@mock.contoso.example")
        );
        assert_eq!(slug("Ärger & Co"), "-rger---co");
    }
}
