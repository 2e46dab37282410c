//! The rules every command shares: where the token comes from (given or obtained, never
//! both), who it is for and which mailbox is opened, and the run-wide settings.

use super::args::{Environment, RawCommon, RawTokenSource};
use super::{Flow, Plan, Protocol, TokenPlan, UsageError, check_address, timeout};
use crate::token::TokenSource;
use crate::transport::Limits;

impl RawTokenSource {
    /// Any `--access-token*` flag, the refused one included.
    fn given(&self) -> bool {
        self.access_token_env.is_some()
            || self.access_token_file.is_some()
            || self.access_token_on_command_line
    }

    /// A given token: from a variable, a file, `-` or a pipe on standard input. A token on the
    /// command line is refused outright, whatever else is given.
    fn source(&self, env: Environment) -> Result<TokenSource, UsageError> {
        if self.access_token_on_command_line {
            return Err(UsageError::TokenOnCommandLine);
        }
        if let Some(var) = &self.access_token_env {
            return Ok(TokenSource::Env(var.clone()));
        }
        match &self.access_token_file {
            Some(path) if path.as_os_str() == "-" => Ok(TokenSource::Stdin),
            Some(path) => Ok(TokenSource::File(path.clone())),
            None if !env.stdin_is_terminal => Ok(TokenSource::Stdin),
            None => Err(UsageError::NoToken),
        }
    }
}

impl RawCommon {
    /// The plan without checks; the command adds them. `protocols` picks default scopes;
    /// `opens_mailbox` is false only for the token command, which needs no mailbox.
    pub(super) fn plan(
        self,
        protocols: &[Protocol],
        opens_mailbox: bool,
    ) -> Result<Plan, UsageError> {
        let user = self
            .user
            .as_deref()
            .map(|u| check_address("--user", u))
            .transpose()?;
        let oauth = self
            .oauth
            .plan(self.provider, user.as_deref(), protocols, self.env)?;
        let token = match oauth {
            Some(_) if self.token.given() => return Err(UsageError::TokenAndClientId),
            Some(oauth) => TokenPlan::OAuth(Box::new(oauth)),
            None => TokenPlan::Given(self.token.source(self.env)?),
        };
        let mailbox = self
            .mailbox
            .map(|m| check_address("--mailbox", &m))
            .transpose()?;
        // A user is needed to sign in as one, and to open a mailbox; an app-only token (and a
        // given token only being decoded) has none.
        let app_only = matches!(&token, TokenPlan::OAuth(o) if o.flow == Flow::ClientCredentials);
        let decode_only = !opens_mailbox && matches!(token, TokenPlan::Given(_));
        if user.is_none() {
            if !app_only && !decode_only {
                return Err(UsageError::UserRequired);
            }
            if opens_mailbox && mailbox.is_none() {
                return Err(UsageError::MailboxRequired);
            }
        }
        Ok(Plan {
            user,
            mailbox,
            token,
            mechanism: self.mechanism,
            ca_files: self.ca_files,
            extra_roots: Vec::new(),
            timeout: timeout(self.timeout)?,
            limits: Limits::default(),
            transcript: self.verbose,
            checks: Vec::new(),
        })
    }
}
