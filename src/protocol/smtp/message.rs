//! The test message: a correct RFC 5322 message (Date, Message-ID, From, To, a Subject carrying
//! the run id, MIME text/plain UTF-8) built by mail-builder, and its SMTP DATA encoding
//! (RFC 5321 §4.5.2 dot-stuffing, CRLF line ends, the `.` terminator).

use crate::plan::SendPlan;

pub struct TestMessage {
    pub subject: String,
    /// The message as submitted (before dot-stuffing).
    pub bytes: Vec<u8>,
}

/// Builds the message for `send`, dated `now` (seconds since the epoch).
pub fn build(send: &SendPlan, now: i64) -> std::io::Result<TestMessage> {
    let subject = format!("xoauth test message {}", send.run_id);
    let body = format!(
        "This message was sent by xoauth {} to check that OAuth SMTP submission works.\r\n\
         Run id: {}\r\n\
         It changes nothing and can be deleted.\r\n",
        env!("CARGO_PKG_VERSION"),
        send.run_id
    );
    let id = send
        .message_id
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    let bytes = mail_builder::MessageBuilder::new()
        .from(send.from.as_str())
        .to(send
            .to
            .iter()
            .map(|a| mail_builder::headers::address::Address::new_address(None::<&str>, a.as_str()))
            .collect::<Vec<_>>())
        .subject(subject.as_str())
        .message_id(id)
        .date(now)
        .text_body(body)
        .write_to_vec()?;
    Ok(TestMessage { subject, bytes })
}

/// DATA encoding: CRLF line ends, a `.` doubled at the start of any line, `CRLF.CRLF` at the end.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> SendPlan {
        SendPlan::new(
            "alice@contoso.example".into(),
            vec!["bob@contoso.example".into(), "carol@contoso.example".into()],
            "0123456789ab".into(),
        )
    }

    #[test]
    fn message_has_the_headers_a_server_and_a_search_need() {
        let m = build(&plan(), 1_795_456_629).unwrap();
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(
            headers.contains("Message-ID: <xoauth.0123456789ab@contoso.example>"),
            "{headers}"
        );
        assert!(
            headers.contains("From: <alice@contoso.example>"),
            "{headers}"
        );
        assert!(
            headers.contains("bob@contoso.example") && headers.contains("carol@contoso.example")
        );
        assert!(headers.contains("Subject: xoauth test message 0123456789ab"));
        assert!(
            headers.contains("Date: Mon, 23 Nov 2026 17:57:09 +0000"),
            "{headers}"
        );
        assert!(headers.contains("MIME-Version: 1.0"));
        assert!(headers.to_ascii_lowercase().contains("text/plain"));
        assert!(text.contains("Run id: 0123456789ab"));
        assert!(
            !text.contains('\n') || !text.replace("\r\n", "").contains('\n'),
            "CRLF only"
        );
        assert_eq!(m.subject, "xoauth test message 0123456789ab");
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            dot_stuff(b"a\r\n.b\r\n..c\r\n"),
            b"a\r\n..b\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b".start"), b"..start\r\n.\r\n");
        assert_eq!(dot_stuff(b"lf\n.only\n"), b"lf\r\n..only\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b"\r\n.\r\n");
        assert_eq!(dot_stuff(b"x.y\r\n"), b"x.y\r\n.\r\n");
    }
}
