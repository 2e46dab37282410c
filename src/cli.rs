//! Command-line flags (clap) and their translation into a validated plan. Binary only: the
//! library never sees clap.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use xoauth::plan::{self, Endpoint, ImapPlan, Provider};
use xoauth::sasl::{Mechanism, MechanismChoice};
use xoauth::token::TokenSource;
use xoauth::transport::{Limits, Security};

#[derive(Parser, Debug)]
#[command(
    name = "xoauth",
    version,
    about = "Check that OAuth (XOAUTH2/OAUTHBEARER) really works for IMAP against Exchange Online, \
             Gmail or any standards-following server, and explain why when it does not.",
    after_help = "Exit codes: 0 pass, 1 check failed, 2 usage or config error, 3 token error, \
                  4 network or TLS error.\nStart with `xoauth demo`: it needs no tenant."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Authenticate to an IMAP server with an access token, list the folders, log out.
    Imap(ImapArgs),
    /// Run the checks against a built-in mock of Exchange Online (no tenant, no network).
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    /// Exchange Online: outlook.office365.com:993.
    Microsoft,
    /// Gmail: imap.gmail.com:993.
    Google,
    /// Any other server: give --host.
    Custom,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MechanismArg {
    /// XOAUTH2 when offered, else OAUTHBEARER.
    Auto,
    Xoauth2,
    Oauthbearer,
}

#[derive(Args, Debug)]
pub struct ImapArgs {
    /// Service preset that fills in host and port.
    #[arg(long, value_enum, default_value = "microsoft")]
    pub provider: ProviderArg,
    /// Server host name (overrides the provider's).
    #[arg(long)]
    pub host: Option<String>,
    /// Server port [default: 993, or 143 with --starttls].
    #[arg(long)]
    pub port: Option<u16>,
    /// Connect in plaintext and upgrade with STARTTLS (fails if the server does not offer it).
    #[arg(long)]
    pub starttls: bool,
    /// The account the access token was issued to (UPN / e-mail address).
    #[arg(long, short = 'u', value_name = "ADDR")]
    pub user: String,
    /// Open this shared mailbox instead of the user's own (sent as XOAUTH2 user=).
    #[arg(long, value_name = "ADDR")]
    pub mailbox: Option<String>,
    /// SASL mechanism.
    #[arg(long, value_enum, default_value = "auto")]
    pub mechanism: MechanismArg,
    /// EXAMINE (read-only) one folder for its message count [default folder: INBOX].
    #[arg(long, value_name = "FOLDER", num_args = 0..=1, default_missing_value = "INBOX")]
    pub examine: Option<String>,
    /// Also trust the CA certificates in this PEM file (private or on-premises CA, the mock).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// Read the access token from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "access_token_file")]
    pub access_token_env: Option<String>,
    /// Read the access token from this file ("-" for standard input). Without either flag the
    /// token is read from standard input when it is not a terminal.
    #[arg(long, value_name = "FILE")]
    pub access_token_file: Option<PathBuf>,
    /// Not supported: a token on the command line is visible to every user of the machine.
    #[arg(long, value_name = "TOKEN", hide = true)]
    pub access_token: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Print one JSON object per check instead of text.
    #[arg(long)]
    pub json: bool,
    /// Include the protocol transcript (secrets redacted).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Seconds to wait for each network step.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub timeout: f64,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A flag combination that cannot run; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(
        "--access-token is not accepted: a token on the command line is visible in the process \
         list and shell history. Use --access-token-env VAR, --access-token-file FILE, or pipe \
         it on standard input"
    )]
    TokenOnCommandLine,
    #[error(
        "no access token: use --access-token-env VAR, --access-token-file FILE, or pipe it on \
         standard input"
    )]
    NoToken,
}

impl TokenArgs {
    fn source(&self) -> Result<TokenSource, UsageError> {
        if self.access_token.is_some() {
            return Err(UsageError::TokenOnCommandLine);
        }
        if let Some(var) = &self.access_token_env {
            return Ok(TokenSource::Env(var.clone()));
        }
        match &self.access_token_file {
            Some(path) if path.as_os_str() == "-" => Ok(TokenSource::Stdin),
            Some(path) => Ok(TokenSource::File(path.clone())),
            None if !std::io::stdin().is_terminal() => Ok(TokenSource::Stdin),
            None => Err(UsageError::NoToken),
        }
    }
}

impl ImapArgs {
    pub fn into_plan(self) -> Result<ImapPlan, UsageError> {
        let token = self.token.source()?;
        let provider = match self.provider {
            ProviderArg::Microsoft => Provider::Microsoft,
            ProviderArg::Google => Provider::Google,
            ProviderArg::Custom => Provider::Custom,
        };
        let security = if self.starttls {
            Security::StartTls
        } else {
            Security::ImplicitTls
        };
        let endpoint = Endpoint::imap(provider, self.host, self.port, security)?;
        let user = plan::check_address("--user", &self.user)?;
        let mailbox = self
            .mailbox
            .map(|m| plan::check_address("--mailbox", &m))
            .transpose()?;
        let mechanism = match self.mechanism {
            MechanismArg::Auto => MechanismChoice::Auto,
            MechanismArg::Xoauth2 => MechanismChoice::Only(Mechanism::XOAuth2),
            MechanismArg::Oauthbearer => MechanismChoice::Only(Mechanism::OAuthBearer),
        };
        Ok(ImapPlan {
            endpoint,
            user,
            mailbox,
            mechanism,
            examine: self.examine,
            ca_files: self.ca_files,
            extra_roots: Vec::new(),
            token,
            timeout: plan::timeout(self.output.timeout)?,
            limits: Limits::default(),
            transcript: self.output.verbose,
        })
    }
}
