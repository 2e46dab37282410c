//! The mail server's own name as Exchange states it: the bracketed host at the end of an SMTP
//! reply (`535 5.7.3 Authentication unsuccessful [BN8PR04CA0012.namprd04.prod.outlook.com]`),
//! the host of its SMTP banner, and the bracketed base64 block of its IMAP and POP greetings,
//! which is the backend's name in UTF-16LE. Microsoft support asks for it first; everything
//! here is network input, so it is bounded and anything that is not a host name is ignored.

use base64::Engine;

/// Lines longer than this are not looked at (Exchange's are well under 300 bytes).
const MAX_LINE: usize = 2048;
/// Longest bracketed block decoded: a 253-byte host name is 506 bytes of UTF-16, 676 of base64.
const MAX_BLOCK: usize = 700;

/// The server name in one server line, if it states one.
pub fn from_line(line: &str) -> Option<String> {
    if line.len() > MAX_LINE {
        return None;
    }
    bracketed(line).or_else(|| smtp_banner(line))
}

/// The first server name among `lines`.
pub fn first<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<String> {
    lines.into_iter().find_map(from_line)
}

/// The last `[...]` block of the line: its first word as a host name, else as base64 of a
/// UTF-16LE host name.
fn bracketed(line: &str) -> Option<String> {
    let open = line.rfind('[')?;
    let inner = &line[open + 1..];
    let inner = &inner[..inner.find(']')?];
    let word = inner.split_whitespace().next()?;
    host_name(word).or_else(|| utf16_base64(word))
}

/// `220 <host> Microsoft ESMTP MAIL Service ready at …`: Exchange's banner.
fn smtp_banner(line: &str) -> Option<String> {
    let rest = line.strip_prefix("220 ")?;
    let (host, after) = rest.split_once(' ')?;
    after
        .starts_with("Microsoft ESMTP MAIL Service")
        .then(|| host_name(host))
        .flatten()
}

fn utf16_base64(block: &str) -> Option<String> {
    if block.len() > MAX_BLOCK {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(block)
        .ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    host_name(&String::from_utf16(&units).ok()?)
}

/// `s` when it is a DNS host name with at least two labels and a letter somewhere (so the
/// client address Exchange brackets in `Hello [192.0.2.1]` is not taken for the server).
fn host_name(s: &str) -> Option<String> {
    let labels_ok = s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let ok = labels_ok
        && s.len() <= 253
        && s.contains('.')
        && s.chars().any(|c| c.is_ascii_alphabetic());
    ok.then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_names_in_smtp_replies_and_greetings() {
        assert_eq!(
            from_line(
                "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]"
            )
            .as_deref(),
            Some("SN2PR00CA0018.namprd00.prod.outlook.com")
        );
        assert_eq!(
            from_line(
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled \
                 for the Tenant. [MN2PR05CA0004.namprd05.prod.outlook.com \
                 2023-09-12T20:59:57.214Z 08DBB276B7E699C4]"
            )
            .as_deref(),
            Some("MN2PR05CA0004.namprd05.prod.outlook.com")
        );
        assert_eq!(
            from_line(
                "* OK The Microsoft Exchange IMAP4 service is ready. \
                 [TQBOADIAUABSADAANQBDAEEAMAAwADAANQAuAG4AYQBtAHAAcgBkADAANQAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]"
            )
            .as_deref(),
            Some("MN2PR05CA0005.namprd05.prod.outlook.com")
        );
        assert_eq!(
            from_line(
                "220 BL1P221CA0016.outlook.office365.com Microsoft ESMTP MAIL Service ready at \
                 Fri, 4 Nov 2022 10:07:41 +0000 [08DCE8B62813AB2B]"
            )
            .as_deref(),
            Some("BL1P221CA0016.outlook.office365.com")
        );
    }

    #[test]
    fn what_is_no_server_name_is_ignored() {
        for line in [
            "250-BL1P221CA0016.outlook.office365.com Hello [192.0.2.1]",
            "250-mx.example.com Hello [::1]",
            "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] Dovecot ready.",
            "a1 NO [AUTHENTICATIONFAILED] AUTHENTICATE failed.",
            // Not base64; base64 of odd length; UTF-16 with a lone surrogate; not a host.
            "* OK ready. [!!!!]",
            "* OK ready. [QUJD]",
            "* OK ready. [ANg=]",
            "* OK ready. [PABzAGMAcgBpAHAAdAA+AA==]",
            "* OK ready. [",
            "* OK ready. ]x[",
            "",
        ] {
            assert_eq!(from_line(line), None, "{line}");
        }
        let huge = format!("* OK [{}]", "QUFB".repeat(1000));
        assert_eq!(from_line(&huge), None);
    }
}
