//! IMAP modified UTF-7 (RFC 3501 §5.1.3): how non-ASCII folder names travel on the wire.
//!
//! Printable US-ASCII except `&` stands for itself, `&` is `&-`, and any other run of
//! characters is `&` + modified-base64(UTF-16BE) + `-` (alphabet uses `,` for `/`, no `=`).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a Unicode folder name for the wire.
pub(crate) fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Writes `&<base64>-` for the pending UTF-16 code units, if any.
fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // 1 byte -> 2 chars, 2 bytes -> 3 chars, 3 bytes -> 4 chars; no padding.
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out.push('-');
    units.clear();
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn rfc3501_example() {
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
    }

    #[test]
    fn german_names() {
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("Ärger & Co"), "&AMQ-rger &- Co");
    }

    #[test]
    fn ascii_and_edge_cases() {
        assert_eq!(encode("Sent Items"), "Sent Items");
        assert_eq!(encode(""), "");
        assert_eq!(encode("&"), "&-");
        assert_eq!(encode("日本語"), "&ZeVnLIqe-");
        // Outside the BMP: a surrogate pair.
        assert_eq!(encode("😀"), "&2D3eAA-");
        // Control characters and DEL are encoded, not sent raw.
        assert_eq!(encode("\u{7f}"), "&AH8-");
    }
}
