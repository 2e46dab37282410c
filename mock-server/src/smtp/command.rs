//! SMTP command lines → typed commands (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH,
//! RFC 3030 BDAT). Pure; verbs and the `FROM:`/`TO:` keywords are case-insensitive, and
//! the parser is lenient where clients commonly are (`MAIL FROM: <a@b>`, a bare address).
//!
//! ```text
//! "MAIL FROM:<alice@contoso.example> SIZE=120"  → Mail { from: "alice@contoso.example", size: Some(120) }
//! "RCPT TO:<bob@contoso.example>"               → Rcpt { to: "bob@contoso.example" }
//! "AUTH XOAUTH2 dXNlcj0…"                       → Auth { "XOAUTH2", Some("dXNlcj0…") }
//! "BDAT 512 LAST"                               → Bdat { size: 512, last: true }
//! ```

/// One SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    Ehlo,
    Helo,
    StartTls,
    /// `AUTH <mechanism> [initial-response]`; the mechanism is upper-cased.
    Auth {
        mechanism: String,
        initial_response: Option<&'a [u8]>,
    },
    /// `MAIL FROM:<path> [params]`; `from` is empty for the null path `<>`.
    Mail {
        from: String,
        size: Option<u64>,
    },
    /// `RCPT TO:<path> [params]`.
    Rcpt {
        to: String,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
}

impl Command<'_> {
    /// The name for the command log, e.g. `MAIL` or `AUTH XOAUTH2` (never arguments).
    pub fn log_name(&self) -> String {
        let verb = match self {
            Command::Ehlo => "EHLO",
            Command::Helo => "HELO",
            Command::StartTls => "STARTTLS",
            Command::Auth { mechanism, .. } => {
                let name = match mechanism.as_str() {
                    m @ ("XOAUTH2" | "OAUTHBEARER" | "PLAIN" | "LOGIN") => m,
                    _ => "OTHER",
                };
                return format!("AUTH {name}");
            }
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        };
        verb.to_owned()
    }
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not an SMTP verb the mock knows; the verb (upper-cased) if it is a plausible word.
    Unknown(Option<String>),
    /// A known verb with missing, extra or malformed arguments.
    Arguments(&'static str),
}

/// Longest address accepted (RFC 5321 §4.5.3.1.3 path limit).
const MAX_PATH: usize = 256;

/// Parses one command line (line end removed).
pub(crate) fn parse(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let (verb, rest) = crate::lines::split_verb(line);
    let Some(verb) = crate::lines::loggable_verb(verb) else {
        return Err(ParseError::Unknown(None));
    };
    let rest_trimmed = rest.trim_ascii();
    let bad = |name: &'static str| Err(ParseError::Arguments(name));
    match verb.as_str() {
        "EHLO" | "HELO" => {
            let name = if verb == "EHLO" { "EHLO" } else { "HELO" };
            if rest_trimmed.is_empty() || rest_trimmed.iter().any(|b| b.is_ascii_control()) {
                return bad(name);
            }
            Ok(if name == "EHLO" {
                Command::Ehlo
            } else {
                Command::Helo
            })
        }
        "STARTTLS" if rest_trimmed.is_empty() => Ok(Command::StartTls),
        "DATA" if rest_trimmed.is_empty() => Ok(Command::Data),
        "RSET" if rest_trimmed.is_empty() => Ok(Command::Rset),
        // RFC 5321: NOOP may carry a string, which is ignored.
        "NOOP" => Ok(Command::Noop),
        "QUIT" if rest_trimmed.is_empty() => Ok(Command::Quit),
        "STARTTLS" => bad("STARTTLS"),
        "DATA" => bad("DATA"),
        "RSET" => bad("RSET"),
        "QUIT" => bad("QUIT"),
        "AUTH" => {
            let args: Vec<&[u8]> = rest_trimmed.split(|&b| b == b' ').collect();
            match args.as_slice() {
                [mechanism] | [mechanism, _] if !mechanism.is_empty() => Ok(Command::Auth {
                    mechanism: String::from_utf8_lossy(mechanism).to_ascii_uppercase(),
                    initial_response: args.get(1).copied().filter(|ir| !ir.is_empty()),
                }),
                _ => bad("AUTH"),
            }
        }
        "MAIL" => {
            let (path, params) =
                path_and_params(rest, b"FROM:").ok_or(ParseError::Arguments("MAIL"))?;
            if !path.is_empty() && !is_address(&path) {
                return bad("MAIL");
            }
            let mut size = None;
            for param in params.split(' ').filter(|p| !p.is_empty()) {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                if key.eq_ignore_ascii_case("SIZE") {
                    size = Some(value.parse().map_err(|_| ParseError::Arguments("MAIL"))?);
                }
            }
            Ok(Command::Mail { from: path, size })
        }
        "RCPT" => {
            let (path, _params) =
                path_and_params(rest, b"TO:").ok_or(ParseError::Arguments("RCPT"))?;
            if !is_address(&path) {
                return bad("RCPT");
            }
            Ok(Command::Rcpt { to: path })
        }
        "BDAT" => {
            let args: Vec<&[u8]> = rest_trimmed.split(|&b| b == b' ').collect();
            let size = |s: &[u8]| -> Option<u64> {
                (!s.is_empty() && s.len() <= 19 && s.iter().all(u8::is_ascii_digit))
                    .then(|| std::str::from_utf8(s).ok()?.parse().ok())
                    .flatten()
            };
            match args.as_slice() {
                [n] => size(n).map(|size| Command::Bdat { size, last: false }),
                [n, last] if last.eq_ignore_ascii_case(b"LAST") => {
                    size(n).map(|size| Command::Bdat { size, last: true })
                }
                _ => None,
            }
            .ok_or(ParseError::Arguments("BDAT"))
        }
        _ => Err(ParseError::Unknown(Some(verb))),
    }
}

/// `FROM:<path> params` → (path without brackets and source route, params).
fn path_and_params(rest: &[u8], keyword: &[u8]) -> Option<(String, String)> {
    let rest = String::from_utf8_lossy(rest);
    let rest = rest.trim();
    if rest.len() < keyword.len() || !rest.as_bytes()[..keyword.len()].eq_ignore_ascii_case(keyword)
    {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let (path, params) = if let Some(inner) = rest.strip_prefix('<') {
        let close = inner.find('>')?;
        (&inner[..close], &inner[close + 1..])
    } else {
        rest.split_once(' ').unwrap_or((rest, ""))
    };
    if !params.is_empty() && !params.starts_with(' ') {
        return None;
    }
    // RFC 5321 §4.1.2: a source route `@a,@b:` before the mailbox is ignored.
    let path = match path.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => path,
    };
    Some((path.to_owned(), params.trim().to_owned()))
}

/// `local@domain` without spaces, controls or brackets, at most [`MAX_PATH`] octets.
pub(crate) fn is_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    address.len() <= MAX_PATH
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && address
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | ','))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str, size: Option<u64>) -> Result<Command<'static>, ParseError> {
        Ok(Command::Mail {
            from: from.to_owned(),
            size,
        })
    }

    #[test]
    fn envelope_commands() {
        assert_eq!(
            parse(b"MAIL FROM:<alice@contoso.example>"),
            mail("alice@contoso.example", None)
        );
        assert_eq!(
            parse(b"mail from:<a@b> SIZE=120 BODY=8BITMIME"),
            mail("a@b", Some(120))
        );
        assert_eq!(parse(b"MAIL FROM: <a@b>"), mail("a@b", None));
        assert_eq!(parse(b"MAIL FROM:a@b"), mail("a@b", None));
        assert_eq!(parse(b"MAIL FROM:<>"), mail("", None));
        assert_eq!(parse(b"MAIL FROM:<@relay.example:a@b>"), mail("a@b", None));
        assert_eq!(
            parse(b"RCPT TO:<bob@contoso.example> NOTIFY=NEVER"),
            Ok(Command::Rcpt {
                to: "bob@contoso.example".to_owned()
            })
        );
        assert_eq!(parse(b"MAIL"), Err(ParseError::Arguments("MAIL")));
        assert_eq!(parse(b"MAIL TO:<a@b>"), Err(ParseError::Arguments("MAIL")));
        assert_eq!(parse(b"MAIL FROM:<a@b"), Err(ParseError::Arguments("MAIL")));
        assert_eq!(
            parse(b"MAIL FROM:<a@b>x"),
            Err(ParseError::Arguments("MAIL"))
        );
        assert_eq!(
            parse(b"MAIL FROM:<a@b> SIZE=big"),
            Err(ParseError::Arguments("MAIL"))
        );
        assert_eq!(
            parse(b"MAIL FROM:<nobody>"),
            Err(ParseError::Arguments("MAIL"))
        );
        assert_eq!(parse(b"RCPT TO:<>"), Err(ParseError::Arguments("RCPT")));
        assert_eq!(
            parse(b"RCPT TO:<a b@c>"),
            Err(ParseError::Arguments("RCPT"))
        );
        assert_eq!(parse(b"RCPT TO:<a@>"), Err(ParseError::Arguments("RCPT")));
        assert_eq!(
            parse(b"RCPT FROM:<a@b>"),
            Err(ParseError::Arguments("RCPT"))
        );
    }

    #[test]
    fn session_commands() {
        assert_eq!(parse(b"EHLO client.example"), Ok(Command::Ehlo));
        assert_eq!(parse(b"ehlo [127.0.0.1]"), Ok(Command::Ehlo));
        assert_eq!(parse(b"HELO x"), Ok(Command::Helo));
        assert_eq!(parse(b"EHLO"), Err(ParseError::Arguments("EHLO")));
        assert_eq!(parse(b"EHLO "), Err(ParseError::Arguments("EHLO")));
        assert_eq!(parse(b"STARTTLS"), Ok(Command::StartTls));
        assert_eq!(
            parse(b"STARTTLS now"),
            Err(ParseError::Arguments("STARTTLS"))
        );
        assert_eq!(parse(b"DATA"), Ok(Command::Data));
        assert_eq!(parse(b"NOOP anything"), Ok(Command::Noop));
        assert_eq!(parse(b"QUIT"), Ok(Command::Quit));
        assert_eq!(parse(b"rset"), Ok(Command::Rset));
        assert_eq!(
            parse(b"BDAT 512 LAST"),
            Ok(Command::Bdat {
                size: 512,
                last: true
            })
        );
        assert_eq!(
            parse(b"BDAT 0"),
            Ok(Command::Bdat {
                size: 0,
                last: false
            })
        );
        assert_eq!(parse(b"BDAT x"), Err(ParseError::Arguments("BDAT")));
        assert_eq!(parse(b"BDAT 1 FIRST"), Err(ParseError::Arguments("BDAT")));
        assert_eq!(
            parse(b"BDAT 99999999999999999999"),
            Err(ParseError::Arguments("BDAT"))
        );
        assert_eq!(
            parse(b"VRFY bob"),
            Err(ParseError::Unknown(Some("VRFY".to_owned())))
        );
        assert_eq!(parse(b"\x16\x03\x01"), Err(ParseError::Unknown(None)));
        assert_eq!(parse(b""), Err(ParseError::Unknown(None)));
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            parse(b"AUTH XOAUTH2 dXNlcj1h"),
            Ok(Command::Auth {
                mechanism: "XOAUTH2".to_owned(),
                initial_response: Some(&b"dXNlcj1h"[..])
            })
        );
        assert_eq!(
            parse(b"auth xoauth2"),
            Ok(Command::Auth {
                mechanism: "XOAUTH2".to_owned(),
                initial_response: None
            })
        );
        assert_eq!(parse(b"AUTH"), Err(ParseError::Arguments("AUTH")));
        assert_eq!(parse(b"AUTH A B C"), Err(ParseError::Arguments("AUTH")));
        let auth = parse(b"AUTH XOAUTH2 c2VjcmV0").expect("valid");
        assert_eq!(auth.log_name(), "AUTH XOAUTH2");
        assert_eq!(parse(b"AUTH NTLM").expect("valid").log_name(), "AUTH OTHER");
    }

    #[test]
    fn addresses() {
        assert!(is_address("alice@contoso.example"));
        assert!(is_address("a+tag@b"));
        assert!(!is_address("alice"));
        assert!(!is_address("@b"));
        assert!(!is_address("a@.b"));
        assert!(!is_address(&format!("{}@b", "x".repeat(300))));
    }
}
