//! Pure parsing of the IMAP lines the driver reads itself, before async-imap takes over:
//! greeting, `* CAPABILITY`, and tagged status lines (RFC 3501 §7.1, §7.2.1; RFC 9051).
//!
//! ```text
//! S: * OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIA...]
//! C: a1 CAPABILITY
//! S: * CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR ...
//! S: a1 OK CAPABILITY completed.
//! ```

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl Status {
    /// The word on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// `tag SP status SP [code] text`, with `tag` `None` for untagged (`*`) lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub tag: Option<String>,
    pub status: Status,
    /// The response code without brackets, e.g. `CAPABILITY IMAP4rev1 ...`, `AUTHENTICATIONFAILED`.
    pub code: Option<String>,
    pub text: String,
}

/// Parses a status response; `None` for any other line (data, continuation, garbage).
pub fn parse_status(line: &str) -> Option<StatusLine> {
    let (tag, rest) = line.split_once(' ')?;
    if tag.is_empty() || tag == "+" {
        return None;
    }
    let (word, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match word.to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        "BAD" => Status::Bad,
        "PREAUTH" => Status::PreAuth,
        "BYE" => Status::Bye,
        _ => return None,
    };
    let (code, text) = match text.strip_prefix('[').and_then(|t| t.split_once(']')) {
        Some((code, rest)) => (Some(code.to_string()), rest.trim_start().to_string()),
        None => (None, text.to_string()),
    };
    Some(StatusLine {
        tag: (tag != "*").then(|| tag.to_string()),
        status,
        code,
        text,
    })
}

/// The capability list of a session, matched case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Capabilities(pub Vec<String>);

impl Capabilities {
    fn from_words(words: &str) -> Self {
        Capabilities(words.split_ascii_whitespace().map(str::to_string).collect())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether `AUTH=<mechanism>` is advertised.
    pub fn has_auth(&self, mechanism: &str) -> bool {
        self.has(&format!("AUTH={mechanism}"))
    }

    /// The SASL mechanisms advertised, upper-cased.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|c| {
                let (k, v) = c.split_once('=')?;
                k.eq_ignore_ascii_case("AUTH")
                    .then(|| v.to_ascii_uppercase())
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `* CAPABILITY ...` → the list; `None` for other lines.
pub fn parse_capability(line: &str) -> Option<Capabilities> {
    let rest = line.strip_prefix("* ")?;
    let (word, caps) = rest.split_once(' ').unwrap_or((rest, ""));
    word.eq_ignore_ascii_case("CAPABILITY")
        .then(|| Capabilities::from_words(caps))
}

/// A `[CAPABILITY ...]` response code (Dovecot puts one in its greeting and its AUTHENTICATE OK).
pub fn capabilities_from_code(code: &str) -> Option<Capabilities> {
    let (word, caps) = code.split_once(' ')?;
    word.eq_ignore_ascii_case("CAPABILITY")
        .then(|| Capabilities::from_words(caps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_greeting() {
        let s = parse_status(
            "* OK The Microsoft Exchange IMAP4 service is ready. [RgBSADMAUAAyADgAMQBDAEEAMAAxADUANwAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]",
        )
        .unwrap();
        assert_eq!(s.tag, None);
        assert_eq!(s.status, Status::Ok);
        // The backend name comes at the end, so it is text, not a response code.
        assert_eq!(s.code, None);
    }

    #[test]
    fn dovecot_greeting_with_capability_code() {
        let s = parse_status(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=XOAUTH2 AUTH=OAUTHBEARER] Dovecot ready.",
        )
        .unwrap();
        let caps = capabilities_from_code(s.code.as_deref().unwrap()).unwrap();
        assert!(caps.has("sasl-ir"));
        assert_eq!(caps.auth_mechanisms(), vec!["XOAUTH2", "OAUTHBEARER"]);
        assert_eq!(s.text, "Dovecot ready.");
    }

    #[test]
    fn exchange_capabilities() {
        let caps = parse_capability(
            "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
        )
        .unwrap();
        assert!(caps.has_auth("XOAUTH2") && caps.has_auth("xoauth2"));
        assert!(!caps.has_auth("OAUTHBEARER"));
        assert!(caps.has("SASL-IR") && !caps.has("STARTTLS"));
        assert_eq!(caps.auth_mechanisms(), vec!["PLAIN", "XOAUTH2"]);
        assert!(parse_capability("* OK hello").is_none());
        assert!(parse_capability("a1 CAPABILITY").is_none());
    }

    #[test]
    fn tagged_failures() {
        let s = parse_status("A01 NO AUTHENTICATE failed.").unwrap();
        assert_eq!(
            (s.tag.as_deref(), s.status, s.text.as_str()),
            (Some("A01"), Status::No, "AUTHENTICATE failed.")
        );
        let s = parse_status("a3 BAD User is authenticated but not connected.").unwrap();
        assert_eq!(s.status, Status::Bad);
        let s = parse_status("a1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)").unwrap();
        assert_eq!(s.code.as_deref(), Some("AUTHENTICATIONFAILED"));
        assert_eq!(s.text, "Invalid credentials (Failure)");
        let s = parse_status("* BYE Connection closed. 14").unwrap();
        assert_eq!(s.status, Status::Bye);
    }

    #[test]
    fn other_lines_are_not_status() {
        for line in [
            "",
            "+",
            "+ eyJ9",
            "* LIST () \"/\" Inbox",
            "garbage",
            "a1",
            "* 3 EXISTS",
        ] {
            assert!(parse_status(line).is_none(), "{line}");
        }
    }
}
