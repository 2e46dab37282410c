//! Command-line flags (clap) and their translation into a validated plan. Binary only: the
//! library never sees clap.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use xoauth::plan::{
    self, Check, ClientCredential, Endpoint, Flow, ImapOptions, OAuthPlan, Plan, PlanError,
    Protocol, Provider, SecretSource, SendPlan, TokenPlan,
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
    /// Obtain a token (or read a given one) and show its decoded claims and expiry.
    Token(TokenCmdArgs),
    /// The token cache in the OS keyring.
    #[command(subcommand)]
    Cache(CacheCmd),
    /// Print the Exchange Online PowerShell and Entra steps that give an app access to mailboxes.
    SetupScript(SetupArgs),
    /// Run the checks against a built-in mock of Exchange Online (no tenant, no network).
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    /// Exchange Online: outlook.office365.com (IMAP 993, POP 995), smtp.office365.com:587.
    Microsoft,
    /// Exchange Online GCC High / DoD: outlook.office365.us, login.microsoftonline.us.
    MicrosoftUsgov,
    /// Exchange Online by 21Vianet: partner.outlook.cn, login.partner.microsoftonline.cn.
    MicrosoftChina,
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
pub enum FlowArg {
    /// Authorization code + PKCE with a browser and a loopback redirect.
    Interactive,
    /// Enter a code on any device (RFC 8628).
    DeviceCode,
    /// App-only, with --client-secret-* or --certificate.
    ClientCredentials,
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
    /// The account the access token was issued to (UPN / e-mail address). Not needed for an
    /// app-only token (client credentials), which has no user.
    #[arg(long, short = 'u', value_name = "ADDR")]
    pub user: Option<String>,
    /// Open this shared mailbox instead of the user's own (sent as XOAUTH2 user=).
    #[arg(long, value_name = "ADDR")]
    pub mailbox: Option<String>,
    /// SASL mechanism.
    #[arg(long, value_enum, default_value = "auto")]
    pub mechanism: MechanismArg,
    /// Also trust the CA certificates in this PEM file (repeatable): a private or on-premises
    /// CA, the mock.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub oauth: OAuthArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Obtaining the token from an identity provider instead of being given one.
#[derive(Args, Debug)]
#[command(next_help_heading = "Obtaining a token (OAuth)")]
pub struct OAuthArgs {
    /// Obtain the token with this app (client) id; `thunderbird` uses Thunderbird's
    /// multi-tenant public client (9e5f94bc-…), for tenants that consented to it.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Directory (tenant) id or domain; required for Microsoft.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// How to obtain the token [default: client-credentials with a secret or certificate, else
    /// interactive when a browser can be opened, else device-code].
    #[arg(long, value_enum)]
    pub flow: Option<FlowArg>,
    /// Scope to request (repeatable) [default: the protocols' delegated scopes +
    /// offline_access, or https://outlook.office365.com/.default for client credentials].
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Read the client secret from this environment variable.
    #[arg(long, value_name = "VAR", group = "credential")]
    pub client_secret_env: Option<String>,
    /// Read the client secret from this file.
    #[arg(long, value_name = "FILE", group = "credential")]
    pub client_secret_file: Option<PathBuf>,
    /// Ask for the client secret on the terminal (no echo).
    #[arg(long, group = "credential")]
    pub client_secret_prompt: bool,
    /// Certificate credential: a PEM file with certificate and private key, or PKCS#12 (.pfx).
    #[arg(long, value_name = "FILE", group = "credential")]
    pub certificate: Option<PathBuf>,
    /// Password of a PKCS#12 certificate, from this environment variable.
    #[arg(long, value_name = "VAR", requires = "certificate")]
    pub certificate_password_env: Option<String>,
    /// Microsoft login host to use instead of the cloud's (a test identity platform).
    #[arg(long, value_name = "URL")]
    pub authority: Option<String>,
    /// --provider custom: the authorization endpoint.
    #[arg(long, value_name = "URL")]
    pub authorize_url: Option<String>,
    /// --provider custom: the token endpoint.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// --provider custom: the device authorization endpoint.
    #[arg(long, value_name = "URL")]
    pub device_url: Option<String>,
    /// Neither read nor write the OS-keyring token cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Get a new token even if one is cached (the new one is cached).
    #[arg(long)]
    pub refresh: bool,
    /// Do not try to open a browser for the interactive flow (the URL is printed anyway).
    #[arg(long)]
    pub no_browser: bool,
    /// Seconds to wait for the user to sign in or approve a device code.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = seconds)]
    pub login_wait: f64,
}

/// `--mailbox` and `--mechanism` are shared with the checks but mean nothing here (a token is
/// for a user, and no server is asked): hidden, and refused when given.
#[derive(Args, Debug)]
#[command(
    mut_arg("mailbox", |a| a.hide(true).value_parser(token_mailbox)),
    mut_arg("mechanism", |a| a.hide(true).value_parser(token_mechanism))
)]
pub struct TokenCmdArgs {
    /// Which protocols the token is for (picks the default scopes).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "imap,pop,smtp"
    )]
    pub protocols: Vec<ProtocolArg>,
    /// Write the raw access token to standard output (and nothing else), for piping; every
    /// message, the report and any error go to standard error. Not with --json.
    #[arg(long, conflicts_with = "json")]
    pub print: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// The app's Application (client) id.
    #[arg(long, value_name = "GUID")]
    pub app_id: String,
    /// Directory (tenant) id (a GUID) or one of its domains, e.g. contoso.onmicrosoft.com.
    #[arg(long, value_name = "GUID|DOMAIN")]
    pub tenant: String,
    /// The Enterprise Application's object id (the token's oid) [default: looked up in the script].
    #[arg(long, value_name = "GUID")]
    pub service_principal_id: Option<String>,
    /// A mailbox the app must open (repeatable).
    #[arg(long, value_name = "ADDR", required = true)]
    pub mailbox: Vec<String>,
    /// Which protocols to grant.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "imap,pop,smtp"
    )]
    pub protocols: Vec<ProtocolArg>,
    /// Grant SMTP through RBAC for Applications instead of SMTP.SendAsApp + FullAccess.
    #[arg(long)]
    pub smtp_rbac: bool,
}

impl SetupArgs {
    pub fn request(self) -> Result<xoauth::setup_script::SetupRequest, UsageError> {
        let mut protocols: Vec<Protocol> = Vec::new();
        for p in self.protocols.into_iter().map(protocol) {
            if !protocols.contains(&p) {
                protocols.push(p);
            }
        }
        let req = xoauth::setup_script::SetupRequest {
            app_id: self.app_id,
            tenant: self.tenant,
            service_principal_id: self.service_principal_id,
            mailboxes: self.mailbox,
            protocols,
            smtp_rbac: self.smtp_rbac,
        };
        // Every value ends up in PowerShell: refuse what is not an id, a domain or an address
        // first, with the PowerShell reason (a typographic quote is named as such), then hold
        // each mailbox to the rule every command has for an address.
        xoauth::setup_script::validate(&req)?;
        for m in &req.mailboxes {
            plan::check_address("--mailbox", m)?;
        }
        Ok(req)
    }
}

#[derive(Subcommand, Debug)]
pub enum CacheCmd {
    /// List cached tokens (keys and expiry, never the tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete every token xoauth cached.
    Clear,
}

#[derive(Args, Debug)]
pub struct ImapArgs {
    /// Server host (overrides the provider's), may carry the port: mail.example:1993, [::1]:993.
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
    /// Server host (overrides the provider's), may carry the port: mail.example:1993, [::1]:993.
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
    /// Server host (overrides the provider's), may carry the port: mail.example:1993, [::1]:993.
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
    /// Host for all three protocols, without a port (each --PROTO-host overrides it).
    #[arg(long)]
    pub host: Option<String>,
    /// IMAP server host name (overrides --host and the provider's).
    #[arg(long, value_name = "HOST")]
    pub imap_host: Option<String>,
    /// IMAP server port [default: 993, or 143 with --starttls].
    #[arg(long, value_name = "PORT")]
    pub imap_port: Option<u16>,
    /// POP3 server host name (overrides --host and the provider's).
    #[arg(long, value_name = "HOST")]
    pub pop_host: Option<String>,
    /// POP3 server port [default: 995, or 110 with --starttls].
    #[arg(long, value_name = "PORT")]
    pub pop_port: Option<u16>,
    /// SMTP server host name (overrides --host and the provider's).
    #[arg(long, value_name = "HOST")]
    pub smtp_host: Option<String>,
    /// SMTP server port [default: 587 with STARTTLS; 465 with --implicit-tls].
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
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    pub timeout: f64,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Longest wait a `SECS` flag accepts: a day (the plan refuses more).
const MAX_SECS: f64 = 86_400.0;

/// A `SECS` value: a finite number of seconds, more than 0 and at most a day. `f64` parsing alone
/// takes `inf`, `nan` and `1e300`, which no wait can be.
fn seconds(value: &str) -> Result<f64, String> {
    let range = "give a number of seconds more than 0 and at most 86400 (24 hours)";
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number; {range}"))?;
    if !secs.is_finite() {
        Err(format!("{value:?} is not a finite number; {range}"))
    } else if secs > MAX_SECS {
        Err(format!("{value} seconds is too large; {range}"))
    } else if secs <= 0.0 {
        Err(format!("{value} seconds is too small; {range}"))
    } else {
        Ok(secs)
    }
}

/// Why `xoauth token` refuses `--mailbox` and `--mechanism`.
const NOT_FOR_TOKEN: &str = "does nothing with `xoauth token`: a token is for the user, \
                             whatever mailbox or mechanism a check would use; leave it out";

/// `xoauth token --mailbox`: refused (see [`TokenCmdArgs`]).
fn token_mailbox(_: &str) -> Result<String, String> {
    Err(format!("--mailbox {NOT_FOR_TOKEN}"))
}

/// `xoauth token --mechanism`: refused, except its default, which clap parses too.
fn token_mechanism(value: &str) -> Result<MechanismArg, String> {
    match value {
        "auto" => Ok(MechanismArg::Auto),
        _ => Err(format!("--mechanism {NOT_FOR_TOKEN}")),
    }
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
        "no access token: use --access-token-env VAR, --access-token-file FILE, pipe it on \
         standard input, or obtain one with --client-id"
    )]
    NoToken,
    #[error(
        "give either an access token (--access-token-*) or --client-id to obtain one, not both"
    )]
    TokenAndClientId,
    #[error(transparent)]
    Provider(#[from] xoauth::token::provider::ProviderError),
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
    #[error("--login-wait must be more than 0 seconds")]
    BadLoginWait,
    #[error(
        "--user ADDR is required: the account the token is for (only an app-only token, \
         from --flow client-credentials, has no user)"
    )]
    UserRequired,
    #[error(
        "an app-only token has no user: give the mailbox to open with --mailbox ADDR (or --user ADDR)"
    )]
    MailboxRequired,
    #[error(transparent)]
    Setup(#[from] xoauth::setup_script::SetupError),
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
        ProviderArg::MicrosoftUsgov => Provider::MicrosoftUsGov,
        ProviderArg::MicrosoftChina => Provider::MicrosoftChina,
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

fn protocol(p: ProtocolArg) -> Protocol {
    match p {
        ProtocolArg::Imap => Protocol::Imap,
        ProtocolArg::Pop => Protocol::Pop,
        ProtocolArg::Smtp => Protocol::Smtp,
    }
}

/// Whether a browser can plausibly be opened here.
fn has_browser() -> bool {
    cfg!(any(target_os = "macos", target_os = "windows"))
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

impl OAuthArgs {
    fn given(&self) -> bool {
        self.tenant.is_some()
            || self.flow.is_some()
            || !self.scopes.is_empty()
            || self.credential().is_some()
            || self.authority.is_some()
            || self.token_url.is_some()
    }

    fn credential(&self) -> Option<ClientCredential> {
        if let Some(var) = &self.client_secret_env {
            return Some(ClientCredential::Secret(SecretSource::Env(var.clone())));
        }
        if let Some(path) = &self.client_secret_file {
            return Some(ClientCredential::Secret(SecretSource::File(path.clone())));
        }
        if self.client_secret_prompt {
            return Some(ClientCredential::Secret(SecretSource::Prompt));
        }
        self.certificate
            .as_ref()
            .map(|path| ClientCredential::Certificate {
                path: path.clone(),
                password: self.certificate_password_env.clone().map(SecretSource::Env),
            })
    }

    /// The OAuth plan, when a client id asks for one.
    fn plan(
        &self,
        provider: Provider,
        user: Option<&str>,
        protocols: &[Protocol],
    ) -> Result<Option<OAuthPlan>, UsageError> {
        let Some(client_id) = &self.client_id else {
            return if self.given() {
                Err(UsageError::OAuthWithoutClientId)
            } else {
                Ok(None)
            };
        };
        let thunderbird = client_id.eq_ignore_ascii_case("thunderbird");
        let client_id = if thunderbird {
            xoauth::token::provider::THUNDERBIRD_CLIENT_ID.to_string()
        } else {
            client_id.clone()
        };
        let credential = self.credential();
        let flow = match (self.flow, &credential) {
            (Some(FlowArg::ClientCredentials), None) => return Err(UsageError::NoCredential),
            (Some(FlowArg::ClientCredentials), Some(_)) | (None, Some(_)) => {
                Flow::ClientCredentials
            }
            (Some(_), Some(_)) => return Err(UsageError::CredentialWithoutClientCredentials),
            (Some(FlowArg::Interactive), None) => Flow::Interactive,
            (Some(FlowArg::DeviceCode), None) => Flow::DeviceCode,
            // Thunderbird's app registers https://localhost only, so no loopback redirect.
            (None, None) if !thunderbird && !self.no_browser && has_browser() => Flow::Interactive,
            (None, None) => Flow::DeviceCode,
        };
        let custom = xoauth::token::provider::CustomUrls {
            authorize: self.authorize_url.clone(),
            token: self.token_url.clone(),
            device: self.device_url.clone(),
        };
        let authority = xoauth::token::provider::Authority::resolve(
            provider,
            self.tenant.as_deref(),
            self.authority.as_deref(),
            &custom,
        )?;
        let app_only = flow == Flow::ClientCredentials;
        let scopes = if self.scopes.is_empty() {
            xoauth::token::provider::default_scopes(provider, app_only, protocols)?
        } else {
            self.scopes.clone()
        };
        let user_wait = plan::timeout(self.login_wait).map_err(|_| UsageError::BadLoginWait)?;
        Ok(Some(OAuthPlan {
            authority,
            tenant: self.tenant.clone().unwrap_or_default(),
            client_id,
            flow,
            scopes,
            credential,
            login_hint: user.filter(|_| !app_only).map(str::to_string),
            cache: !self.no_cache,
            refresh: self.refresh,
            open_browser: !self.no_browser,
            user_wait,
        }))
    }
}

impl Common {
    /// The plan without checks; the subcommand adds them. `protocols` picks default scopes;
    /// `opens_mailbox` is false only for the token command, which needs no mailbox.
    fn plan(self, protocols: &[Protocol], opens_mailbox: bool) -> Result<Plan, UsageError> {
        let user = self
            .user
            .as_deref()
            .map(|u| plan::check_address("--user", u))
            .transpose()?;
        let oauth = self
            .oauth
            .plan(provider(self.provider), user.as_deref(), protocols)?;
        let given = self.token.access_token_env.is_some()
            || self.token.access_token_file.is_some()
            || self.token.access_token.is_some();
        let token = match oauth {
            Some(_) if given => return Err(UsageError::TokenAndClientId),
            Some(oauth) => TokenPlan::OAuth(Box::new(oauth)),
            None => TokenPlan::Given(self.token.source()?),
        };
        let mailbox = self
            .mailbox
            .map(|m| plan::check_address("--mailbox", &m))
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
        let mut plan = self.common.plan(&[Protocol::Imap], true)?;
        let (host, port) = plan::host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Imap,
            provider,
            host,
            port,
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
        let mut plan = self.common.plan(&[Protocol::Pop], true)?;
        let (host, port) = plan::host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Pop,
            provider,
            host,
            port,
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
        let mut plan = self.common.plan(&[Protocol::Smtp], true)?;
        let (host, port) = plan::host_and_port(self.host, self.port, "--host", "--port")?;
        let endpoint = Endpoint::resolve(
            Protocol::Smtp,
            provider,
            host,
            port,
            smtp_security(self.implicit_tls, port),
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
        let wanted: Vec<Protocol> = protocols.iter().copied().map(protocol).collect();
        let mut plan = self.common.plan(&wanted, true)?;
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
        if let (_, Some(_)) = plan::host_and_port(self.host.clone(), None, "--host", "")? {
            return Err(PlanError::SharedHostWithPort(self.host.unwrap_or_default()).into());
        }
        let host = |specific: Option<String>| specific.or_else(|| self.host.clone());
        let (imap_host, imap_port) = plan::host_and_port(
            host(self.imap_host.clone()),
            self.imap_port,
            "--imap-host",
            "--imap-port",
        )?;
        let (pop_host, pop_port) = plan::host_and_port(
            host(self.pop_host.clone()),
            self.pop_port,
            "--pop-host",
            "--pop-port",
        )?;
        let (smtp_host, smtp_port) = plan::host_and_port(
            host(self.smtp_host.clone()),
            self.smtp_port,
            "--smtp-host",
            "--smtp-port",
        )?;
        let mut send = send;
        for p in protocols {
            let check = match p {
                ProtocolArg::Imap => Check::Imap {
                    endpoint: Endpoint::resolve(
                        Protocol::Imap,
                        provider,
                        imap_host.clone(),
                        imap_port,
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
                        pop_host.clone(),
                        pop_port,
                        security(!self.starttls),
                    )?,
                },
                ProtocolArg::Smtp => Check::Smtp {
                    endpoint: Endpoint::resolve(
                        Protocol::Smtp,
                        provider,
                        smtp_host.clone(),
                        smtp_port,
                        smtp_security(self.implicit_tls, smtp_port),
                    )?,
                    send: send.take(),
                },
            };
            plan.checks.push(check);
        }
        Ok(plan)
    }
}

impl TokenCmdArgs {
    pub fn into_plan(self) -> Result<Plan, UsageError> {
        let wanted: Vec<Protocol> = self.protocols.iter().copied().map(protocol).collect();
        self.common.plan(&wanted, false)
    }
}
