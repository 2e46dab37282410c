//! Command-line flags (clap) and their translation into a validated plan. Binary only: the
//! library never sees clap.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use xoauth::plan::{
    self, Check, Endpoint, ImapOptions, Plan, PlanError, Protocol, Provider, SendPlan,
};
use xoauth::sasl::{Mechanism, MechanismChoice};
use xoauth::token::TokenSource;
use xoauth::transport::{Limits, Security};

#[derive(Parser, Debug)]
#[command(
    name = "xoauth",
    version,
    about = "Check that OAuth (XOAUTH2/OAUTHBEARER) really works for IMAP, POP3 and SMTP against \
             Exchange Online, Gmail or any standards-following server, and explain why when it \
             does not.",
    after_help = "Exit codes: 0 pass, 1 check failed, 2 usage or config error, 3 token error, \
                  4 network or TLS error.\nStart with `xoauth demo`: it needs no tenant."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Authenticate to an IMAP server, list the folders, log out.
    Imap(ImapArgs),
    /// Authenticate to a POP3 server and read the maildrop's size (STAT); never RETR or DELE.
    Pop(PopArgs),
    /// Authenticate to an SMTP submission server; with --send, submit a test message.
    Smtp(SmtpArgs),
    /// Run IMAP, POP and SMTP for one identity and print one combined report.
    Check(CheckArgs),
    /// Run the checks against a built-in mock of Exchange Online (no tenant, no network).
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    /// Exchange Online: outlook.office365.com (IMAP 993, POP 995), smtp.office365.com:587.
    Microsoft,
    /// Gmail: imap.gmail.com, pop.gmail.com, smtp.gmail.com.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Imap,
    Pop,
    Smtp,
}

/// Flags every check shares: who, with which token, how to trust the server, what to print.
#[derive(Args, Debug)]
pub struct Common {
    /// Service preset that fills in hosts and ports.
    #[arg(long, value_enum, default_value = "microsoft")]
    pub provider: ProviderArg,
    /// The account the access token was issued to (UPN / e-mail address).
    #[arg(long, short = 'u', value_name = "ADDR")]
    pub user: String,
    /// Open this shared mailbox instead of the user's own (sent as XOAUTH2 user=).
    #[arg(long, value_name = "ADDR")]
    pub mailbox: Option<String>,
    /// SASL mechanism.
    #[arg(long, value_enum, default_value = "auto")]
    pub mechanism: MechanismArg,
    /// Also trust the CA certificates in this PEM file (private or on-premises CA, the mock).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ImapArgs {
    /// Server host name (overrides the provider's).
    #[arg(long)]
    pub host: Option<String>,
    /// Server port [default: 993, or 143 with --starttls].
    #[arg(long)]
    pub port: Option<u16>,
    /// Connect in plaintext and upgrade with STARTTLS (fails if the server does not offer it).
    #[arg(long)]
    pub starttls: bool,
    /// EXAMINE (read-only) one folder for its message count [default folder: INBOX].
    #[arg(long, value_name = "FOLDER", num_args = 0..=1, default_missing_value = "INBOX")]
    pub examine: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct PopArgs {
    /// Server host name (overrides the provider's).
    #[arg(long)]
    pub host: Option<String>,
    /// Server port [default: 995, or 110 with --starttls].
    #[arg(long)]
    pub port: Option<u16>,
    /// Connect in plaintext and upgrade with STLS (fails if the server does not offer it).
    #[arg(long)]
    pub starttls: bool,
    #[command(flatten)]
    pub common: Common,
}

/// The test message.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Submit a test message (Subject and Message-ID carry a unique run id).
    #[arg(long)]
    pub send: bool,
    /// Recipient of the test message (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,
    /// Sender of the test message [default: the mailbox checked].
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
}

#[derive(Args, Debug)]
pub struct SmtpArgs {
    /// Server host name (overrides the provider's).
    #[arg(long)]
    pub host: Option<String>,
    /// Server port [default: 587 with STARTTLS; 465 with --implicit-tls].
    #[arg(long)]
    pub port: Option<u16>,
    /// TLS from the first byte (port 465) instead of STARTTLS. Exchange Online does not offer it.
    #[arg(long)]
    pub implicit_tls: bool,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Which protocols to check, in this order (SMTP runs first when --send is given, so IMAP
    /// can find the message).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "imap,pop,smtp"
    )]
    pub protocols: Vec<ProtocolArg>,
    /// Host for all three protocols (each --PROTO-host overrides it).
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long, value_name = "HOST")]
    pub imap_host: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub imap_port: Option<u16>,
    #[arg(long, value_name = "HOST")]
    pub pop_host: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub pop_port: Option<u16>,
    #[arg(long, value_name = "HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub smtp_port: Option<u16>,
    /// IMAP and POP: plaintext then STARTTLS/STLS instead of implicit TLS.
    #[arg(long)]
    pub starttls: bool,
    /// SMTP: implicit TLS (465) instead of STARTTLS (587).
    #[arg(long)]
    pub implicit_tls: bool,
    /// IMAP: EXAMINE (read-only) one folder for its message count [default folder: INBOX].
    #[arg(long, value_name = "FOLDER", num_args = 0..=1, default_missing_value = "INBOX")]
    pub examine: Option<String>,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub common: Common,
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
    /// Print JSON instead of text (one object per check; `check` wraps them).
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
    Plan(#[from] PlanError),
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

fn provider(p: ProviderArg) -> Provider {
    match p {
        ProviderArg::Microsoft => Provider::Microsoft,
        ProviderArg::Google => Provider::Google,
        ProviderArg::Custom => Provider::Custom,
    }
}

fn security(implicit: bool) -> Security {
    if implicit {
        Security::ImplicitTls
    } else {
        Security::StartTls
    }
}

impl Common {
    /// The plan without checks; the subcommand adds them.
    fn plan(self) -> Result<Plan, UsageError> {
        let token = self.token.source()?;
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
        Ok(Plan {
            user,
            mailbox,
            token,
            mechanism,
            ca_files: self.ca_files,
            extra_roots: Vec::new(),
            timeout: plan::timeout(self.output.timeout)?,
            limits: Limits::default(),
            transcript: self.output.verbose,
            checks: Vec::new(),
        })
    }
}

impl SendArgs {
    /// The test message, sent from `--from` or else the mailbox checked.
    fn plan(self, mailbox: &str) -> Result<Option<SendPlan>, PlanError> {
        if !self.send {
            if !self.to.is_empty() || self.from.is_some() {
                return Err(PlanError::RecipientWithoutSend);
            }
            return Ok(None);
        }
        if self.to.is_empty() {
            return Err(PlanError::SendWithoutRecipient);
        }
        let to = self
            .to
            .iter()
            .map(|a| plan::check_address("--to", a))
            .collect::<Result<Vec<_>, _>>()?;
        let from = match self.from {
            Some(f) => plan::check_address("--from", &f)?,
            None => mailbox.to_string(),
        };
        Ok(Some(SendPlan::new(from, to, plan::new_run_id())))
    }
}

impl ImapArgs {
    pub fn into_plan(self) -> Result<Plan, UsageError> {
        let provider = provider(self.common.provider);
        let mut plan = self.common.plan()?;
        let endpoint = Endpoint::resolve(
            Protocol::Imap,
            provider,
            self.host,
            self.port,
            security(!self.starttls),
        )?;
        plan.checks.push(Check::Imap {
            endpoint,
            options: ImapOptions {
                examine: self.examine,
                find_message_id: None,
            },
        });
        Ok(plan)
    }
}

impl PopArgs {
    pub fn into_plan(self) -> Result<Plan, UsageError> {
        let provider = provider(self.common.provider);
        let mut plan = self.common.plan()?;
        let endpoint = Endpoint::resolve(
            Protocol::Pop,
            provider,
            self.host,
            self.port,
            security(!self.starttls),
        )?;
        plan.checks.push(Check::Pop { endpoint });
        Ok(plan)
    }
}

/// SMTP uses STARTTLS unless asked for implicit TLS or pointed at port 465.
fn smtp_security(implicit_tls: bool, port: Option<u16>) -> Security {
    security(implicit_tls || port == Some(465))
}

impl SmtpArgs {
    pub fn into_plan(self) -> Result<Plan, UsageError> {
        let provider = provider(self.common.provider);
        let mut plan = self.common.plan()?;
        let endpoint = Endpoint::resolve(
            Protocol::Smtp,
            provider,
            self.host,
            self.port,
            smtp_security(self.implicit_tls, self.port),
        )?;
        let send = self.send.plan(plan.authzid())?;
        plan.checks.push(Check::Smtp { endpoint, send });
        Ok(plan)
    }
}

impl CheckArgs {
    pub fn into_plan(self) -> Result<Plan, UsageError> {
        let provider = provider(self.common.provider);
        let mut protocols = Vec::new();
        for p in &self.protocols {
            if protocols.contains(p) {
                let name = match p {
                    ProtocolArg::Imap => "imap",
                    ProtocolArg::Pop => "pop",
                    ProtocolArg::Smtp => "smtp",
                };
                return Err(PlanError::DuplicateProtocol(name).into());
            }
            protocols.push(*p);
        }
        if protocols.is_empty() {
            return Err(PlanError::NoProtocols.into());
        }
        let mut plan = self.common.plan()?;
        let send = if protocols.contains(&ProtocolArg::Smtp) {
            self.send.plan(plan.authzid())?
        } else if self.send.send {
            return Err(UsageError::Plan(PlanError::SendWithoutSmtp));
        } else {
            None
        };
        // Look for the message over IMAP when it was sent to the mailbox being checked.
        let find = send
            .as_ref()
            .filter(|s| s.to.iter().any(|t| t.eq_ignore_ascii_case(plan.authzid())))
            .map(|s| s.message_id.clone());
        if send.is_some() {
            protocols.sort_by_key(|p| *p != ProtocolArg::Smtp);
        }
        let host = |specific: Option<String>| specific.or_else(|| self.host.clone());
        let mut send = send;
        for p in protocols {
            let check = match p {
                ProtocolArg::Imap => Check::Imap {
                    endpoint: Endpoint::resolve(
                        Protocol::Imap,
                        provider,
                        host(self.imap_host.clone()),
                        self.imap_port,
                        security(!self.starttls),
                    )?,
                    options: ImapOptions {
                        examine: self.examine.clone(),
                        find_message_id: find.clone(),
                    },
                },
                ProtocolArg::Pop => Check::Pop {
                    endpoint: Endpoint::resolve(
                        Protocol::Pop,
                        provider,
                        host(self.pop_host.clone()),
                        self.pop_port,
                        security(!self.starttls),
                    )?,
                },
                ProtocolArg::Smtp => Check::Smtp {
                    endpoint: Endpoint::resolve(
                        Protocol::Smtp,
                        provider,
                        host(self.smtp_host.clone()),
                        self.smtp_port,
                        smtp_security(self.implicit_tls, self.smtp_port),
                    )?,
                    send: send.take(),
                },
            };
            plan.checks.push(check);
        }
        Ok(plan)
    }
}
