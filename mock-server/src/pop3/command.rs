//! POP3 command lines → typed commands (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH, RFC 2595
//! STLS). Pure; verbs are case-insensitive, arguments are separated by single spaces.
//!
//! ```text
//! "retr 2"                → Retr(2)
//! "TOP 1 10"              → Top(1, 10)
//! "AUTH XOAUTH2"          → Auth { mechanism: "XOAUTH2", initial_response: None }
//! "AUTH XOAUTH2 dXNlcj0…" → Auth { …, initial_response: Some("dXNlcj0…") }
//! ```

/// One POP3 command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    Capa,
    Stls,
    /// `AUTH <mechanism> [initial-response]`; the mechanism is upper-cased.
    Auth {
        mechanism: String,
        initial_response: Option<&'a [u8]>,
    },
    User,
    Pass,
    Stat,
    List(Option<u32>),
    Uidl(Option<u32>),
    Retr(u32),
    Top(u32, u32),
    Dele(u32),
    Noop,
    Rset,
    Quit,
}

impl Command<'_> {
    /// The name for the command log, e.g. `STAT` or `AUTH XOAUTH2` (never arguments).
    pub fn log_name(&self) -> String {
        let verb = match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Auth { mechanism, .. } => {
                return format!("AUTH {}", mechanism_name(mechanism));
            }
            Command::User => "USER",
            Command::Pass => "PASS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
        };
        verb.to_owned()
    }
}

/// A mechanism name as logged: known ones as-is, anything else `OTHER`.
pub(crate) fn mechanism_name(mechanism: &str) -> &str {
    match mechanism {
        "XOAUTH2" | "OAUTHBEARER" | "PLAIN" | "LOGIN" => mechanism,
        _ => "OTHER",
    }
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not a POP3 verb; the verb (upper-cased) if it is a plausible word.
    Unknown(Option<String>),
    /// A known verb with missing, extra or malformed arguments.
    Arguments(&'static str),
}

/// Parses one command line (line end removed).
pub(crate) fn parse(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let (verb, rest) = crate::lines::split_verb(line);
    let Some(verb) = crate::lines::loggable_verb(verb) else {
        return Err(ParseError::Unknown(None));
    };
    let args: Vec<&[u8]> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&b| b == b' ').collect()
    };
    let bad = |name: &'static str| Err(ParseError::Arguments(name));
    let number = |arg: &[u8]| -> Option<u32> {
        (!arg.is_empty() && arg.len() <= 10 && arg.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(arg).ok()?.parse().ok())
            .flatten()
    };
    let no_args = |name: &'static str, command: Command<'static>| {
        if args.is_empty() {
            Ok(command)
        } else {
            bad(name)
        }
    };
    match verb.as_str() {
        "CAPA" => no_args("CAPA", Command::Capa),
        "STLS" => no_args("STLS", Command::Stls),
        "STAT" => no_args("STAT", Command::Stat),
        "NOOP" => no_args("NOOP", Command::Noop),
        "RSET" => no_args("RSET", Command::Rset),
        "QUIT" => no_args("QUIT", Command::Quit),
        "USER" if !rest.is_empty() => Ok(Command::User),
        "PASS" if !rest.is_empty() => Ok(Command::Pass),
        "USER" => bad("USER"),
        "PASS" => bad("PASS"),
        "AUTH" => match args.as_slice() {
            [mechanism] | [mechanism, _] if !mechanism.is_empty() => Ok(Command::Auth {
                mechanism: String::from_utf8_lossy(mechanism).to_ascii_uppercase(),
                initial_response: args.get(1).copied(),
            }),
            _ => bad("AUTH"),
        },
        "LIST" | "UIDL" => {
            let n = match args.as_slice() {
                [] => None,
                [n] => match number(n) {
                    Some(n) => Some(n),
                    None => return bad(if verb == "LIST" { "LIST" } else { "UIDL" }),
                },
                _ => return bad(if verb == "LIST" { "LIST" } else { "UIDL" }),
            };
            Ok(if verb == "LIST" {
                Command::List(n)
            } else {
                Command::Uidl(n)
            })
        }
        "RETR" | "DELE" => match args.as_slice() {
            [n] => match number(n) {
                Some(n) if verb == "RETR" => Ok(Command::Retr(n)),
                Some(n) => Ok(Command::Dele(n)),
                None => bad(if verb == "RETR" { "RETR" } else { "DELE" }),
            },
            _ => bad(if verb == "RETR" { "RETR" } else { "DELE" }),
        },
        "TOP" => match args.as_slice() {
            [n, k] => match (number(n), number(k)) {
                (Some(n), Some(k)) => Ok(Command::Top(n, k)),
                _ => bad("TOP"),
            },
            _ => bad("TOP"),
        },
        _ => Err(ParseError::Unknown(Some(verb))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse(b"CAPA"), Ok(Command::Capa));
        assert_eq!(parse(b"capa"), Ok(Command::Capa));
        assert_eq!(parse(b"STLS"), Ok(Command::Stls));
        assert_eq!(parse(b"STAT"), Ok(Command::Stat));
        assert_eq!(parse(b"LIST"), Ok(Command::List(None)));
        assert_eq!(parse(b"LIST 2"), Ok(Command::List(Some(2))));
        assert_eq!(parse(b"UIDL 3"), Ok(Command::Uidl(Some(3))));
        assert_eq!(parse(b"RETR 1"), Ok(Command::Retr(1)));
        assert_eq!(parse(b"TOP 1 0"), Ok(Command::Top(1, 0)));
        assert_eq!(parse(b"DELE 10"), Ok(Command::Dele(10)));
        assert_eq!(parse(b"USER alice@contoso.example"), Ok(Command::User));
        assert_eq!(parse(b"PASS pass word"), Ok(Command::Pass));
        assert_eq!(parse(b"QUIT"), Ok(Command::Quit));
        assert_eq!(
            parse(b"AUTH xoauth2"),
            Ok(Command::Auth {
                mechanism: "XOAUTH2".to_owned(),
                initial_response: None
            })
        );
        assert_eq!(
            parse(b"AUTH XOAUTH2 dXNlcj1h"),
            Ok(Command::Auth {
                mechanism: "XOAUTH2".to_owned(),
                initial_response: Some(&b"dXNlcj1h"[..])
            })
        );
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"RETR"), Err(ParseError::Arguments("RETR")));
        assert_eq!(parse(b"RETR x"), Err(ParseError::Arguments("RETR")));
        assert_eq!(parse(b"RETR -1"), Err(ParseError::Arguments("RETR")));
        assert_eq!(
            parse(b"RETR 99999999999"),
            Err(ParseError::Arguments("RETR"))
        );
        assert_eq!(parse(b"RETR 1 2"), Err(ParseError::Arguments("RETR")));
        assert_eq!(parse(b"TOP 1"), Err(ParseError::Arguments("TOP")));
        assert_eq!(parse(b"STAT 1"), Err(ParseError::Arguments("STAT")));
        assert_eq!(parse(b"LIST 1 2"), Err(ParseError::Arguments("LIST")));
        assert_eq!(parse(b"UIDL a"), Err(ParseError::Arguments("UIDL")));
        assert_eq!(parse(b"AUTH"), Err(ParseError::Arguments("AUTH")));
        assert_eq!(parse(b"AUTH A B C"), Err(ParseError::Arguments("AUTH")));
        assert_eq!(parse(b"USER"), Err(ParseError::Arguments("USER")));
        assert_eq!(
            parse(b"APOP a b"),
            Err(ParseError::Unknown(Some("APOP".to_owned())))
        );
        assert_eq!(parse(b""), Err(ParseError::Unknown(None)));
        assert_eq!(parse(b"\xff\x00"), Err(ParseError::Unknown(None)));
        assert_eq!(parse(b" STAT"), Err(ParseError::Unknown(None)));
    }

    #[test]
    fn log_names_carry_no_arguments() {
        let auth = parse(b"AUTH XOAUTH2 c2VjcmV0").expect("valid");
        assert_eq!(auth.log_name(), "AUTH XOAUTH2");
        let other = parse(b"AUTH CRAM-MD5").expect("valid");
        assert_eq!(other.log_name(), "AUTH OTHER");
        assert_eq!(parse(b"retr 1").expect("valid").log_name(), "RETR");
    }
}
