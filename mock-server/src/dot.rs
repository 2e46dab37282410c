//! Dot-stuffing for multi-line mail data: SMTP DATA (RFC 5321 §4.5.2) and POP3 multi-line
//! replies (RFC 1939 §3). Pure.
//!
//! ```text
//! message line   wire line
//! "Hi"           "Hi"
//! ".sig"         "..sig"
//! (end)          "."
//! ```

/// One line of dot-stuffed data, as read (line end removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataLine<'a> {
    /// The terminating `.`.
    End,
    /// A line of the message, with a leading stuffed dot removed.
    Text(&'a [u8]),
}

/// Undoes the stuffing of one received line (without its CRLF).
pub(crate) fn unstuff_line(line: &[u8]) -> DataLine<'_> {
    match line {
        b"." => DataLine::End,
        [b'.', rest @ ..] => DataLine::Text(rest),
        text => DataLine::Text(text),
    }
}

/// Appends `message` dot-stuffed, with CRLF line ends (bare LF is converted), and the
/// terminating `.` line.
pub(crate) fn stuff(message: &[u8], out: &mut Vec<u8>) {
    let body = message.strip_suffix(b"\n").unwrap_or(message);
    if !message.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuffed(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        stuff(message, &mut out);
        out
    }

    #[test]
    fn unstuffing() {
        assert_eq!(unstuff_line(b"."), DataLine::End);
        assert_eq!(unstuff_line(b".."), DataLine::Text(b"."));
        assert_eq!(unstuff_line(b"..sig"), DataLine::Text(b".sig"));
        assert_eq!(unstuff_line(b".x"), DataLine::Text(b"x"));
        assert_eq!(unstuff_line(b""), DataLine::Text(b""));
        assert_eq!(unstuff_line(b"a.b"), DataLine::Text(b"a.b"));
        assert_eq!(unstuff_line(b" ."), DataLine::Text(b" ."));
    }

    #[test]
    fn stuffing() {
        assert_eq!(stuffed(b"Hi\r\n.sig\r\n"), b"Hi\r\n..sig\r\n.\r\n");
        assert_eq!(stuffed(b"a\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuffed(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(stuffed(b"\r\n"), b"\r\n.\r\n");
        assert_eq!(stuffed(b""), b".\r\n");
    }

    #[test]
    fn round_trip() {
        let message = b"Subject: x\r\n\r\n.\r\n..\r\nend\r\n";
        let wire = stuffed(message);
        let mut back = Vec::new();
        for line in wire
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        {
            match unstuff_line(line) {
                DataLine::End => break,
                DataLine::Text(t) => {
                    back.extend_from_slice(t);
                    back.extend_from_slice(b"\r\n");
                }
            }
        }
        assert_eq!(back, message);
    }
}
