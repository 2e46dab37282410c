//! IMAP "modified UTF-7" mailbox names (RFC 3501 §5.1.3), decoded for display.
//!
//! `&` starts a run of UTF-16BE in base64 with `,` for `/`, `-` ends it, and `&-` is a literal
//! `&`. Servers that get this wrong exist, so decoding is strict and the caller keeps the raw
//! name when it fails rather than showing a guess.

use base64::Engine as _;
use base64::alphabet::Alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Utf7Error {
    #[error("byte 0x{0:02x} is not allowed in a modified UTF-7 name")]
    InvalidByte(u8),
    #[error("a '&' run is not terminated by '-'")]
    Unterminated,
    #[error("a '&' run is not valid modified base64")]
    BadBase64,
    #[error("a '&' run does not hold valid UTF-16")]
    BadUtf16,
}

fn engine() -> GeneralPurpose {
    // Modified base64: standard alphabet with ',' in place of '/', no padding.
    let alphabet =
        Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")
            .expect("static alphabet is valid");
    GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    )
}

/// Decodes a mailbox name as received on the wire.
pub fn decode(name: &str) -> Result<String, Utf7Error> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(Utf7Error::InvalidByte(b));
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        let end = rest
            .iter()
            .position(|&c| c == b'-')
            .ok_or(Utf7Error::Unterminated)?;
        if end == 0 {
            out.push('&');
        } else {
            let raw = engine()
                .decode(&rest[..end])
                .map_err(|_| Utf7Error::BadBase64)?;
            if raw.len() % 2 != 0 {
                return Err(Utf7Error::BadUtf16);
            }
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            let text = String::from_utf16(&units).map_err(|_| Utf7Error::BadUtf16)?;
            // RFC 3501: printable ASCII must not be base64-encoded; accept it, but it is rare.
            out.push_str(&text);
        }
        i += end + 2;
    }
    Ok(out)
}

/// Encodes a Unicode name for the wire (for EXAMINE of a folder the user typed).
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&engine().encode(bytes));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3501 §5.1.3's example.
    #[test]
    fn rfc3501_example() {
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(),
            "~peter/mail/台北/日本語"
        );
    }

    #[test]
    fn ampersand_and_latin() {
        assert_eq!(decode("Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(decode("&AMQ-rger &- Co").unwrap(), "Ärger & Co");
        assert_eq!(decode("Sent Items").unwrap(), "Sent Items");
        assert_eq!(decode("").unwrap(), "");
    }

    #[test]
    fn astral_plane_via_surrogates() {
        // U+1F4E7 (e-mail symbol) is the surrogate pair D83D DCE7.
        assert_eq!(decode("&2D3c5w-").unwrap(), "\u{1F4E7}");
    }

    #[test]
    fn encode_round_trips() {
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode("Ärger & Co"), "&AMQ-rger &- Co");
        for name in [
            "Inbox",
            "Entwürfe",
            "\u{1F4E7} mail",
            "a&b",
            "Angebote/2026",
            "",
        ] {
            assert_eq!(decode(&encode(name)).unwrap(), name);
        }
    }

    #[test]
    fn malformed_names_are_errors() {
        assert_eq!(decode("abc&AMQ"), Err(Utf7Error::Unterminated));
        assert_eq!(decode("a&*-"), Err(Utf7Error::BadBase64));
        assert_eq!(decode("&AAAA-"), Err(Utf7Error::BadUtf16));
        assert_eq!(decode("tab\there"), Err(Utf7Error::InvalidByte(b'\t')));
        assert_eq!(decode("ü"), Err(Utf7Error::InvalidByte(0xc3)));
        // A lone high surrogate.
        assert_eq!(decode("&2D0-"), Err(Utf7Error::BadUtf16));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any folder name survives the wire: encode -> decode is the identity.
        #[test]
        fn encode_decode_is_identity(name in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(decode(&encode(&name)), Ok(name));
        }

        /// Whatever decodes re-encodes to a name that decodes to the same text.
        #[test]
        fn decoded_names_re_encode(wire in "[ -~]{0,40}") {
            if let Ok(text) = decode(&wire) {
                proptest::prop_assert_eq!(decode(&encode(&text)), Ok(text));
            }
        }
    }
}
