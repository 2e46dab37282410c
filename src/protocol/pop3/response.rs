//! Pure parsing of POP3 replies (RFC 1939), the CAPA list (RFC 2449) and SASL continuations
//! (RFC 5034).
//!
//! ```text
//! S: +OK The Microsoft Exchange POP3 service is ready. [...]
//! C: CAPA                 S: +OK  TOP  UIDL  SASL PLAIN XOAUTH2  USER  .
//! C: AUTH XOAUTH2         S: +           C: <base64>
//! S: +OK User successfully authenticated.  |  -ERR Authentication failure: ...
//! C: STAT                 S: +OK 3 4521
//! ```

/// A single-line reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok(String),
    Err(String),
    /// `+` or `+ <base64>`: a SASL continuation.
    Continue(String),
}

pub fn parse_status(line: &str) -> Option<Status> {
    if let Some(rest) = strip_word(line, "+OK") {
        return Some(Status::Ok(rest.to_string()));
    }
    if let Some(rest) = strip_word(line, "-ERR") {
        return Some(Status::Err(rest.to_string()));
    }
    if line == "+" {
        return Some(Status::Continue(String::new()));
    }
    line.strip_prefix("+ ")
        .map(|rest| Status::Continue(rest.trim().to_string()))
}

/// `word` followed by nothing or a space; case-insensitive as RFC 1939 allows.
fn strip_word<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let head = line.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let rest = &line[word.len()..];
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix(' ')
    }
}

/// `+OK <count> <octets>` from STAT.
pub fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let mut words = text.split_ascii_whitespace();
    let count = words.next()?.parse().ok()?;
    let octets = words.next()?.parse().ok()?;
    Some((count, octets))
}

/// The CAPA list, one capability line each, without the terminating `.`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capa(pub Vec<String>);

impl Capa {
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|l| {
            l.split_ascii_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(name))
        })
    }

    /// The mechanisms of the `SASL` line, upper-cased.
    pub fn sasl_mechanisms(&self) -> Vec<String> {
        self.0
            .iter()
            .find_map(|l| {
                let mut words = l.split_ascii_whitespace();
                words
                    .next()
                    .filter(|k| k.eq_ignore_ascii_case("SASL"))
                    .map(|_| words.map(str::to_ascii_uppercase).collect())
            })
            .unwrap_or_default()
    }
}

/// Undoes RFC 1939 byte-stuffing of a multi-line body line (`..x` → `.x`).
pub fn unstuff(line: &str) -> &str {
    line.strip_prefix('.')
        .filter(|r| r.starts_with('.'))
        .unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_lines() {
        assert_eq!(
            parse_status("+OK The Microsoft Exchange POP3 service is ready. [TQBPAEMA]"),
            Some(Status::Ok(
                "The Microsoft Exchange POP3 service is ready. [TQBPAEMA]".into()
            ))
        );
        assert_eq!(
            parse_status("-ERR Authentication failure: unknown user name or bad password."),
            Some(Status::Err(
                "Authentication failure: unknown user name or bad password.".into()
            ))
        );
        assert_eq!(parse_status("+"), Some(Status::Continue(String::new())));
        assert_eq!(parse_status("+OK"), Some(Status::Ok(String::new())));
        assert_eq!(
            parse_status("+ eyJzdGF0dXMiOiI0MDAifQ=="),
            Some(Status::Continue("eyJzdGF0dXMiOiI0MDAifQ==".into()))
        );
        assert_eq!(parse_status("+ok fine"), Some(Status::Ok("fine".into())));
    }

    #[test]
    fn not_status_lines() {
        for line in ["", "+OKAY", "-ERRR", "OK", "* OK", "TOP"] {
            assert_eq!(parse_status(line), None, "{line}");
        }
    }

    #[test]
    fn capa_and_stat() {
        let capa = Capa(
            ["TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        assert_eq!(capa.sasl_mechanisms(), vec!["PLAIN", "XOAUTH2"]);
        assert!(capa.has("uidl") && !capa.has("STLS") && !capa.has("SAS"));
        assert_eq!(Capa::default().sasl_mechanisms(), Vec::<String>::new());
        assert_eq!(parse_stat("3 4521"), Some((3, 4521)));
        assert_eq!(parse_stat("3"), None);
        assert_eq!(parse_stat("x y"), None);
        assert_eq!(unstuff("..hidden"), ".hidden");
        assert_eq!(unstuff(".x"), ".x");
        assert_eq!(unstuff("plain"), "plain");
    }
}
