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
            Place::Env(var) => format!("environment variable {var} ({})", input.env_flag()),
            Place::File(path) => format!("file {} ({})", path.display(), input.file_flag()),
            Place::Stdin => "standard input".to_string(),
            Place::Terminal => "the terminal".to_string(),
            Place::Caller => "the caller".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("environment variable {var} ({flag}) is not set, so there is no {}", input.name(), flag = input.env_flag())]
    EnvMissing { input: Input, var: String },
    #[error("the {} in environment variable {var} ({flag}) is not valid UTF-8", input.name(), flag = input.env_flag())]
    EnvNotUnicode { input: Input, var: String },
    #[error("the {} file {} ({flag}) does not exist", input.name(), path.display(), flag = input.file_flag())]
    FileMissing { input: Input, path: PathBuf },
    #[error("{} ({flag}) is a directory, not a file holding the {}", path.display(), input.name(), flag = input.file_flag())]
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
            TokenError::EnvMissing { .. } | TokenError::EnvNotUnicode { .. } => {
                format!("the {name} could not be read from the environment variable named")
            }
            TokenError::FileMissing { .. }
            | TokenError::IsDirectory { .. }
            | TokenError::Read { .. } => {
                format!("the {name} could not be read from the place named")
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
            TokenError::EnvMissing { var, .. } => format!(
                "export {var} in the shell that runs xoauth (sudo, cron and services start with \
                 a clean environment), or correct the name after {}",
                input.env_flag()
            ),
            TokenError::EnvNotUnicode { var, .. } => {
                format!("put the {name} itself (plain ASCII) in {var}")
            }
            TokenError::FileMissing { path, .. } => format!(
                "check the path {} (relative paths start in the current directory), or give \
                 the {name} with {}",
                path.display(),
                input.alternatives()
            ),
            TokenError::IsDirectory { path, .. } => format!(
                "name the file inside {} that holds the {name}",
                path.display()
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
