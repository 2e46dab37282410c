//! Reads an access token the user already has, from an environment variable, a file or
//! standard input, and never from a command-line argument (which `ps` and shell history show).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use zeroize::{Zeroize as _, Zeroizing};

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

/// Which secret an error is about, so that it names the secret and the flags that give it
/// (a client secret must never be called an access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    AccessToken,
    ClientSecret,
    CertificatePassword,
}

impl Input {
    fn name(self) -> &'static str {
        match self {
            Input::AccessToken => "access token",
            Input::ClientSecret => "client secret",
            Input::CertificatePassword => "certificate password",
        }
    }

    fn env_flag(self) -> &'static str {
        match self {
            Input::AccessToken => "--access-token-env",
            Input::ClientSecret => "--client-secret-env",
            Input::CertificatePassword => "--certificate-password-env",
        }
    }

    fn file_flag(self) -> &'static str {
        match self {
            Input::AccessToken => "--access-token-file",
            Input::ClientSecret => "--client-secret-file",
            Input::CertificatePassword => "a password file",
        }
    }

    /// A variable name to show in examples.
    fn env_example(self) -> &'static str {
        match self {
            Input::AccessToken => "TOKEN",
            Input::ClientSecret => "SECRET",
            Input::CertificatePassword => "PFX_PASSWORD",
        }
    }

    /// The other ways to give this secret, for fixes.
    fn alternatives(self) -> &'static str {
        match self {
            Input::AccessToken => {
                "--access-token-env VAR, --access-token-file FILE, or pipe it on standard input"
            }
            Input::ClientSecret => {
                "--client-secret-env VAR, --client-secret-file FILE or --client-secret-prompt"
            }
            Input::CertificatePassword => "--certificate-password-env VAR",
        }
    }
}

/// Where a secret was read from, as errors name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Env(String),
    File(PathBuf),
    Stdin,
    Terminal,
    Caller,
}

impl Place {
    fn describe(&self, input: Input) -> String {
        match self {
            Place::Env(var) if names_a_variable(var) => {
                format!("environment variable {var} ({})", input.env_flag())
            }
            Place::Env(_) => format!(
                "the value of {} (not shown: it does not look like a variable name and may be \
                 the {} itself)",
                input.env_flag(),
                input.name()
            ),
            Place::File(path) if may_be_secret(path) => format!(
                "the file given to {} (its name is not shown: it looks like a secret)",
                input.file_flag()
            ),
            Place::File(path) => format!("file {} ({})", path.display(), input.file_flag()),
            Place::Stdin => "standard input".to_string(),
            Place::Terminal => "the terminal".to_string(),
            Place::Caller => "the caller".to_string(),
        }
    }
}

/// Whether `name` can be an environment variable's name that a shell can `export`
/// (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a value given to an `--*-env` flag names a variable and is safe to echo: a shell
/// name without a secret's shape. Anything else is most likely the secret itself
/// (`--access-token-env "$TOKEN"`), so it is never shown.
pub fn names_a_variable(value: &str) -> bool {
    is_variable_name(value) && !looks_like_secret(value)
}

/// Whether a path given to a `--*-file` flag may be the secret itself rather than a path
/// (`--access-token-file "$TOKEN"`), so that it must not be echoed. A path with a directory
/// separator is a path; so is a short name with no secret's shape.
pub fn may_be_secret(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    !(text.contains('/') || text.contains('\\')) && looks_like_secret(&text)
}

/// A secret's shape: a JWT (`eyJ…` with dots), an Entra client secret (it contains `~`), a
/// long run of base64 or hex characters, or a shorter one where letters and digits alternate
/// as they do in random text and seldom in names (`CLIENT_SECRET_2024` alternates once).
pub fn looks_like_secret(text: &str) -> bool {
    let jwt = text.starts_with("eyJ") && text.contains('.');
    let random_run = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+=_-".contains(c)))
        .any(|run| {
            let alternations = run
                .as_bytes()
                .windows(2)
                .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
                .count();
            run.len() >= 40 || (run.len() >= 16 && alternations >= 6)
        });
    jwt || text.contains('~') || random_run
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{}", env_missing(*input, var))]
    EnvMissing { input: Input, var: String },
    #[error("the {} in {} is not valid UTF-8", input.name(), Place::Env(var.clone()).describe(*input))]
    EnvNotUnicode { input: Input, var: String },
    #[error("{}", file_missing(*input, path))]
    FileMissing { input: Input, path: PathBuf },
    #[error("{} is a directory, not a file holding the {}", Place::File(path.clone()).describe(*input), input.name())]
    IsDirectory { input: Input, path: PathBuf },
    #[error("cannot read the {} from {}: {source}", input.name(), from.describe(*input))]
    Read {
        input: Input,
        from: Place,
        source: std::io::Error,
    },
    #[error(
        "waited {} s (--timeout) for the access token on standard input, which is open but \
         {}; nothing was sent to any server",
        waited.as_secs_f64(),
        if *received == 0 { "sent nothing and was not closed".to_string() }
        else { format!("was not closed after {received} bytes") }
    )]
    StdinStalled { waited: Duration, received: usize },
    #[error("cannot ask for the {} on the terminal (--client-secret-prompt): {source}", input.name())]
    Prompt {
        input: Input,
        source: std::io::Error,
    },
    #[error("the {} from {} is empty", input.name(), from.describe(*input))]
    Empty { input: Input, from: Place },
    #[error("the {} from {} is larger than 64 KiB; that is not a {}", input.name(), from.describe(*input), input.name())]
    TooLarge { input: Input, from: Place },
    #[error("the {} from {} is not valid UTF-8", input.name(), from.describe(*input))]
    NotUtf8 { input: Input, from: Place },
    #[error("the access token from {} {reason}", from.describe(Input::AccessToken))]
    Invalid { from: Place, reason: &'static str },
}

fn env_missing(input: Input, var: &str) -> String {
    if names_a_variable(var) {
        format!(
            "environment variable {var} ({}) is not set, so there is no {}",
            input.env_flag(),
            input.name()
        )
    } else {
        format!(
            "the value of {flag} does not look like a variable name: give the variable's name, e.g. {flag} \
             {example}, not its value; the value is not shown in case it is the secret",
            flag = input.env_flag(),
            example = input.env_example()
        )
    }
}

fn file_missing(input: Input, path: &std::path::Path) -> String {
    if may_be_secret(path) {
        format!(
            "the file given to {} does not exist; its name is not shown because it looks like \
             a secret (was the {} itself given instead of a file's path?)",
            input.file_flag(),
            input.name()
        )
    } else {
        format!(
            "the {} file {} ({}) does not exist",
            input.name(),
            path.display(),
            input.file_flag()
        )
    }
}

impl TokenError {
    /// The secret the error is about.
    pub fn input(&self) -> Input {
        match self {
            TokenError::EnvMissing { input, .. }
            | TokenError::EnvNotUnicode { input, .. }
            | TokenError::FileMissing { input, .. }
            | TokenError::IsDirectory { input, .. }
            | TokenError::Read { input, .. }
            | TokenError::Prompt { input, .. }
            | TokenError::Empty { input, .. }
            | TokenError::TooLarge { input, .. }
            | TokenError::NotUtf8 { input, .. } => *input,
            TokenError::StdinStalled { .. } | TokenError::Invalid { .. } => Input::AccessToken,
        }
    }

    /// Why, in terms of what xoauth was told to do.
    pub fn cause(&self) -> String {
        let name = self.input().name();
        match self {
            TokenError::EnvMissing { var, .. } if !names_a_variable(var) => format!(
                "{} takes the name of an environment variable that holds the {name}, and what \
                 what was given does not look like a name",
                self.input().env_flag()
            ),
            TokenError::EnvMissing { var, .. } | TokenError::EnvNotUnicode { var, .. } => {
                let from = Place::Env(var.clone()).describe(self.input());
                format!("the {name} could not be read from {from}")
            }
            TokenError::FileMissing { path, .. } | TokenError::IsDirectory { path, .. } => {
                let from = Place::File(path.clone()).describe(self.input());
                format!("the {name} could not be read from {from}")
            }
            TokenError::Read { from, .. } => {
                format!(
                    "the {name} could not be read from {}",
                    from.describe(self.input())
                )
            }
            TokenError::StdinStalled { .. } => {
                "standard input was chosen for the access token (--access-token-file -, or no \
                 token flag while standard input is not a terminal) but it never ended"
                    .to_string()
            }
            TokenError::Prompt { .. } => format!("xoauth could not prompt for the {name}"),
            TokenError::Empty { .. } => format!("the {name} is empty where it was looked for"),
            TokenError::TooLarge { .. } | TokenError::NotUtf8 { .. } => {
                format!("what was read is not a {name}")
            }
            TokenError::Invalid { .. } => {
                "the access token cannot be placed in a SASL message as given".to_string()
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        let input = self.input();
        let name = input.name();
        match self {
            // Only a valid name is ever put after `export`: anything else is not shell, and
            // may be the secret.
            TokenError::EnvMissing { var, .. } if names_a_variable(var) => format!(
                "export {var} in the shell that runs xoauth (sudo, cron and services start with \
                 a clean environment), or correct the name after {}",
                input.env_flag()
            ),
            TokenError::EnvMissing { .. } => format!(
                "put the {name} in a variable and give its name: {flag} {example} (not {flag} \
                 \"${example}\"), or give the {name} with {}",
                input.alternatives(),
                flag = input.env_flag(),
                example = input.env_example()
            ),
            TokenError::EnvNotUnicode { var, .. } => format!(
                "put the {name} itself (plain ASCII) in {}",
                Place::Env(var.clone()).describe(input)
            ),
            TokenError::FileMissing { path, .. } if may_be_secret(path) => format!(
                "give the path of a file that holds the {name}, not the {name} itself, or give \
                 the {name} with {}",
                input.alternatives()
            ),
            TokenError::FileMissing { path, .. } => format!(
                "check the path {} (relative paths start in the current directory), or give \
                 the {name} with {}",
                path.display(),
                input.alternatives()
            ),
            TokenError::IsDirectory { path, .. } => format!(
                "name the file inside {} that holds the {name}",
                Place::File(path.clone()).describe(input)
            ),
            TokenError::Read { source, from, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                format!(
                    "let the user running xoauth read {}, or give the {name} with {}",
                    from.describe(input),
                    input.alternatives()
                )
            }
            TokenError::Read { .. } => {
                format!("give the {name} with {}", input.alternatives())
            }
            TokenError::StdinStalled { .. } => {
                "pipe the token and close the pipe (printf %s \"$TOKEN\" | xoauth ...), or name \
                 it with --access-token-env VAR or --access-token-file FILE; --timeout bounds \
                 this wait"
                    .to_string()
            }
            TokenError::Prompt { .. } => format!(
                "run xoauth from a terminal, or give the {name} with --client-secret-env VAR or \
                 --client-secret-file FILE"
            ),
            TokenError::Empty {
                from: Place::Stdin, ..
            } => "pipe the token in (printf %s \"$TOKEN\" | xoauth ...), or name it with \
                 --access-token-env VAR or --access-token-file FILE; standard input is read \
                 when neither is given"
                .to_string(),
            TokenError::Empty { from, .. } => {
                format!("put the {name} in {}", from.describe(input))
            }
            TokenError::TooLarge { from, .. } | TokenError::NotUtf8 { from, .. } => {
                format!("check that {} holds only the {name}", from.describe(input))
            }
            TokenError::Invalid { .. } => {
                "pass the bare access token (no 'Bearer ' prefix, no line breaks)".to_string()
            }
        }
    }
}

/// Loads and checks the token. Surrounding whitespace and a `Bearer ` prefix are removed,
/// since both are common copy-paste leftovers. Standard input is waited for at most
/// `stdin_wait`: a pipe that stays open (`sleep 45 | xoauth ...`, a CI step's unused stdin)
/// would otherwise hang the run.
pub async fn load(
    source: &TokenSource,
    stdin_wait: Duration,
) -> Result<Secret<String>, TokenError> {
    let input = Input::AccessToken;
    let (raw, from) = match source {
        TokenSource::Env(var) => (read_env(var, input)?, Place::Env(var.clone())),
        TokenSource::File(path) => (read_file(path, input)?, Place::File(path.clone())),
        TokenSource::Stdin => (read_stdin(stdin_wait).await?, Place::Stdin),
        TokenSource::Value(token) => (token.expose().clone(), Place::Caller),
    };
    clean(raw, from)
}

fn read_env(var: &str, input: Input) -> Result<String, TokenError> {
    match std::env::var(var) {
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(TokenError::EnvMissing {
            input,
            var: var.to_string(),
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::EnvNotUnicode {
            input,
            var: var.to_string(),
        }),
    }
}

fn read_file(path: &std::path::Path, input: Input) -> Result<String, TokenError> {
    let from = Place::File(path.to_path_buf());
    let file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            TokenError::FileMissing {
                input,
                path: path.to_path_buf(),
            }
        } else {
            TokenError::Read {
                input,
                from: from.clone(),
                source,
            }
        }
    })?;
    // Opening a directory succeeds on Unix; reading it fails with a bare EISDIR.
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(TokenError::IsDirectory {
            input,
            path: path.to_path_buf(),
        });
    }
    read_bounded(file, input, from)
}

/// Reads standard input to its end on a thread of its own, so that a pipe nobody closes
/// cannot outlive the wait (the thread is left blocked; the process exits around it).
async fn read_stdin(wait: Duration) -> Result<String, TokenError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("xoauth-stdin".into())
        .spawn(move || {
            let mut bytes = Vec::with_capacity(MAX_TOKEN_BYTES as usize + 4096);
            let mut chunk = Zeroizing::new([0u8; 4096]);
            let mut stdin = std::io::stdin().lock();
            let result = loop {
                match stdin.read(&mut chunk[..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        bytes.extend_from_slice(&chunk[..n]);
                        counter.store(bytes.len(), Ordering::Relaxed);
                        if bytes.len() as u64 > MAX_TOKEN_BYTES {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            let _ = tx.send(result.map(|()| bytes));
        });
    let read_error = |source| TokenError::Read {
        input: Input::AccessToken,
        from: Place::Stdin,
        source,
    };
    spawned.map_err(read_error)?;
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(Ok(bytes))) => checked(bytes, Input::AccessToken, Place::Stdin),
        Ok(Ok(Err(e))) => Err(read_error(e)),
        Ok(Err(_)) => Err(read_error(std::io::Error::other(
            "the reading thread ended without an answer",
        ))),
        Err(_) => Err(TokenError::StdinStalled {
            waited: wait,
            received: received.load(Ordering::Relaxed),
        }),
    }
}

fn read_bounded(reader: impl Read, input: Input, from: Place) -> Result<String, TokenError> {
    // Room for the largest accepted input, so the buffer never grows and leaves a copy behind.
    let mut bytes = Vec::with_capacity(MAX_TOKEN_BYTES as usize + 64);
    if let Err(source) = reader.take(MAX_TOKEN_BYTES + 1).read_to_end(&mut bytes) {
        return Err(TokenError::Read {
            input,
            from,
            source,
        });
    }
    checked(bytes, input, from)
}

fn checked(bytes: Vec<u8>, input: Input, from: Place) -> Result<String, TokenError> {
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge { input, from });
    }
    String::from_utf8(bytes).map_err(|e| {
        e.into_bytes().zeroize();
        TokenError::NotUtf8 { input, from }
    })
}

/// Trims, drops a `Bearer ` prefix, and rejects what cannot be a bearer token (RFC 6750's
/// b64token has no spaces or control characters).
pub fn clean(raw: String, from: Place) -> Result<Secret<String>, TokenError> {
    // What was read is wiped once the token is copied out of it.
    let raw = Zeroizing::new(raw);
    let mut token = raw.trim();
    let prefixed = token
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer"))
        && token[6..].chars().next().is_none_or(char::is_whitespace);
    if prefixed {
        token = token[6..].trim_start();
    }
    if token.is_empty() {
        return Err(TokenError::Empty {
            input: Input::AccessToken,
            from,
        });
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TokenError::Invalid {
            from,
            reason: "contains spaces or control characters (is it more than one token?)",
        });
    }
    Ok(Secret::new(token.to_string()))
}

/// Reads a client secret or a certificate password: from a variable, a file (trimmed), or a
/// prompt on the terminal without echo.
pub fn load_secret(
    source: &super::input::SecretSource,
    input: Input,
) -> Result<Secret<String>, TokenError> {
    use super::input::SecretSource;
    let (value, from) = match source {
        SecretSource::Env(var) => (read_env(var, input)?, Place::Env(var.clone())),
        SecretSource::File(path) => (read_file(path, input)?, Place::File(path.clone())),
        SecretSource::Prompt => {
            let prompt = format!("{}: ", input.name());
            let value = rpassword::prompt_password(prompt)
                .map_err(|source| TokenError::Prompt { input, source })?;
            (value, Place::Terminal)
        }
    };
    let value = Zeroizing::new(value);
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(TokenError::Empty { input, from });
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Result<String, TokenError> {
        clean(s.to_string(), Place::Caller).map(|s| s.expose().clone())
    }

    #[test]
    fn trims_and_drops_bearer_prefix() {
        assert_eq!(c("  eyJ0.abc.def\n").unwrap(), "eyJ0.abc.def");
        assert_eq!(c("Bearer eyJ0.abc").unwrap(), "eyJ0.abc");
        assert_eq!(c("bearer   tok").unwrap(), "tok");
    }

    #[test]
    fn rejects_empty_and_multi_word_input() {
        assert!(matches!(c(" \n"), Err(TokenError::Empty { .. })));
        assert!(matches!(c("Bearer "), Err(TokenError::Empty { .. })));
        assert!(matches!(c("tok1\ntok2"), Err(TokenError::Invalid { .. })));
        assert!(matches!(c("a\x01b"), Err(TokenError::Invalid { .. })));
        // Multi-byte text where the prefix would be cut must not panic.
        assert!(matches!(c("Beäre tok"), Err(TokenError::Invalid { .. })));
        assert_eq!(c("bearertok").unwrap(), "bearertok");
    }

    #[test]
    fn names_and_paths_are_told_from_secrets() {
        for name in [
            "TOKEN",
            "XOAUTH_TEST_TOKEN",
            "_x",
            "CLIENT_SECRET_2024",
            "A1",
        ] {
            assert!(names_a_variable(name), "{name}");
        }
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        let entra = "Xy8Q~abcdefghijklmnopqrstuvwxyz.0123456";
        let random = "k8Zq2Rt7Wm4Np9Lx3Vb6Hc1J";
        let hex = "3f2a9c0d4e5b6a7f8e9d0c1b2a3f4e5d";
        for secret in [jwt, entra, random, hex, "1TOKEN", "a b", ""] {
            assert!(!names_a_variable(secret), "{secret}");
        }
        for path in [
            "token.txt",
            "nope",
            "/tmp/eyJ.x",
            "dir/Xy8Q~abc",
            "secret-2024.pem",
        ] {
            assert!(!may_be_secret(std::path::Path::new(path)), "{path}");
        }
        for secret in [jwt, entra, random, hex] {
            assert!(may_be_secret(std::path::Path::new(secret)), "{secret}");
        }
    }

    /// Only a name is ever echoed or put after `export`; the fix is still valid shell.
    #[test]
    fn a_value_that_is_no_name_is_never_echoed_nor_exported() {
        let secret = "Xy8Q~abcdefghijklmnopqrstuvwxyz.0123456";
        for input in [
            Input::AccessToken,
            Input::ClientSecret,
            Input::CertificatePassword,
        ] {
            let e = read_env(secret, input).unwrap_err();
            let all = format!("{e} | {} | {}", e.cause(), e.fix());
            assert!(!all.contains("Xy8Q") && !all.contains("export"), "{all}");
            assert!(
                all.contains(input.env_flag()) && all.contains("not shown"),
                "{all}"
            );
        }
    }

    #[tokio::test]
    async fn reads_a_file_and_reports_a_missing_one() {
        let wait = Duration::from_secs(1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "tok-from-file\n").unwrap();
        assert_eq!(
            load(&TokenSource::File(path), wait).await.unwrap().expose(),
            "tok-from-file"
        );
        let missing = load(&TokenSource::File(dir.path().join("nope")), wait).await;
        assert!(matches!(missing, Err(TokenError::FileMissing { .. })));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 70_000]).unwrap();
        assert!(matches!(
            load(&TokenSource::File(big), wait).await,
            Err(TokenError::TooLarge { .. })
        ));
    }

    /// Each way of failing to read a secret names the secret, the place and the flag, and has
    /// its own fix; none talks about SASL or a 'Bearer ' prefix.
    #[tokio::test]
    async fn every_read_failure_names_its_input_and_fix() {
        use crate::token::input::SecretSource;
        let wait = Duration::from_secs(1);
        let dir = tempfile::tempdir().unwrap();
        const UNSET: &str = "XOAUTH_UNIT_TEST_SURELY_UNSET";
        let cases: Vec<(TokenError, &[&str], &str)> = vec![
            (
                load(&TokenSource::Env(UNSET.into()), wait)
                    .await
                    .unwrap_err(),
                &[UNSET, "--access-token-env", "not set", "access token"],
                "export",
            ),
            (
                load(&TokenSource::File(dir.path().join("nope")), wait)
                    .await
                    .unwrap_err(),
                &["nope", "--access-token-file", "does not exist"],
                "check the path",
            ),
            (
                load(&TokenSource::File(dir.path().to_path_buf()), wait)
                    .await
                    .unwrap_err(),
                &["is a directory", "--access-token-file"],
                "name the file inside",
            ),
            (
                load_secret(&SecretSource::Env(UNSET.into()), Input::ClientSecret).unwrap_err(),
                &[UNSET, "--client-secret-env", "client secret"],
                "export",
            ),
            (
                load_secret(
                    &SecretSource::File(dir.path().join("s")),
                    Input::ClientSecret,
                )
                .unwrap_err(),
                &["client secret file", "--client-secret-file"],
                "--client-secret-prompt",
            ),
        ];
        for (e, words, fix) in cases {
            let all = format!("{e} | {} | {}", e.cause(), e.fix());
            for w in words {
                assert!(all.contains(w), "{w:?} missing in: {all}");
            }
            assert!(e.fix().contains(fix), "{fix:?} missing in: {all}");
            assert!(!all.contains("SASL") && !all.contains("Bearer"), "{all}");
            if e.input() != Input::AccessToken {
                assert!(!all.contains("access token"), "{all}");
            }
        }
    }
}
