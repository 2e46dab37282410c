//! Reads an access token the user already has, from an environment variable, a file or
//! standard input, and never from a command-line argument (which `ps` and shell history show).

use std::io::Read;
use std::path::PathBuf;

use crate::secret::Secret;

/// Tokens are a few KiB; anything far larger is not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
    Stdin,
    /// A token already in memory (library use, the demo).
    Value(Secret<String>),
}

impl TokenSource {
    fn describe(&self) -> String {
        match self {
            TokenSource::Env(var) => format!("environment variable {var}"),
            TokenSource::File(path) => format!("file {}", path.display()),
            TokenSource::Stdin => "standard input".to_string(),
            TokenSource::Value(_) => "the caller".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("cannot read the access token from {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("the access token from {0} is empty")]
    Empty(String),
    #[error("the {0} is empty")]
    SecretEmpty(String),
    #[error("the access token from {what} {reason}")]
    Invalid { what: String, reason: &'static str },
}

/// Loads and checks the token. Surrounding whitespace and a `Bearer ` prefix are removed,
/// since both are common copy-paste leftovers.
pub fn load(source: &TokenSource) -> Result<Secret<String>, TokenError> {
    let what = source.describe();
    let raw = match source {
        TokenSource::Env(var) => match std::env::var(var) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => return Err(TokenError::EnvMissing(var.clone())),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(TokenError::Invalid {
                    what,
                    reason: "is not valid UTF-8",
                });
            }
        },
        TokenSource::File(path) => {
            let file = std::fs::File::open(path).map_err(|source| TokenError::Read {
                what: what.clone(),
                source,
            })?;
            read_bounded(file, &what)?
        }
        TokenSource::Stdin => read_bounded(std::io::stdin().lock(), &what)?,
        TokenSource::Value(token) => token.expose().clone(),
    };
    clean(raw, what)
}

fn read_bounded(reader: impl Read, what: &str) -> Result<String, TokenError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| TokenError::Read {
            what: what.to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(TokenError::Invalid {
            what: what.to_string(),
            reason: "is larger than 64 KiB; that is not an access token",
        });
    }
    String::from_utf8(bytes).map_err(|_| TokenError::Invalid {
        what: what.to_string(),
        reason: "is not valid UTF-8",
    })
}

/// Trims, drops a `Bearer ` prefix, and rejects what cannot be a bearer token (RFC 6750's
/// b64token has no spaces or control characters).
pub fn clean(raw: String, what: String) -> Result<Secret<String>, TokenError> {
    let mut token = raw.trim();
    let prefixed = token
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer"))
        && token[6..].chars().next().is_none_or(char::is_whitespace);
    if prefixed {
        token = token[6..].trim_start();
    }
    if token.is_empty() {
        return Err(TokenError::Empty(what));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TokenError::Invalid {
            what,
            reason: "contains spaces or control characters (is it more than one token?)",
        });
    }
    Ok(Secret::new(token.to_string()))
}

/// Reads a client secret or a certificate password: from a variable, a file (trimmed), or a
/// prompt on the terminal without echo.
pub fn load_secret(
    source: &crate::plan::SecretSource,
    what: &str,
) -> Result<Secret<String>, TokenError> {
    use crate::plan::SecretSource;
    let (value, from) = match source {
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) => (v, format!("environment variable {var}")),
            Err(_) => return Err(TokenError::EnvMissing(var.clone())),
        },
        SecretSource::File(path) => {
            let from = format!("file {}", path.display());
            let file = std::fs::File::open(path).map_err(|source| TokenError::Read {
                what: from.clone(),
                source,
            })?;
            (read_bounded(file, &from)?, from)
        }
        SecretSource::Prompt => {
            let value = rpassword::prompt_password(format!("{what}: ")).map_err(|source| {
                TokenError::Read {
                    what: "the terminal".into(),
                    source,
                }
            })?;
            (value, "the terminal".to_string())
        }
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(TokenError::SecretEmpty(format!("{what} from {from}")));
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Result<String, TokenError> {
        clean(s.to_string(), "test".into()).map(|s| s.expose().clone())
    }

    #[test]
    fn trims_and_drops_bearer_prefix() {
        assert_eq!(c("  eyJ0.abc.def\n").unwrap(), "eyJ0.abc.def");
        assert_eq!(c("Bearer eyJ0.abc").unwrap(), "eyJ0.abc");
        assert_eq!(c("bearer   tok").unwrap(), "tok");
    }

    #[test]
    fn rejects_empty_and_multi_word_input() {
        assert!(matches!(c(" \n"), Err(TokenError::Empty(_))));
        assert!(matches!(c("Bearer "), Err(TokenError::Empty(_))));
        assert!(matches!(c("tok1\ntok2"), Err(TokenError::Invalid { .. })));
        assert!(matches!(c("a\x01b"), Err(TokenError::Invalid { .. })));
        // Multi-byte text where the prefix would be cut must not panic.
        assert!(matches!(c("Beäre tok"), Err(TokenError::Invalid { .. })));
        assert_eq!(c("bearertok").unwrap(), "bearertok");
    }

    #[test]
    fn reads_a_file_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "tok-from-file\n").unwrap();
        assert_eq!(
            load(&TokenSource::File(path)).unwrap().expose(),
            "tok-from-file"
        );
        let missing = load(&TokenSource::File(dir.path().join("nope")));
        assert!(matches!(missing, Err(TokenError::Read { .. })));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 70_000]).unwrap();
        assert!(matches!(
            load(&TokenSource::File(big)),
            Err(TokenError::Invalid { .. })
        ));
    }
}
