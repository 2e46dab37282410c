//! Values placed in PowerShell: every one is written as a single-quoted literal by [`quote`],
//! and values the admin gives must first have the shape of what they stand for (an address, a
//! GUID, a domain), so a printed command can only ever do what it says.
//!
//! PowerShell's rules (about_Quoting_Rules, and its tokenizer's `IsSingleQuote`): inside a
//! single-quoted string nothing is special (no `$`, no backtick escapes) except the single-quote
//! family `'` U+2018 U+2019 U+201A U+201B; any of them ends the string unless the next character
//! is one of them too, and such a pair stands for one quote. Doubling every member of the family
//! therefore keeps any string one literal. A typographic quote is the trap: left alone,
//! `-Identity 'x’;calc;’@x.com'` ends the string after `x` and runs `calc`.
//!
//! A leaf: it imports nothing from the rest of xoauth, so the setup script and every fix line
//! the diagnosis prints use the same rules.

/// Every character PowerShell treats as a single quote.
pub const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// Whether PowerShell treats `c` as a single quote.
pub fn is_single_quote(c: char) -> bool {
    SINGLE_QUOTES.contains(&c)
}

/// `value` as one PowerShell single-quoted literal, whatever it contains.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if is_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// What a value stands for, and so which shape it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A mailbox or user address, `local@domain`.
    Address,
    /// An application, object or tenant id.
    Guid,
    /// A tenant: its id (a GUID) or one of its domains.
    Tenant,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("{what} {value:?} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
    NotGuid { what: &'static str, value: String },
    #[error(
        "{what} {value:?} is neither a tenant id (a GUID) nor a domain such as \
         contoso.onmicrosoft.com"
    )]
    NotTenant { what: &'static str, value: String },
    #[error("{what} {value:?} is not a mailbox address: {reason}")]
    NotAddress {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "{what} {value:?} contains {found}, a control, line-break or invisible formatting \
         character: no address, id or domain has one, and it would break or disguise the \
         printed command"
    )]
    Unsafe {
        what: &'static str,
        value: String,
        found: String,
    },
    #[error("{what} {value:?} contains {slip}")]
    Autocorrect {
        what: &'static str,
        value: String,
        slip: String,
    },
}

/// Checks that `value` has the shape of `kind`; `what` names it in the error (a flag, a claim).
pub fn check(kind: Kind, what: &'static str, value: &str) -> Result<(), ValueError> {
    if let Some(slip) = autocorrect_slip(value) {
        return Err(ValueError::Autocorrect {
            what,
            value: value.to_string(),
            slip,
        });
    }
    if let Some(c) = value.chars().find(|c| is_invisible(*c)) {
        return Err(ValueError::Unsafe {
            what,
            value: value.to_string(),
            found: describe(c),
        });
    }
    match kind {
        Kind::Guid if is_guid(value) => Ok(()),
        Kind::Guid => Err(ValueError::NotGuid {
            what,
            value: value.to_string(),
        }),
        Kind::Tenant if is_guid(value) || is_domain(value) => Ok(()),
        Kind::Tenant => Err(ValueError::NotTenant {
            what,
            value: value.to_string(),
        }),
        Kind::Address => address(value).map_err(|reason| ValueError::NotAddress {
            what,
            value: value.to_string(),
            reason,
        }),
    }
}

/// Whether `value` has the shape of `kind` (for values read from a server or a token, which are
/// quoted whatever they hold but are worth calling unusual).
pub fn is_valid(kind: Kind, value: &str) -> bool {
    check(kind, "", value).is_ok()
}

/// What an editor's autocorrect puts in place of an ASCII quote or dash: quoting would keep
/// it one literal (it is doubled like `'`), but no address, id or domain has one, and Exchange
/// would look up `o’brien` as a different name from `o'brien`. Names the first one found and
/// the character it probably stands for, e.g. "a typographic quote ’ (U+2019), probably an
/// autocorrect slip of '".
pub fn autocorrect_slip(value: &str) -> Option<String> {
    value.chars().find_map(|c| {
        let (what, meant) = match c {
            '\u{2018}'..='\u{201B}' => ("quote", '\''),
            '\u{201C}'..='\u{201F}' => ("quote", '"'),
            '\u{2010}'..='\u{2015}' => ("dash", '-'),
            _ => return None,
        };
        Some(format!(
            "a typographic {what} {c} (U+{:04X}), probably an autocorrect slip of {meant}",
            c as u32
        ))
    })
}

/// Characters that break a line or change how the text around them is shown (bidirectional
/// overrides, zero-width marks): never part of an address, an id or a domain, and a printed
/// command holding one may not be what it looks like. Everything else is either refused by the
/// value's shape or made one literal by [`quote`] (`$`, a backtick and `'` are literal inside
/// single quotes; RFC 5322 allows all three in an address).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

fn describe(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("{c:?}")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A DNS name of at least two labels (a tenant or mailbox domain is never a bare label).
fn is_domain(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    value.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `local@domain`: the local part in RFC 5322's dot-atom characters (letters and digits of any
/// script for internationalised addresses), the domain a DNS name.
fn address(value: &str) -> Result<(), &'static str> {
    let (local, domain) = value
        .rsplit_once('@')
        .ok_or("it has no @ (expected name@domain)")?;
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ is empty or longer than 64 characters");
    }
    let atext = |c: char| {
        c.is_alphanumeric()
            || matches!(
                c,
                '!' | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | '-'
                    | '/'
                    | '='
                    | '?'
                    | '^'
                    | '_'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
            )
    };
    if !local
        .split('.')
        .all(|p| !p.is_empty() && p.chars().all(atext))
    {
        return Err("the part before @ has a character an address cannot have");
    }
    if !is_domain(domain) {
        return Err("the part after @ is not a domain such as contoso.com");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PowerShell's single-quoted literal, read independently of [`quote`] from
    /// about_Quoting_Rules: it opens with any single-quote character; inside, a single-quote
    /// character followed by another one stands for that second one, and one alone closes the
    /// literal; every other character is itself. Returns the value and what follows.
    fn read_literal(s: &str) -> Option<(String, &str)> {
        let mut chars = s.char_indices().peekable();
        let (_, open) = chars.next()?;
        if !SINGLE_QUOTES.contains(&open) {
            return None;
        }
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            if SINGLE_QUOTES.contains(&c) {
                match chars.peek() {
                    Some(&(_, next)) if SINGLE_QUOTES.contains(&next) => {
                        value.push(next);
                        chars.next();
                    }
                    _ => return Some((value, &s[i + c.len_utf8()..])),
                }
            } else {
                value.push(c);
            }
        }
        None // unterminated
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// Characters PowerShell or a terminal treat specially, and some ordinary ones.
    const NASTY: &[char] = &[
        '\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}', '"', '\u{201C}', '\u{201D}',
        '\u{201E}', '`', '$', ';', '|', '&', '(', ')', '{', '}', '@', '#', '<', '>', '\n', '\r',
        '\0', '\t', '\u{202E}', '\u{2028}', '\u{FEFF}', ' ', 'a', 'Z', '0', '.', '-', 'é', '漢',
        '😀',
    ];

    #[test]
    fn quoted_strings_read_back_as_one_literal_with_nothing_after() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..20_000 {
            let len = (rng.next() % 24) as usize;
            let value: String = (0..len)
                .map(|_| {
                    if rng.next().is_multiple_of(8) {
                        // Any scalar value, including ones nobody thought of.
                        char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('\u{FFFD}')
                    } else {
                        NASTY[(rng.next() % NASTY.len() as u64) as usize]
                    }
                })
                .collect();
            let quoted = quote(&value);
            let (read, rest) = read_literal(&quoted)
                .unwrap_or_else(|| panic!("round {round}: {quoted:?} is not a literal"));
            assert_eq!(read, value, "round {round}: {quoted:?}");
            assert_eq!(rest, "", "round {round}: {quoted:?} leaves {rest:?}");
            // Inside a command, the literal ends exactly where the command goes on.
            let line = format!("Set-CASMailbox -Identity {quoted} -ImapEnabled $true");
            let after = &line["Set-CASMailbox -Identity ".len()..];
            let (read, rest) = read_literal(after).unwrap();
            assert_eq!(read, value);
            assert_eq!(rest, " -ImapEnabled $true");
        }
    }

    #[test]
    fn every_single_quote_is_doubled() {
        assert_eq!(quote("o'brien@contoso.com"), "'o''brien@contoso.com'");
        assert_eq!(quote("x’;calc;’@x.com"), "'x’’;calc;’’@x.com'");
        assert_eq!(quote("‘‚‛"), "'‘‘‚‚‛‛'");
        assert_eq!(quote(""), "''");
        // The naive rule (double only ') leaves the typographic quote closing the string.
        let naive = format!("'{}'", "x’;calc;’@x.com".replace('\'', "''"));
        assert_eq!(read_literal(&naive).unwrap().1, ";calc;’@x.com'");
    }

    #[test]
    fn every_address_character_quoting_makes_safe_is_accepted() {
        // RFC 5322 atext has `$`, a backtick and `'`: literal inside single quotes, so the
        // command stays one literal and is accepted, as `check` already quotes them.
        for ok in ["a$b@contoso.com", "a`b@contoso.com", "$`'{}|~@contoso.com"] {
            assert_eq!(check(Kind::Address, "--mailbox", ok), Ok(()), "{ok:?}");
            assert_eq!(read_literal(&quote(ok)).unwrap(), (ok.to_string(), ""));
        }
    }

    #[test]
    fn typographic_quotes_and_dashes_are_named_as_autocorrect_slips() {
        let e = check(Kind::Address, "--mailbox", "o’brien@contoso.com").unwrap_err();
        assert!(matches!(e, ValueError::Autocorrect { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "--mailbox \"o’brien@contoso.com\" contains a typographic quote ’ (U+2019), \
             probably an autocorrect slip of '"
        );
        let e = check(Kind::Tenant, "--tenant", "contoso–eu.com").unwrap_err();
        assert!(
            e.to_string()
                .contains("(U+2013), probably an autocorrect slip of -"),
            "{e}"
        );
        // What cannot be shown as it is says so, not that PowerShell would misread it.
        let e = check(Kind::Address, "--mailbox", "a\u{202E}@b.com").unwrap_err();
        assert!(e.to_string().contains("invisible"), "{e}");
        assert!(!e.to_string().contains("escape"), "{e}");
    }

    #[test]
    fn values_must_have_their_shape() {
        assert!(check(Kind::Address, "--mailbox", "o'brien@contoso.com").is_ok());
        assert!(check(Kind::Address, "--mailbox", "anna.müller@contoso.de").is_ok());
        assert!(check(Kind::Address, "--mailbox", "sales+eu@sub.contoso.com").is_ok());
        for bad in [
            "x’;calc;’@x.com",
            "a`$(x)@b.com",
            "a\n@b.com",
            "a;calc@b.com",
            "a b@c.com",
            "a@b",
            "a@-b.com",
            "@b.com",
            "ab.com",
            "a\u{202E}@b.com",
            "a..b@c.com",
        ] {
            assert!(check(Kind::Address, "--mailbox", bad).is_err(), "{bad:?}");
        }
        let e = check(Kind::Address, "--mailbox", "x’;calc;’@x.com").unwrap_err();
        assert!(e.to_string().contains("U+2019"), "{e}");
        assert!(check(Kind::Tenant, "--tenant", "contoso.onmicrosoft.com").is_ok());
        assert!(
            check(
                Kind::Tenant,
                "--tenant",
                "9188040d-6c67-4c5b-b112-36a304b66dad"
            )
            .is_ok()
        );
        for bad in ["common", "x';calc;'", "contoso..com", "a.b;c", ""] {
            assert!(check(Kind::Tenant, "--tenant", bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            check(Kind::Tenant, "--tenant", "common"),
            Err(ValueError::NotTenant { .. })
        ));
        assert!(
            check(
                Kind::Guid,
                "--app-id",
                "66666666-7777-8888-9999-000000000000"
            )
            .is_ok()
        );
        assert!(matches!(
            check(Kind::Guid, "--app-id", "nope"),
            Err(ValueError::NotGuid { .. })
        ));
    }
}
