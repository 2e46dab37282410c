//! Profiles: a TOML config file's named sets of flag values (`[profile.prod]`), parsed and
//! checked here without I/O, every key and value with its line and column.
//!
//! A profile key is a long flag's name without the dashes (`client-id = "…"`); whether a key
//! is a flag of the command at hand is the binary's question (it owns the flags). What is
//! settled here is what no command may take from a file: a secret. A key that would hold one
//! (`client-secret`, `password`, `refresh-token`, …) is refused, its value never kept, and the
//! error names the safe key that points at the secret instead (`client-secret-file`, `-env`).
//!
//! ```toml
//! [profile.prod]
//! tenant = "contoso.onmicrosoft.com"
//! client-id = "00000000-0000-0000-0000-000000000000"
//! flow = "client-credentials"
//! client-secret-env = "XOAUTH_SECRET"
//! protocols = ["imap", "smtp"]
//! user = "shared@contoso.com"
//! ```

use std::fmt;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where a key or value starts in the file, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

impl Position {
    /// The position of byte `offset` in `text`.
    fn of(text: &str, offset: usize) -> Position {
        let before = text.get(..offset.min(text.len())).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// A flag's value as the file gives it. Lists hold scalars only: a flag value is never nested.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
}

impl Value {
    /// The TOML type's name, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a boolean",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Text(_) => "a string",
            Value::List(_) => "a list",
        }
    }
}

/// One `key = value` line of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// Where the key is written.
    pub at: Position,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// In the order they are written.
    pub entries: Vec<Entry>,
    /// Where the profile's name is written (its `[profile.NAME]` header).
    pub at: Position,
}

/// A whole config file: its profiles, in the order they are written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigFile {
    pub profiles: Vec<Profile>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    /// The file's text is not TOML. The offending line is not quoted: it may hold a secret.
    #[error("{at}: not valid TOML: {message}")]
    Syntax { at: Position, message: String },
    #[error(
        "{at}: unknown key `{key}`: a config file holds only profiles, each a \
         [profile.NAME] table of flag values"
    )]
    NotAProfile { key: String, at: Position },
    #[error("{at}: `profile.{name}` must be a table: write [profile.{name}] and its keys below it")]
    ProfileNotATable { name: String, at: Position },
    #[error(
        "{at}: profile `{profile}`: `{key}` would hold a secret, and a config file is no place \
         for one (it is copied, backed up and read by anyone who can read the file); the value \
         was not read. Use {safe} instead, which name where the secret is kept"
    )]
    Secret {
        profile: String,
        key: String,
        at: Position,
        safe: &'static str,
    },
    #[error("{at}: profile `{profile}`: `{key}` is {what}; a flag's value is {EXPECTED}")]
    BadValue {
        profile: String,
        key: String,
        at: Position,
        what: &'static str,
    },
}

const EXPECTED: &str = "a string, a number, true or false, or a list of those";

/// The keys that point at a secret instead of holding it, per kind of secret.
const SAFE_SECRET_KEYS: &str =
    "client-secret-file or client-secret-env (or certificate with certificate-password-env)";
const SAFE_PASSWORD_KEYS: &str = "certificate-password-env";
const SAFE_TOKEN_KEYS: &str =
    "access-token-file or access-token-env (or client-id and a flow, to obtain one)";

/// Whether `key` would hold a secret, and if so the keys to use instead. Underscores count as
/// dashes here, so `client_secret` is caught even though it is no flag's name. A key that
/// names where a secret is (`-env`, `-file`), asks for it (`-prompt`) or is an endpoint
/// (`token-url`) is safe.
pub fn secret_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase().replace('_', "-");
    let names_a_place = ["-env", "-file", "-prompt", "-url"]
        .iter()
        .any(|suffix| key.ends_with(suffix));
    if names_a_place {
        return None;
    }
    if key.contains("password") || key.contains("passwd") || key.contains("passphrase") {
        Some(SAFE_PASSWORD_KEYS)
    } else if key.contains("secret") || key.contains("private-key") || key == "key" {
        Some(SAFE_SECRET_KEYS)
    } else if key.contains("token") || key == "xoauth2" || key == "bearer" {
        Some(SAFE_TOKEN_KEYS)
    } else {
        None
    }
}

impl ConfigFile {
    /// Parses a config file. Every profile's keys are checked for secrets, not only the one in
    /// use: a secret in the file is a problem whichever profile holds it.
    pub fn parse(text: &str) -> Result<ConfigFile, ProfileError> {
        let at = |offset: usize| Position::of(text, offset);
        let root = DeTable::parse(text).map_err(|e| ProfileError::Syntax {
            at: at(e.span().map_or(0, |s| s.start)),
            message: e.message().trim().replace('\n', "; "),
        })?;
        let mut profiles = Vec::new();
        for (key, value) in sorted(root.get_ref()) {
            if key.get_ref().as_ref() != "profile" {
                return Err(ProfileError::NotAProfile {
                    key: key.get_ref().to_string(),
                    at: at(key.span().start),
                });
            }
            let DeValue::Table(table) = value.get_ref() else {
                return Err(ProfileError::NotAProfile {
                    key: "profile".into(),
                    at: at(key.span().start),
                });
            };
            for (name, body) in sorted(table) {
                let name_text = name.get_ref().to_string();
                let DeValue::Table(body) = body.get_ref() else {
                    return Err(ProfileError::ProfileNotATable {
                        name: name_text,
                        at: at(name.span().start),
                    });
                };
                let mut entries = Vec::new();
                for (key, value) in sorted(body) {
                    let key_text = key.get_ref().to_string();
                    let key_at = at(key.span().start);
                    if let Some(safe) = secret_key(&key_text) {
                        return Err(ProfileError::Secret {
                            profile: name_text,
                            key: key_text,
                            at: key_at,
                            safe,
                        });
                    }
                    let value =
                        convert(value.get_ref(), false).map_err(|what| ProfileError::BadValue {
                            profile: name_text.clone(),
                            key: key_text.clone(),
                            at: key_at,
                            what,
                        })?;
                    entries.push(Entry {
                        key: key_text,
                        value,
                        at: key_at,
                    });
                }
                profiles.push(Profile {
                    name: name_text,
                    entries,
                    at: at(name.span().start),
                });
            }
        }
        Ok(ConfigFile { profiles })
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }
}

type Pair<'t, 'i> = (
    &'t Spanned<toml::de::DeString<'i>>,
    &'t Spanned<DeValue<'i>>,
);

/// A table's entries in the order they are written (the map itself sorts them by name).
fn sorted<'t, 'i>(table: &'t DeTable<'i>) -> Vec<Pair<'t, 'i>> {
    let mut pairs: Vec<Pair<'t, 'i>> = table.iter().collect();
    pairs.sort_by_key(|(k, _)| k.span().start);
    pairs
}

/// A TOML value as a flag value, or what it is instead.
fn convert(value: &DeValue<'_>, in_list: bool) -> Result<Value, &'static str> {
    Ok(match value {
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::String(s) => Value::Text(s.to_string()),
        DeValue::Integer(i) => Value::Integer(
            i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| "an integer out of range")?,
        ),
        DeValue::Float(f) => Value::Float(f.as_str().parse().map_err(|_| "not a number")?),
        DeValue::Datetime(_) => return Err("a date or time"),
        DeValue::Table(_) => return Err("a table (a dotted key or an inline table)"),
        DeValue::Array(_) if in_list => return Err("a list inside a list"),
        DeValue::Array(items) => Value::List(
            items
                .iter()
                .map(|v| convert(v.get_ref(), true))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn profiles_keys_and_values_come_with_their_lines() {
        let text = "# comment\n[profile.prod]\nclient-id = \"abc\"\nprotocols = [\"imap\", \
                    \"smtp\"]\nno-cache = true\n  timeout = 2.5\nimap-port = 0x3e1\n\n\
                    [profile.staging]\nuser = \"a@b\"\n";
        let config = ConfigFile::parse(text).unwrap();
        assert_eq!(config.names(), ["prod", "staging"]);
        let prod = config.profile("prod").unwrap();
        assert_eq!(prod.at, pos(2, 10));
        let entries: Vec<(&str, &Value, Position)> = prod
            .entries
            .iter()
            .map(|e| (e.key.as_str(), &e.value, e.at))
            .collect();
        assert_eq!(
            entries,
            [
                ("client-id", &Value::Text("abc".into()), pos(3, 1)),
                (
                    "protocols",
                    &Value::List(vec![Value::Text("imap".into()), Value::Text("smtp".into())]),
                    pos(4, 1)
                ),
                ("no-cache", &Value::Bool(true), pos(5, 1)),
                ("timeout", &Value::Float(2.5), pos(6, 3)),
                ("imap-port", &Value::Integer(993), pos(7, 1)),
            ]
        );
        assert_eq!(config.profile("staging").unwrap().entries[0].at, pos(10, 1));
        assert!(config.profile("dev").is_none());
    }

    #[test]
    fn an_empty_file_has_no_profiles() {
        assert_eq!(ConfigFile::parse("").unwrap(), ConfigFile::default());
        assert_eq!(
            ConfigFile::parse("# nothing yet\n").unwrap().names().len(),
            0
        );
    }

    #[test]
    fn a_syntax_error_names_its_line_and_never_quotes_it() {
        let text = "[profile.prod]\nclient-id = \"abc\"\nclient-secret-file = \"s3cr3t\n";
        let err = ConfigFile::parse(text).unwrap_err();
        let ProfileError::Syntax { at, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(at.line, 3, "{err}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn a_secret_key_is_refused_without_its_value() {
        for (key, safe) in [
            ("client-secret", "client-secret-file"),
            ("client_secret", "client-secret-env"),
            ("certificate-password", "certificate-password-env"),
            ("password", "certificate-password-env"),
            ("access-token", "access-token-file"),
            ("token", "access-token-env"),
            ("refresh-token", "access-token-file"),
            ("secret", "client-secret-file"),
        ] {
            let text = format!("[profile.prod]\nuser = \"a@b\"\n{key} = \"s3cr3t\"\n");
            let err = ConfigFile::parse(&text).unwrap_err();
            assert!(
                matches!(&err, ProfileError::Secret { at, .. } if at.line == 3),
                "{key}: {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains(key), "{message}");
            assert!(message.contains(safe), "{key}: {message}");
            assert!(!message.contains("s3cr3t"), "{message}");
        }
    }

    #[test]
    fn keys_that_name_where_a_secret_is_are_safe() {
        for key in [
            "client-secret-file",
            "client-secret-env",
            "client-secret-prompt",
            "certificate-password-env",
            "access-token-env",
            "access-token-file",
            "token-url",
            "client-id",
            "certificate",
        ] {
            assert_eq!(secret_key(key), None, "{key}");
        }
    }

    #[test]
    fn a_secret_in_any_profile_is_refused() {
        let text = "[profile.a]\nuser = \"x\"\n[profile.b]\nclient-secret = \"s3cr3t\"\n";
        assert!(matches!(
            ConfigFile::parse(text),
            Err(ProfileError::Secret { ref profile, .. }) if profile == "b"
        ));
    }

    #[test]
    fn what_is_not_a_profile_is_refused_with_its_line() {
        let err = ConfigFile::parse("user = \"a@b\"\n").unwrap_err();
        assert_eq!(
            err,
            ProfileError::NotAProfile {
                key: "user".into(),
                at: pos(1, 1)
            }
        );
        let err = ConfigFile::parse("[profile]\nprod = 3\n").unwrap_err();
        assert!(
            matches!(err, ProfileError::ProfileNotATable { ref name, at } if name == "prod" && at.line == 2),
            "{err:?}"
        );
        for (value, what) in [
            ("{ a = 1 }", "a table"),
            ("1979-05-27", "a date"),
            ("[[1], [2]]", "a list inside a list"),
        ] {
            let err = ConfigFile::parse(&format!("[profile.p]\n\nhost = {value}\n")).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("line 3, column 1"), "{message}");
            assert!(message.contains(what), "{message}");
        }
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(Position::of("ab\ncé d", 7), pos(2, 4));
        assert_eq!(Position::of("", 0), pos(1, 1));
        assert_eq!(Position::of("abc", 99), pos(1, 4));
    }
}
