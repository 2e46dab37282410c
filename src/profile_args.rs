//! `--profile NAME`: the profile's keys become flags (those the command line does not set
//! already), and clap parses the arguments again, so every flag, including one added to a
//! command later, works in a profile without code here. Binary only: it needs clap.
//!
//! A key is a long flag's name without the dashes and is checked against the command's own
//! flags. A key that another profile-taking command has but this one does not
//! (`imap-port` for `xoauth imap`, `protocols` for `xoauth smtp`) is left out, so one profile
//! serves `check`, `imap`, `pop`, `smtp` and `token` alike; a key that no command has is an
//! error naming its line. Relative paths are relative to the config file's directory.

use std::any::TypeId;
use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::error::{ContextKind, ContextValue};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory as _};
use xoauth::plan::profile::{ConfigFile, Entry, Position, ProfileError, Value};

use crate::cli::Cli;

/// The commands that take `--profile`.
const WITH_PROFILES: [&str; 5] = ["imap", "pop", "smtp", "check", "token"];

/// Flags only the command line sets: a profile cannot name another profile or file, nor ask
/// for help.
const COMMAND_LINE_ONLY: [&str; 4] = ["profile", "config", "help", "version"];

/// `key` needs `other` and goes when the command line replaces it: a PKCS#12 password belongs
/// to the profile's certificate, not to one given on the command line. (clap has no public
/// getter for `requires`; `a_required_partner_is_known` keeps this list true.)
const REQUIRES: [(&str, &str); 1] = [("certificate-password-env", "certificate")];

/// Pairs the plan (not clap) requires together: a command line that replaces the partner
/// drops the profile's key too (`--mailbox x` with an audit profile is a single check, and the
/// profile's `concurrency` means nothing for it).
const PLAN_REQUIRES: [(&str, &str); 1] = [("concurrency", "mailboxes")];

/// A config file is a few profiles; anything this big is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The arguments to parse, and the profile that added to them.
pub struct Expanded {
    pub args: Vec<OsString>,
    pub applied: Option<Applied>,
}

/// A profile whose keys became flags.
pub struct Applied {
    pub name: String,
    pub path: PathBuf,
    /// The keys that became flags.
    pub keys: Vec<AppliedKey>,
}

impl Applied {
    /// What the profile added, for an error that names a flag the user did not type.
    pub fn note(&self) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|k| k.key.as_str()).collect();
        let keys = if keys.is_empty() {
            "nothing (the command line sets all its keys)".to_string()
        } else {
            keys.join(", ")
        };
        format!(
            "profile `{}` from {} set: {keys}",
            self.name,
            self.path.display()
        )
    }
}

pub struct AppliedKey {
    /// The long flag's name (`port` for the profile's `imap-port` with `xoauth imap`).
    pub flag: String,
    /// As written in the file, where it is written.
    pub key: String,
    pub at: Position,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {}", path.display())]
    File { path: PathBuf, source: ProfileError },
    #[error("the config file {} ({how}) does not exist", path.display())]
    Missing { path: PathBuf, how: &'static str },
    #[error("cannot read the config file {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {} is larger than 1 MiB: it is not a config file", path.display())]
    TooLarge { path: PathBuf },
    #[error("the config file {} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    #[error(
        "no profile `{name}`: there is no config file at {} (write one there, or give \
         --config FILE)", path.display()
    )]
    NoDefaultFile { name: String, path: PathBuf },
    #[error(
        "no profile `{name}`: no config directory is known here (neither XDG_CONFIG_HOME, \
         HOME nor APPDATA is set); give --config FILE"
    )]
    NoConfigDir { name: String },
    #[error("no profile `{name}` in {}: {}", path.display(), have(available))]
    NoProfile {
        name: String,
        path: PathBuf,
        available: Vec<String>,
    },
    #[error(
        "config file {}: {at}: profile `{profile}`: unknown key `{key}`: {why}",
        path.display()
    )]
    UnknownKey {
        path: PathBuf,
        profile: String,
        key: String,
        at: Position,
        why: String,
    },
    #[error("config file {}: {at}: profile `{profile}`: `{key}` {why}", path.display())]
    Value {
        path: PathBuf,
        profile: String,
        key: String,
        at: Position,
        why: String,
    },
}

fn have(names: &[String]) -> String {
    if names.is_empty() {
        "it has none yet (a profile is a [profile.NAME] table)".into()
    } else {
        format!("it has {}", names.join(", "))
    }
}

/// How the config file was chosen: whether a missing one is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chosen {
    Flag,
    Env,
    Default,
}

/// `args` with the profile's flags added after the command's name, when `--profile` is given;
/// `--config` alone only checks the file. Arguments clap refuses are returned as they are,
/// for the caller's parse to report.
pub fn expand(args: Vec<OsString>) -> Result<Expanded, ConfigError> {
    let unchanged = |args| {
        Ok(Expanded {
            args,
            applied: None,
        })
    };
    let mut cli = Cli::command();
    cli.build();
    let Ok(matches) = cli.clone().try_get_matches_from(&args) else {
        return unchanged(args);
    };
    let Some((command, matches)) = matches.subcommand() else {
        return unchanged(args);
    };
    if !WITH_PROFILES.contains(&command) {
        return unchanged(args);
    }
    let profile = matches
        .try_get_one::<String>("profile")
        .ok()
        .flatten()
        .cloned();
    let flag = matches.try_get_one::<PathBuf>("config").ok().flatten();
    if profile.is_none() && flag.is_none() {
        return unchanged(args);
    }
    let (path, chosen) = match (flag, env_path()) {
        (Some(path), _) => (path.clone(), Chosen::Flag),
        (None, Some(path)) => (path, Chosen::Env),
        (None, None) => match default_path() {
            Some(path) => (path, Chosen::Default),
            None => {
                return Err(ConfigError::NoConfigDir {
                    name: profile.unwrap_or_default(),
                });
            }
        },
    };
    let config = read(&path, chosen)?;
    let Some(name) = profile else {
        return unchanged(args);
    };
    let Some(config) = config else {
        return Err(ConfigError::NoDefaultFile { name, path });
    };
    let Some(profile) = config.profile(&name) else {
        return Err(ConfigError::NoProfile {
            name,
            available: config.names().iter().map(|n| n.to_string()).collect(),
            path,
        });
    };
    let sub = cli
        .find_subcommand(command)
        .expect("the parsed command exists");
    let others: Vec<&Command> = WITH_PROFILES
        .iter()
        .filter_map(|c| cli.find_subcommand(c))
        .collect();
    let checked = flag_named(sub, "protocols")
        .and_then(|arg| checked_protocols(matches, arg, &profile.entries));
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut flags = Vec::new();
    let mut keys = Vec::new();
    for entry in &profile.entries {
        let problem = |why: String| ConfigError::Value {
            path: path.clone(),
            profile: name.clone(),
            key: entry.key.clone(),
            at: entry.at,
            why,
        };
        if COMMAND_LINE_ONLY.contains(&entry.key.as_str()) {
            return Err(problem(
                "is a command-line flag only: it cannot be set in a profile".into(),
            ));
        }
        let Some(flag) = endpoint_flag(command, &entry.key, &profile.entries) else {
            continue;
        };
        let Some(arg) = flag_named(sub, flag) else {
            if others.iter().any(|c| flag_named(c, &entry.key).is_some()) {
                // Another command's key: this profile serves that command too.
                continue;
            }
            return Err(ConfigError::UnknownKey {
                path: path.clone(),
                profile: name.clone(),
                key: entry.key.clone(),
                at: entry.at,
                why: unknown(&entry.key, &others),
            });
        };
        if overridden(sub, matches, arg) || unchecked(&entry.key, checked.as_deref()) {
            continue;
        }
        flags.extend(as_flags(arg, flag, entry, &base).map_err(problem)?);
        keys.push(AppliedKey {
            flag: flag.to_string(),
            key: entry.key.clone(),
            at: entry.at,
        });
    }
    let mut args = args;
    // Right after the command's name: before any `--`, after which a flag is an argument.
    let at = args
        .iter()
        .skip(1)
        .position(|a| a.as_os_str() == OsStr::new(command))
        .map_or(args.len(), |i| i + 2);
    args.splice(at..at, flags);
    Ok(Expanded {
        args,
        applied: Some(Applied { name, path, keys }),
    })
}

/// The flag a key sets for `command`. For `imap`, `pop` and `smtp` the profile's
/// `imap-host`/`imap-port` (and so on) are the command's `--host`/`--port` and win over a plain
/// `host`/`port`, as they do for `check`, so a profile written for `check` serves them too.
/// `None`: a plain key that gives way to such a key.
fn endpoint_flag<'k>(command: &str, key: &'k str, entries: &[Entry]) -> Option<&'k str> {
    if !matches!(command, "imap" | "pop" | "smtp") {
        return Some(key);
    }
    match key.strip_prefix(command).and_then(|r| r.strip_prefix('-')) {
        Some(own @ ("host" | "port")) => Some(own),
        _ if matches!(key, "host" | "port")
            && entries.iter().any(|e| e.key == format!("{command}-{key}")) =>
        {
            None
        }
        _ => Some(key),
    }
}

/// XOAUTH_CONFIG, when set and not empty (tests set it empty to reach the default).
fn env_path() -> Option<PathBuf> {
    std::env::var_os("XOAUTH_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// config.toml in the platform's config directory, as `--config`'s help says.
fn default_path() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = if cfg!(windows) {
        var("APPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        // The XDG base directory rules: a relative XDG_CONFIG_HOME is ignored.
        var("XDG_CONFIG_HOME")
            .filter(|d| d.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".config")))
    }?;
    Some(dir.join("xoauth").join("config.toml"))
}

/// The parsed file; `None` for a default file that does not exist.
fn read(path: &Path, chosen: Chosen) -> Result<Option<ConfigFile>, ConfigError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match chosen {
                Chosen::Default => Ok(None),
                Chosen::Flag => Err(ConfigError::Missing {
                    path: path.into(),
                    how: "--config",
                }),
                Chosen::Env => Err(ConfigError::Missing {
                    path: path.into(),
                    how: "XOAUTH_CONFIG",
                }),
            };
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { path: path.into() });
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::NotText { path: path.into() })?;
    ConfigFile::parse(&text)
        .map(Some)
        .map_err(|source| ConfigError::File {
            path: path.into(),
            source,
        })
}

/// The visible flag `--key` of `command` (hidden ones are refused or mean nothing there).
fn flag_named<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(key) && !a.is_hide_set())
}

/// Why `key` is unknown, with the flag it was likely meant to be.
fn unknown(key: &str, commands: &[&Command]) -> String {
    let mut names: Vec<&str> = commands
        .iter()
        .flat_map(|c| c.get_arguments())
        .filter(|a| !a.is_hide_set())
        .filter_map(Arg::get_long)
        .filter(|l| !COMMAND_LINE_ONLY.contains(l))
        .collect();
    names.sort_unstable();
    names.dedup();
    let dashed = key.replace('_', "-");
    let near = names
        .iter()
        .map(|n| (distance(&dashed, n), *n))
        .filter(|(d, _)| *d <= 2)
        .min();
    let hint = match near {
        Some((_, n)) => format!("; did you mean `{n}`?"),
        None => String::new(),
    };
    format!(
        "no xoauth command has the flag --{key} (a key is a long flag's name without the \
         dashes, as `xoauth check --help` lists them){hint}"
    )
}

/// Levenshtein distance, for the suggestion.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The protocols a command with `--protocols` checks: the command line's, else the profile's
/// (as written; clap checks them), else `None` for all.
fn checked_protocols(matches: &ArgMatches, arg: &Arg, entries: &[Entry]) -> Option<Vec<String>> {
    let id = arg.get_id().as_str();
    if matches.value_source(id) == Some(ValueSource::CommandLine) {
        let raw = matches.get_raw(id)?;
        return Some(raw.map(|v| v.to_string_lossy().to_lowercase()).collect());
    }
    let entry = entries.iter().find(|e| e.key == "protocols")?;
    let words =
        |s: &str| -> Vec<String> { s.split(',').map(|p| p.trim().to_lowercase()).collect() };
    match &entry.value {
        Value::Text(s) => Some(words(s)),
        Value::List(items) => Some(
            items
                .iter()
                .flat_map(|v| match v {
                    Value::Text(s) => words(s),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Whether `key` is the endpoint of a protocol the run does not check (`pop-port` with
/// `--protocols imap`): a profile says where every server is, the command line may narrow
/// the run to one, and the plan refuses an endpoint flag for a protocol it does not check.
fn unchecked(key: &str, checked: Option<&[String]>) -> bool {
    let Some(checked) = checked else {
        return false;
    };
    match key.split_once('-') {
        Some((protocol, "host" | "port")) if ["imap", "pop", "smtp"].contains(&protocol) => {
            !checked.iter().any(|c| c == protocol)
        }
        _ => false,
    }
}

/// Whether the command line already decides `arg`: it gives it, gives one it cannot go with
/// (`--certificate` replaces a profile's `client-secret-file`), or replaces the flag it needs.
fn overridden(command: &Command, matches: &ArgMatches, arg: &Arg) -> bool {
    let given =
        |a: &Arg| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine);
    let replaced = |arg: &Arg| {
        given(arg)
            || command
                .get_arguments()
                .filter(|other| given(other))
                .any(|other| excludes(command, arg, other))
    };
    replaced(arg)
        || REQUIRES.iter().chain(&PLAN_REQUIRES).any(|(key, needs)| {
            arg.get_long() == Some(key) && flag_named(command, needs).is_some_and(&replaced)
        })
}

/// Whether `a` and `b` cannot be given together.
fn excludes(command: &Command, a: &Arg, b: &Arg) -> bool {
    let named = |list: Vec<&Arg>, x: &Arg| list.iter().any(|c| c.get_id() == x.get_id());
    named(command.get_arg_conflicts_with(a), b)
        || named(command.get_arg_conflicts_with(b), a)
        || command.get_groups().any(|g| {
            let mut g = g.clone();
            !g.is_multiple()
                && g.get_args().any(|id| id == a.get_id())
                && g.get_args().any(|id| id == b.get_id())
        })
}

/// The flags that say what `entry` says: a switch when true, `--key=value` per value (one per
/// list item for a repeatable flag, or joined with the flag's delimiter).
fn as_flags(arg: &Arg, flag: &str, entry: &Entry, base: &Path) -> Result<Vec<OsString>, String> {
    let long = format!("--{flag}");
    let path = arg.get_value_parser().type_id() == TypeId::of::<PathBuf>();
    let text = |v: &Value| -> Result<String, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            Value::Integer(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(_) | Value::List(_) => Err(format!(
                "takes a value, not {} (for example {} = \"…\")",
                v.kind(),
                entry.key
            )),
        }
    };
    let with = |v: String| -> OsString {
        let mut flag = OsString::from(format!("{long}="));
        if path && v != "-" && Path::new(&v).is_relative() {
            flag.push(base.join(v));
        } else {
            flag.push(v);
        }
        flag
    };
    let switch = |value: &Value| match value {
        Value::Bool(true) => Ok(vec![OsString::from(&long)]),
        Value::Bool(false) => Ok(Vec::new()),
        other => Err(format!(
            "is a switch: write `{} = true` (or leave it out), not {}",
            entry.key,
            other.kind()
        )),
    };
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count => switch(&entry.value),
        ArgAction::Set | ArgAction::Append => {
            let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
            match &entry.value {
                Value::Bool(_) if optional => switch(&entry.value),
                Value::List(items) if matches!(arg.get_action(), ArgAction::Append) => {
                    items.iter().map(|v| text(v).map(with)).collect()
                }
                Value::List(items) => match arg.get_value_delimiter() {
                    Some(d) => {
                        let parts: Vec<String> =
                            items.iter().map(text).collect::<Result<_, _>>()?;
                        Ok(vec![with(parts.join(&d.to_string()))])
                    }
                    None => Err(format!("takes one value, not {}", entry.value.kind())),
                },
                other => Ok(vec![with(text(other)?)]),
            }
        }
        _ => Err("cannot be set in a profile".into()),
    }
}

/// clap's complaint about a flag a profile added, as a config error at the key's line; `None`
/// when the complaint is not about one.
pub fn explain(error: &clap::Error, applied: &Applied) -> Option<String> {
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.strip_prefix("--")?.split([' ', '=', '<']).next()?;
    let AppliedKey { key, at, .. } = applied.keys.iter().find(|k| k.flag == long)?;
    let rendered = error.render().to_string();
    let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    let first = rendered.split("\n\n").next().unwrap_or(rendered);
    // One line: clap puts the possible values on a line of their own.
    let first = first.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(format!(
        "config file {}: {at}: profile `{}`: `{key}`: {first}",
        applied.path.display(),
        applied.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_partner_is_known() {
        for (key, needs) in REQUIRES {
            let parse = |extra: &[String]| {
                let args = ["xoauth", "check"].map(String::from);
                <Cli as clap::Parser>::try_parse_from(args.iter().chain(extra))
            };
            let key = format!("--{key}=X");
            let alone = parse(std::slice::from_ref(&key));
            assert!(alone.is_err(), "{key} without --{needs} parses");
            assert!(
                parse(&[key.clone(), format!("--{needs}=Y")]).is_ok(),
                "{key} with --{needs}"
            );
        }
    }

    #[test]
    fn suggestions_are_near() {
        assert_eq!(distance("clent-id", "client-id"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "ab"), 2);
        let cli = {
            let mut c = Cli::command();
            c.build();
            c
        };
        let check = cli.find_subcommand("check").unwrap();
        assert!(unknown("client_id", &[check]).contains("`client-id`"));
        assert!(!unknown("zzzzzz", &[check]).contains("did you mean"));
    }
}
