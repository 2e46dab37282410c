//! Pure parsing of SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034)
//! and of the EHLO keyword list.
//!
//! ```text
//! S: 250-BL1P221CA0016.outlook.office365.com Hello [203.0.113.7]
//! S: 250-SIZE 157286400
//! S: 250 SMTPUTF8
//! S: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. ...
//! ```

use serde::Serialize;

/// One reply line: `code` `-` (more follow) or ` `/end (last) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    pub code: u16,
    pub last: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an SMTP reply line: {0:?}")]
pub struct NotAReply(pub String);

/// Parses one line. The code must be three digits with a first digit 2-5 (RFC 5321 §4.2).
pub fn parse_line(line: &str) -> Result<ReplyLine, NotAReply> {
    let bytes = line.as_bytes();
    let bad = || NotAReply(crate::transport::util::escape(line.as_bytes()));
    if bytes.len() < 3
        || !(b'2'..=b'5').contains(&bytes[0])
        || !bytes[1].is_ascii_digit()
        || !bytes[2].is_ascii_digit()
    {
        return Err(bad());
    }
    let code: u16 = line[..3].parse().map_err(|_| bad())?;
    let (last, text) = match bytes.get(3) {
        None => (true, ""),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(bad()),
    };
    Ok(ReplyLine {
        code,
        last,
        text: text.to_string(),
    })
}

/// `class.subject.detail` from RFC 3463.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enhanced {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl std::fmt::Display for Enhanced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<Enhanced>,
    /// Each line's text, without code and enhanced code.
    pub lines: Vec<String>,
}

impl Reply {
    /// Builds a reply from its lines; every line must carry the same code and only the last
    /// may be final.
    pub fn from_lines(raw: &[String]) -> Result<Reply, NotAReply> {
        let mut parsed = Vec::with_capacity(raw.len());
        for (i, line) in raw.iter().enumerate() {
            let p = parse_line(line)?;
            let should_be_last = i + 1 == raw.len();
            if p.last != should_be_last
                || parsed.first().is_some_and(|f: &ReplyLine| f.code != p.code)
            {
                return Err(NotAReply(crate::transport::util::escape(line.as_bytes())));
            }
            parsed.push(p);
        }
        let first = parsed.first().ok_or_else(|| NotAReply(String::new()))?;
        let code = first.code;
        let enhanced = parse_enhanced(&first.text).filter(|e| u16::from(e.class) == code / 100);
        let lines = parsed
            .into_iter()
            .map(|p| match enhanced {
                Some(_) => strip_enhanced(&p.text).to_string(),
                None => p.text,
            })
            .collect();
        Ok(Reply {
            code,
            enhanced,
            lines,
        })
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// Transient (4yz) failures are worth retrying; permanent (5yz) are not.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The whole reply as one line of text, for matching known server words.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The reply as the server sent it, one string per line.
    pub fn wire(&self) -> Vec<String> {
        let n = self.lines.len();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sep = if i + 1 == n { ' ' } else { '-' };
                match self.enhanced {
                    Some(e) => format!("{}{sep}{e} {l}", self.code),
                    None => format!("{}{sep}{l}", self.code),
                }
            })
            .collect()
    }
}

fn parse_enhanced(text: &str) -> Option<Enhanced> {
    let word = text.split(' ').next()?;
    let mut parts = word.split('.');
    let class: u8 = parts.next()?.parse().ok()?;
    let subject: u16 = parts.next()?.parse().ok()?;
    let detail: u16 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !matches!(class, 2 | 4 | 5) || subject > 999 || detail > 999 {
        return None;
    }
    Some(Enhanced {
        class,
        subject,
        detail,
    })
}

fn strip_enhanced(text: &str) -> &str {
    match text.split_once(' ') {
        Some((first, rest)) if parse_enhanced(first).is_some() => rest,
        _ if parse_enhanced(text).is_some() => "",
        _ => text,
    }
}

/// EHLO keywords (the lines after the first), upper-cased keyword with its parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions(pub Vec<String>);

impl Extensions {
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        Extensions(reply.lines.iter().skip(1).cloned().collect())
    }

    fn keyword(&self, name: &str) -> Option<&str> {
        self.0.iter().find_map(|l| {
            let (k, rest) = l.split_once(' ').unwrap_or((l.as_str(), ""));
            k.eq_ignore_ascii_case(name).then_some(rest)
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.keyword(name).is_some()
    }

    /// The mechanisms of the `AUTH` keyword, upper-cased.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.keyword("AUTH")
            .map(|m| {
                m.split_ascii_whitespace()
                    .map(str::to_ascii_uppercase)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether the server that sent this banner is one known to take an `AUTH` line far past the
/// 512 octets of RFC 5321 §4.5.3.1.4: Exchange (`Microsoft ESMTP MAIL Service`, documented to
/// accept `AUTH XOAUTH2 <response>` on one line, with tokens of 2-4 KiB) and Gmail (`gsmtp`,
/// whose own XOAUTH2 guide sends it so). Others are held to RFC 4954 §4: an initial response
/// that would take the line past the limit is not sent on it (Dovecot 2.3 answers such a line
/// `500 5.5.2 Line too long`; a server that truncates it would report a bad token).
pub fn takes_long_auth_lines(banner: &Reply) -> bool {
    let text = banner.text();
    banner.code == 220
        && (text.contains("Microsoft ESMTP MAIL Service") || text.trim_end().ends_with("gsmtp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn exchange_ehlo_after_tls() {
        let reply = Reply::from_lines(&lines(&[
            "250-BL1P221CA0016.outlook.office365.com Hello [203.0.113.7]",
            "250-SIZE 157286400",
            "250-PIPELINING",
            "250-DSN",
            "250-ENHANCEDSTATUSCODES",
            "250-AUTH LOGIN XOAUTH2",
            "250-8BITMIME",
            "250-BINARYMIME",
            "250-CHUNKING",
            "250 SMTPUTF8",
        ]))
        .unwrap();
        assert_eq!(reply.code, 250);
        let ext = Extensions::from_ehlo(&reply);
        assert_eq!(ext.auth_mechanisms(), vec!["LOGIN", "XOAUTH2"]);
        assert!(ext.has("smtputf8") && !ext.has("STARTTLS"));
    }

    #[test]
    fn gmail_ehlo_and_its_two_line_failure() {
        let ehlo = Reply::from_lines(&lines(&[
            "250-smtp.gmail.com at your service, [203.0.113.7]",
            "250-SIZE 35882577",
            "250-8BITMIME",
            "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
            "250-ENHANCEDSTATUSCODES",
            "250-PIPELINING",
            "250-CHUNKING",
            "250 SMTPUTF8",
        ]))
        .unwrap();
        assert!(
            Extensions::from_ehlo(&ehlo)
                .auth_mechanisms()
                .contains(&"OAUTHBEARER".to_string())
        );
        let fail = Reply::from_lines(&lines(&[
            "535-5.7.8 Username and Password not accepted. Learn more at",
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1b2 - gsmtp",
        ]))
        .unwrap();
        assert_eq!(fail.code, 535);
        assert_eq!(fail.enhanced.unwrap().to_string(), "5.7.8");
        assert!(fail.text().contains("Username and Password not accepted"));
        assert!(!fail.is_transient());
    }

    #[test]
    fn exchange_failures_with_enhanced_codes() {
        let r = Reply::from_lines(&lines(&[
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com 2023-09-12T20:59:57.214Z 08DBB276B7E699C4]",
        ]))
        .unwrap();
        assert_eq!(
            r.enhanced,
            Some(Enhanced {
                class: 5,
                subject: 7,
                detail: 139
            })
        );
        assert!(r.text().starts_with("Authentication unsuccessful"));
        let r = Reply::from_lines(&lines(&[
            "530 5.7.57 Client not authenticated to send mail.",
        ]))
        .unwrap();
        assert_eq!(r.enhanced.unwrap().detail, 57);
        let r = Reply::from_lines(&lines(&[
            "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded",
        ]))
        .unwrap();
        assert!(r.is_transient());
        assert_eq!(
            r.wire(),
            vec!["432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"]
        );
    }

    #[test]
    fn bare_codes_and_challenges() {
        let r = Reply::from_lines(&lines(&["334"])).unwrap();
        assert_eq!((r.code, r.lines[0].as_str()), (334, ""));
        let r = Reply::from_lines(&lines(&["334 eyJzdGF0dXMiOiI0MDAifQ=="])).unwrap();
        assert_eq!(r.enhanced, None, "base64 is not an enhanced code");
        assert_eq!(r.lines[0], "eyJzdGF0dXMiOiI0MDAifQ==");
        // An enhanced code whose class disagrees with the reply code is text.
        let r = Reply::from_lines(&lines(&["250 5.0.0 odd"])).unwrap();
        assert_eq!(r.enhanced, None);
    }

    #[test]
    fn malformed_replies_are_errors() {
        for bad in [
            "",
            "25",
            "abc def",
            "600 nope",
            "250x",
            "2500 x",
            "\u{1b}[2J",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
        assert!(
            Reply::from_lines(&lines(&["250-a", "251 b"])).is_err(),
            "codes differ"
        );
        assert!(
            Reply::from_lines(&lines(&["250 a", "250 b"])).is_err(),
            "early last line"
        );
        assert!(
            Reply::from_lines(&lines(&["250-a"])).is_err(),
            "no last line"
        );
        assert!(Reply::from_lines(&[]).is_err());
    }

    #[test]
    fn banners_that_take_long_auth_lines() {
        let banner = |l: &str| Reply::from_lines(&lines(&[l])).unwrap();
        for yes in [
            "220 BL1P221CA0016.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 4 Nov 2022 10:07:41 +0000",
            "220 BL1P221CA0016.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 4 Nov 2022 10:07:41 +0000 [08DCE8B62813AB2B]",
            "220 smtp.gmail.com ESMTP a1b2c3d4e5 - gsmtp",
        ] {
            assert!(takes_long_auth_lines(&banner(yes)), "{yes}");
        }
        for no in [
            "220 dovecot-interop.localhost Dovecot (Debian) ready.",
            "220 mail.example.com ESMTP Postfix",
            "554 5.7.1 BL1P221CA0016.outlook.office365.com Microsoft ESMTP MAIL Service refuses",
        ] {
            assert!(!takes_long_auth_lines(&banner(no)), "{no}");
        }
    }
}
