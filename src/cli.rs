//! Command-line flags (clap), copied as they are into the library's raw arguments; every
//! default and rule that turns them into a plan lives in `xoauth::plan`. Binary only: the
//! library never sees clap.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use xoauth::plan::args::{
    DEFAULT_DEADLINE_SECS, DEFAULT_LOGIN_WAIT_SECS, DEFAULT_TIMEOUT_SECS, Environment, RawCheck,
    RawCommon, RawImap, RawOAuth, RawPop, RawSend, RawSetup, RawSmtp, RawTokenCmd, RawTokenSource,
    seconds,
};
use xoauth::plan::{Flow, Protocol, Provider};
use xoauth::sasl::{Mechanism, MechanismChoice};

#[derive(Parser, Debug)]
#[command(
    name = "xoauth",
    version = xoauth::report::version::SHORT,
    long_version = xoauth::report::version::LONG,
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
    // Boxed: its flags (the audit outputs among them) make it far larger than the others.
    Check(Box<CheckArgs>),
    /// Obtain a token (or read a given one) and show its decoded claims and expiry.
    Token(TokenCmdArgs),
    /// The token cache in the OS keyring.
    #[command(subcommand)]
    Cache(CacheCmd),
    /// Print the Exchange Online PowerShell and Entra steps that give an app access to mailboxes.
    SetupScript(SetupArgs),
    /// Who still signs in with legacy (Basic) authentication, per protocol, from Entra sign-in
    /// logs; or the KQL that answers it in Log Analytics.
    LegacyAuth(LegacyAuthArgs),
    /// Run the checks against a built-in mock of Exchange Online (no tenant, no network).
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff): `xoauth man | man -l -`, or one subcommand's, `xoauth man imap`.
    Man {
        /// The subcommand whose page to print [default: xoauth(1), which lists them].
        subcommand: Option<String>,
    },
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
    /// Exchange Online High Volume Email: smtp.hve.mx.microsoft:587, SMTP only, internal
    /// recipients only; the app must be on the HVE account's allow-list (Add-HVEAppAccess).
    MicrosoftHve,
    /// Any other server: give --host.
    Custom,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MechanismArg {
    /// XOAUTH2 when offered, else OAUTHBEARER.
    Auto,
    /// XOAUTH2 only (Google's and Microsoft's mechanism; Exchange Online offers only this).
    Xoauth2,
    /// OAUTHBEARER only (RFC 7628; Dovecot, Gmail and other standards-following servers).
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
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Not supported: caught here so that the refusal does not repeat it (clap's own error
    /// would, and a stray argument is often a pasted secret).
    #[arg(hide = true, value_name = "ARG")]
    pub stray: Vec<String>,
}

/// A named set of flags from the config file (`src/profile_args.rs` turns it into flags before
/// the final parse; the plan never sees these two).
#[derive(Args, Debug)]
#[command(next_help_heading = "Profiles")]
pub struct ProfileArgs {
    /// Take the flags of profile NAME from the config file ([profile.NAME]); a flag given on
    /// the command line wins over the profile's value for it. A key is a long flag's name
    /// without the dashes (client-id = "…", no-cache = true); relative paths are relative to
    /// the config file's directory; secrets only by -file or -env keys.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The config file holding the profiles [default: $XOAUTH_CONFIG, else config.toml in
    /// the platform's config directory: $XDG_CONFIG_HOME/xoauth or ~/.config/xoauth on Linux,
    /// ~/Library/Application Support/xoauth on macOS, %APPDATA%\xoauth on Windows].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Not supported: a secret on the command line is visible to every user of the machine.
    #[arg(long, value_name = "SECRET", hide = true)]
    pub client_secret: Option<String>,
    /// Not supported, like --client-secret.
    #[arg(long, value_name = "PASSWORD", hide = true)]
    pub certificate_password: Option<String>,
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
    /// --provider custom: read the authorize, token and device endpoints from this issuer's
    /// discovery document (<URL>/.well-known/openid-configuration; OpenID Connect, RFC 8414).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The interactive flow's redirect as registered for the app, e.g.
    /// http://127.0.0.1/callback: http on a loopback address; host and path are kept, the port
    /// is chosen at run time unless given (RFC 8252) [default: http://localhost:PORT].
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,
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
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_LOGIN_WAIT_SECS, value_parser = seconds)]
    pub login_wait: f64,
}

/// `--mailbox` and `--mechanism` are shared with the checks but mean nothing here (a token is
/// for a user, and no server is asked): hidden, and refused when given.
#[derive(Args, Debug)]
#[command(
    mut_arg("mailbox", |a| a.hide(true).value_parser(token_mailbox)),
    mut_arg("mechanism", |a| a.hide(true).value_parser(token_mechanism)),
    mut_arg("json", |a| a.help(
        "Print the token report as one JSON object (the token's origin, claims and expiry, \
         or why none could be had; never the token itself). Not with --print."
    ))
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
pub struct LegacyAuthArgs {
    /// An Entra sign-in log export: the admin center's CSV or JSON download, or the JSON of
    /// Graph's GET /auditLogs/signIns (format detected); `-` reads standard input.
    #[arg(long, value_name = "PATH", required_unless_present_any = ["kql", "graph"])]
    pub file: Option<PathBuf>,
    /// Count only sign-ins of the last WINDOW: a number and d, h or m, e.g. 7d, 24h
    /// [default: the whole file; 7d with --kql].
    #[arg(long, value_name = "WINDOW")]
    pub since: Option<String>,
    /// Print ready-to-paste KQL over Log Analytics' SigninLogs giving the same summary.
    #[arg(long, conflicts_with_all = ["file", "json"])]
    pub kql: bool,
    /// One JSON summary object on standard output instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML page (the bulk audit's style) to FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "kql")]
    pub html: Option<PathBuf>,
    /// Read the sign-in logs live from Microsoft Graph (GET /beta/auditLogs/signIns, every
    /// page, Retry-After honoured) with a token that has AuditLog.Read.All, e.g.
    /// `T=$(xoauth token --client-id APP --tenant T --client-secret-env S --scope
    /// https://graph.microsoft.com/.default --print)`. Needs Entra ID P1/P2 [default window: 7d].
    #[arg(long, conflicts_with_all = ["file", "kql"], requires = "graph_token")]
    pub graph: bool,
    /// Graph's base URL (a national cloud's, or a test server's).
    #[arg(long, value_name = "URL", default_value = xoauth::legacy::graph::DEFAULT_BASE, requires = "graph")]
    pub graph_url: String,
    /// With --graph: the environment variable holding the Graph access token.
    #[arg(long = "access-token-env", value_name = "VAR", group = "graph_token")]
    pub access_token_env: Option<String>,
    /// With --graph: the file holding the Graph access token.
    #[arg(long = "access-token-file", value_name = "FILE", group = "graph_token")]
    pub access_token_file: Option<PathBuf>,
    /// With --graph: also trust this CA (PEM), for a private Graph stand-in.
    #[arg(long, value_name = "PEM", requires = "graph")]
    pub ca_file: Vec<PathBuf>,
    /// With --graph: seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, requires = "graph")]
    pub timeout: f64,
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

#[derive(Subcommand, Debug)]
pub enum CacheCmd {
    /// List cached tokens (keys and expiry, never the tokens).
    List {
        /// Print one JSON object: the keyring backend and each entry's key and expiry (never
        /// a token).
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
    pub bundle: BundleArgs,
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
    pub bundle: BundleArgs,
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
    pub bundle: BundleArgs,
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
    /// Audit every mailbox in FILE ("-": standard input) with one token: one address per line
    /// (# comments), or CSV with a header naming the address column (PrimarySmtpAddress,
    /// EmailAddress, Email, Mail, Address, SMTP or UserPrincipalName). App-only: each mailbox
    /// is opened as itself; with --user: the user opens each (shared) mailbox.
    #[arg(long, value_name = "FILE", conflicts_with = "mailbox")]
    pub mailboxes: Option<PathBuf>,
    /// With --mailboxes: how many mailboxes are checked at once, 1 to 256 [default: 8]. Each
    /// mailbox has one connection at a time (its protocols run one after another), within
    /// Exchange Online's per-mailbox limits (3 SMTP, about 15-20 IMAP/POP connections); no
    /// per-app limit is documented, so the default keeps one app's load on the tenant small.
    #[arg(long, value_name = "N", requires = "mailboxes")]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub audit_outputs: AuditOutputArgs,
}

/// Where a `check` is also reported, for CI and monitoring. Each renders the same result (a
/// single check is a one-row audit), so their counts agree; each file is written whole or not
/// at all (a temporary file in the same directory, renamed), and every path is tried for
/// writing before anything is checked.
#[derive(Args, Debug, Clone, Default)]
pub struct AuditOutputArgs {
    /// Also write JUnit XML for CI: a test suite per protocol, a test case per mailbox.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write one self-contained HTML page (no scripts, no external files): the mailbox ×
    /// protocol grid, each failure's cause and fix, the token's claims, the run's date.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write a Prometheus text-format file for node_exporter's textfile collector
    /// (xoauth_check_success{mailbox,protocol}, durations, token expiry, last run).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Nagios/Icinga plugin mode: standard output is one status line with performance data,
    /// and the exit code is the plugin's. OK (0): every check passed. WARNING (1): the only
    /// failures are throttling or the server's temporary failure, a line of the mailbox list
    /// is not an address, or the token expires within 10 minutes. CRITICAL (2): any other
    /// failure, including a token that could not be obtained or was refused. UNKNOWN (3):
    /// nothing was checked (bad flags, unreadable input, an output file that cannot be
    /// written).
    #[arg(long, conflicts_with = "json")]
    pub nagios: bool,
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
    /// Print JSON instead of text: one report object (`check`: one object holding a report
    /// per protocol).
    #[arg(long)]
    pub json: bool,
    /// Include the protocol transcript (secrets redacted).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Seconds to wait for each network step.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = seconds)]
    pub timeout: f64,
    /// Seconds one whole check may take, end to end, however the server paces its answers.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_DEADLINE_SECS, value_parser = seconds)]
    pub deadline: f64,
    /// Wait for every reply before sending the next command. By default xoauth sends a
    /// command ahead where the protocol allows it (IMAP LIST with AUTHENTICATE, SMTP
    /// MAIL/RCPT/DATA when the server offers PIPELINING) and does not wait for the answer to
    /// LOGOUT/QUIT; use this flag for a server that mishandles that.
    #[arg(long)]
    pub no_pipelining: bool,
}

/// `--support-bundle`, on the commands that check a server.
#[derive(Args, Debug, Clone, Default)]
pub struct BundleArgs {
    /// Also write a support bundle to FILE (.tar.gz): the report, each connection's redacted
    /// transcript, the token's claims, the ids, the environment and a filter for the Entra
    /// sign-in logs. No secret goes in it.
    #[arg(long, value_name = "FILE")]
    pub support_bundle: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
#[command(mut_arg("json", |a| a.help(
    "Print one JSON array instead of text: per demo case, its title, what was expected, \
     whether it happened, and the reports of its checks."
)))]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,
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

fn provider(p: ProviderArg) -> Provider {
    match p {
        ProviderArg::Microsoft => Provider::Microsoft,
        ProviderArg::MicrosoftUsgov => Provider::MicrosoftUsGov,
        ProviderArg::MicrosoftChina => Provider::MicrosoftChina,
        ProviderArg::Google => Provider::Google,
        ProviderArg::MicrosoftHve => Provider::MicrosoftHve,
        ProviderArg::Custom => Provider::Custom,
    }
}

fn protocol(p: ProtocolArg) -> Protocol {
    match p {
        ProtocolArg::Imap => Protocol::Imap,
        ProtocolArg::Pop => Protocol::Pop,
        ProtocolArg::Smtp => Protocol::Smtp,
    }
}

fn protocols(ps: Vec<ProtocolArg>) -> Vec<Protocol> {
    ps.into_iter().map(protocol).collect()
}

/// Whether a browser can plausibly be opened on the user's screen (not over SSH without a
/// display).
fn has_browser() -> bool {
    xoauth::token::flow::browser::headless_here().is_none()
}

impl SetupArgs {
    pub fn into_raw(self) -> RawSetup {
        RawSetup {
            app_id: self.app_id,
            tenant: self.tenant,
            service_principal_id: self.service_principal_id,
            mailboxes: self.mailbox,
            protocols: protocols(self.protocols),
            smtp_rbac: self.smtp_rbac,
        }
    }
}

impl OAuthArgs {
    fn into_raw(self) -> RawOAuth {
        RawOAuth {
            client_id: self.client_id,
            tenant: self.tenant,
            flow: self.flow.map(|f| match f {
                FlowArg::Interactive => Flow::Interactive,
                FlowArg::DeviceCode => Flow::DeviceCode,
                FlowArg::ClientCredentials => Flow::ClientCredentials,
            }),
            scopes: self.scopes,
            client_secret_env: self.client_secret_env,
            client_secret_file: self.client_secret_file,
            client_secret_prompt: self.client_secret_prompt,
            certificate: self.certificate,
            certificate_password_env: self.certificate_password_env,
            client_secret_on_command_line: self.client_secret.is_some(),
            certificate_password_on_command_line: self.certificate_password.is_some(),
            authority: self.authority,
            authorize_url: self.authorize_url,
            token_url: self.token_url,
            device_url: self.device_url,
            no_cache: self.no_cache,
            refresh: self.refresh,
            no_browser: self.no_browser,
            login_wait: self.login_wait,
            redirect_uri: self.redirect_uri,
            issuer: self.issuer,
            command_line: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

impl Common {
    fn into_raw(self) -> RawCommon {
        RawCommon {
            provider: provider(self.provider),
            user: self.user,
            mailbox: self.mailbox,
            mechanism: match self.mechanism {
                MechanismArg::Auto => MechanismChoice::Auto,
                MechanismArg::Xoauth2 => MechanismChoice::Only(Mechanism::XOAuth2),
                MechanismArg::Oauthbearer => MechanismChoice::Only(Mechanism::OAuthBearer),
            },
            ca_files: self.ca_files,
            token: RawTokenSource {
                access_token_env: self.token.access_token_env,
                access_token_file: self.token.access_token_file,
                access_token_on_command_line: self.token.access_token.is_some(),
            },
            stray_arguments: self.stray.len(),
            oauth: self.oauth.into_raw(),
            timeout: self.output.timeout,
            deadline: self.output.deadline,
            verbose: self.output.verbose,
            pipelining: !self.output.no_pipelining,
            env: Environment {
                browser: has_browser(),
                stdin_is_terminal: std::io::stdin().is_terminal(),
            },
        }
    }
}

impl SendArgs {
    fn into_raw(self) -> RawSend {
        RawSend {
            send: self.send,
            to: self.to,
            from: self.from,
        }
    }
}

impl ImapArgs {
    pub fn into_raw(self) -> RawImap {
        RawImap {
            host: self.host,
            port: self.port,
            starttls: self.starttls,
            examine: self.examine,
            common: self.common.into_raw(),
        }
    }
}

impl PopArgs {
    pub fn into_raw(self) -> RawPop {
        RawPop {
            host: self.host,
            port: self.port,
            starttls: self.starttls,
            common: self.common.into_raw(),
        }
    }
}

impl SmtpArgs {
    pub fn into_raw(self) -> RawSmtp {
        RawSmtp {
            host: self.host,
            port: self.port,
            implicit_tls: self.implicit_tls,
            send: self.send.into_raw(),
            common: self.common.into_raw(),
        }
    }
}

impl CheckArgs {
    pub fn into_raw(self) -> RawCheck {
        RawCheck {
            protocols: protocols(self.protocols),
            host: self.host,
            imap_host: self.imap_host,
            imap_port: self.imap_port,
            pop_host: self.pop_host,
            pop_port: self.pop_port,
            smtp_host: self.smtp_host,
            smtp_port: self.smtp_port,
            starttls: self.starttls,
            implicit_tls: self.implicit_tls,
            examine: self.examine,
            send: self.send.into_raw(),
            common: self.common.into_raw(),
            // Read by the binary (`main.rs`), which owns the I/O.
            mailboxes: None,
            concurrency: self.concurrency,
        }
    }
}

impl TokenCmdArgs {
    pub fn into_raw(self) -> RawTokenCmd {
        RawTokenCmd {
            protocols: protocols(self.protocols),
            common: self.common.into_raw(),
        }
    }
}
