//! Why a combination of flags cannot run (exit code 2). Every message names the flags to use
//! instead; the CLI tests pin their texts.

use super::PlanError;

/// A flag combination that cannot run; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "--access-token is not accepted: a token on the command line is visible in the process \
         list and shell history. Use --access-token-env VAR, --access-token-file FILE, or pipe \
         it on standard input"
    )]
    TokenOnCommandLine,
    #[error(
        "--client-secret is not accepted: a secret on the command line is visible in the \
         process list and shell history. Use --client-secret-env VAR, --client-secret-file FILE \
         or --client-secret-prompt"
    )]
    ClientSecretOnCommandLine,
    #[error(
        "--certificate-password is not accepted: a password on the command line is visible in \
         the process list and shell history. Use --certificate-password-env VAR"
    )]
    CertificatePasswordOnCommandLine,
    #[error(
        "unexpected argument (not repeated here, in case it is a secret): xoauth takes flags \
         only. Give a client secret with --client-secret-env VAR, --client-secret-file FILE or \
         --client-secret-prompt, and an access token with --access-token-env VAR, \
         --access-token-file FILE or on standard input"
    )]
    StrayArgument,
    #[error(
        "no access token: use --access-token-env VAR, --access-token-file FILE, pipe it on \
         standard input, or obtain one with --client-id"
    )]
    NoToken,
    #[error(
        "give either an access token (--access-token-*) or --client-id to obtain one, not both"
    )]
    TokenAndClientId,
    #[error(transparent)]
    Provider(#[from] crate::token::provider::ProviderError),
    #[error(
        "--flow client-credentials needs --client-secret-env, --client-secret-file, --client-secret-prompt or --certificate"
    )]
    NoCredential,
    #[error("a client secret or certificate only goes with --flow client-credentials")]
    CredentialWithoutClientCredentials,
    #[error(
        "OAuth flags (--tenant, --flow, --scope, --client-secret-*, --certificate, ...) need --client-id"
    )]
    OAuthWithoutClientId,
    #[error(
        "--tenant {0:?} is not a tenant: give its id (a GUID), one of its domains such as \
         contoso.onmicrosoft.com, or common, organizations or consumers"
    )]
    BadTenant(String),
    #[error(
        "--tenant {0} names no single tenant, and an app-only token (--flow \
         client-credentials) comes from the tenant that holds the mailboxes: give its id (a \
         GUID) or one of its domains such as contoso.onmicrosoft.com"
    )]
    AppOnlyNeedsOneTenant(String),
    #[error("--login-wait must be more than 0 seconds")]
    BadLoginWait,
    #[error(
        "--user ADDR is required: the account the token is for (not needed for an app-only \
         token from --flow client-credentials, nor for a given token when --mailbox ADDR names \
         the mailbox to open)"
    )]
    UserRequired,
    #[error(
        "an app-only token (--flow client-credentials) acts as no user, so --user {user} would \
         be ignored and {mailbox} opened: drop --user, and name the mailbox with --mailbox \
         {mailbox}"
    )]
    UserWithAppOnly { user: String, mailbox: String },
    #[error(
        "an app-only token (--flow client-credentials) acts as no user, so --user {0} would be \
         ignored: drop --user; with --mailboxes each listed mailbox is opened as itself"
    )]
    UserWithAppOnlyList(String),
    #[error(
        "--mailbox {0} and --mailboxes do not go together: --mailboxes FILE checks every mailbox \
         the file lists; put {0} in the file, or drop --mailboxes to check it alone"
    )]
    MailboxesWithMailbox(String),
    #[error("--mailboxes {name}: {error}")]
    MailboxList {
        name: String,
        error: super::mailboxes::ListError,
    },
    #[error(
        "--mailboxes - reads the list from standard input, which then cannot carry the access \
         token too: give the token with --access-token-env VAR or --access-token-file FILE"
    )]
    ListAndTokenOnStdin,
    #[error(
        "--send does not go with --mailboxes: an audit checks that each mailbox opens and sends \
         no message from any of them; send from one mailbox with --mailbox ADDR --send"
    )]
    SendWithMailboxes,
    #[error(
        "--concurrency goes with --mailboxes only: a single check opens one connection at a time"
    )]
    ConcurrencyWithoutMailboxes,
    #[error("--concurrency {0}: give a number of mailboxes checked at once from 1 to {max}", max = super::audit::MAX_CONCURRENCY)]
    BadConcurrency(usize),
    #[error(
        "an app-only token has no user: give the mailbox to open with --mailbox ADDR (or --user ADDR)"
    )]
    MailboxRequired,
    #[error(transparent)]
    Setup(#[from] crate::setup_script::SetupError),
    /// Never holds the value: it is most likely the secret (`--access-token-env "$TOKEN"`).
    #[error(
        "the value of {flag} does not look like a variable name: give the variable's name, e.g. {flag} \
         {example}, not its value; the value is not shown in case it is the secret"
    )]
    NotAVariableName {
        flag: &'static str,
        example: &'static str,
    },
}

/// Refuses an `--*-env` value that is not a variable name, without echoing it.
pub(super) fn variable_name(
    flag: &'static str,
    example: &'static str,
    value: &str,
) -> Result<String, UsageError> {
    if crate::token::source::names_a_variable(value) {
        Ok(value.to_string())
    } else {
        Err(UsageError::NotAVariableName { flag, example })
    }
}
