//! Scenarios: one Exchange Online failure mode as a small TOML overlay on the demo tenant
//! (`config/contoso.toml`). The shipped ones live in `mock-server/scenarios/` and are
//! embedded in the binary.
//!
//! ```toml
//! [scenario]                 # required: name and a one-line description
//! name = "imap-disabled"
//! description = "Set-CASMailbox alice -ImapEnabled $false."
//! [tenant]                   # [server] [tenant] [idp] [faults] [generate]: merged field by field
//! smtp_auth_disabled = true
//! [[mailbox_override]]       # merged into the demo mailbox with this address
//! address = "alice@contoso.example"
//! imap_enabled = false
//! [[app_override]]           # merged into the demo app with this client id
//! client_id = "66666666-7777-8888-9999-000000000000"
//! roles = ["POP.AccessAsApp"]
//! ```
//! Extra `[[mailbox]]` / `[[app]]` entries are added to the demo's. A field set in an
//! override replaces the demo's value whole (lists included); the result is checked like
//! any config (unknown fields and inconsistencies are errors).

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::config::{
    self, AppConfig, Config, ConfigError, GenerateConfig, IdpConfig, MailboxConfig, ServerConfig,
    TenantConfig,
};
use crate::faults::FaultsConfig;

/// A failure scenario: the demo tenant with overrides and faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// `[scenario] name`: lower-case letters, digits and `-`.
    pub name: String,
    /// `[scenario] description`: one line.
    pub description: String,
    /// The demo config with the overrides applied, validated.
    pub config: Config,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    description: String,
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        /// Every shipped scenario (`mock-server/scenarios/<name>.toml`).
        pub const SCENARIOS: &[&str] = &[$($name),*];
        const BUNDLED: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../scenarios/", $name, ".toml")))),*
        ];
    };
}

bundled!(
    "wrong-audience",
    "delegated-missing-scope",
    "app-missing-role",
    "service-principal-not-registered",
    "service-principal-wrong-object-id",
    "no-full-access",
    "imap-disabled",
    "pop-disabled",
    "smtp-auth-disabled-tenant",
    "smtp-auth-disabled-mailbox",
    "security-defaults",
    "conditional-access",
    "mfa-required",
    "expired-token",
    "throttled",
    "send-as-denied",
    "consent-missing",
    "redirect-uri-missing",
    "certificate-not-registered",
    "secret-expired",
);

fn invalid(msg: String) -> ConfigError {
    ConfigError::Invalid(msg)
}

impl Scenario {
    /// Parses a scenario, applies it to the demo tenant and validates the result.
    pub fn from_toml_str(s: &str) -> Result<Scenario, ConfigError> {
        let mut doc: Table = toml::from_str(s)?;
        let header = doc.remove("scenario").ok_or_else(|| {
            invalid("a scenario needs a [scenario] table with name and description".to_owned())
        })?;
        let header: Header = typed(header, "[scenario]")?;
        let name_ok = !header.name.is_empty()
            && header
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(invalid(format!(
                "[scenario] name {:?} must be lower-case letters, digits and '-'",
                header.name
            )));
        }
        let description = header.description.trim();
        if description.is_empty() || description.chars().any(char::is_control) {
            return Err(invalid(format!(
                "scenario {}: description must be one non-empty line",
                header.name
            )));
        }

        let mut base: Table = toml::from_str(config::DEMO_TOML)?;
        for (key, value) in doc {
            apply(&mut base, &key, value)
                .map_err(|e| invalid(format!("scenario {}: {}", header.name, message(e))))?;
        }
        let config: Config = typed(Value::Table(base), "the merged config")
            .and_then(|c: Config| c.validate().map(|()| c))
            .map_err(|e| invalid(format!("scenario {}: {}", header.name, message(e))))?;
        Ok(Scenario {
            name: header.name,
            description: description.to_owned(),
            config,
        })
    }

    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Scenario::from_toml_str(&text)
    }

    /// A shipped scenario by name (embedded with include_str!); None if unknown.
    pub fn bundled(name: &str) -> Option<Scenario> {
        let (_, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        // Every bundled scenario is parsed by a unit test; a failure is a build defect.
        Scenario::from_toml_str(text).ok()
    }
}

/// A `ConfigError`'s text without the `invalid config: ` prefix (it gets its own).
fn message(e: ConfigError) -> String {
    match e {
        ConfigError::Invalid(msg) => msg,
        other => other.to_string(),
    }
}

/// Deserializes `value` as `T`, naming `what` in the error.
fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ConfigError> {
    value
        .try_into()
        .map_err(|e: toml::de::Error| invalid(format!("{what}: {}", e.message().trim_end())))
}

/// Applies one top-level key of the scenario to the demo config `base`.
fn apply(base: &mut Table, key: &str, value: Value) -> Result<(), ConfigError> {
    match key {
        "server" => merge_section::<ServerConfig>(base, key, value),
        "tenant" => merge_section::<TenantConfig>(base, key, value),
        "idp" => merge_section::<IdpConfig>(base, key, value),
        "faults" => merge_section::<FaultsConfig>(base, key, value),
        "generate" => merge_section::<GenerateConfig>(base, key, value),
        "mailbox_override" => {
            for entry in tables(key, value)? {
                override_entry::<MailboxConfig>(base, "mailbox", "address", entry)?;
            }
            Ok(())
        }
        "app_override" => {
            for entry in tables(key, value)? {
                override_entry::<AppConfig>(base, "app", "client_id", entry)?;
            }
            Ok(())
        }
        "mailbox" | "app" => {
            let added = tables(key, value)?;
            list(base, key)?.extend(added.into_iter().map(Value::Table));
            Ok(())
        }
        other => Err(invalid(format!(
            "unknown key {other:?} (expected [scenario], [server], [tenant], [idp], [faults], \
             [generate], [[mailbox_override]], [[app_override]], [[mailbox]] or [[app]])"
        ))),
    }
}

/// `[server]`-like table: each field replaces the demo's.
fn merge_section<T: DeserializeOwned>(
    base: &mut Table,
    key: &str,
    value: Value,
) -> Result<(), ConfigError> {
    let Value::Table(fields) = value else {
        return Err(invalid(format!("[{key}] must be a table")));
    };
    let section = base
        .entry(key.to_owned())
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(section) = section else {
        return Err(invalid(format!("the demo's [{key}] is not a table")));
    };
    section.extend(fields);
    typed::<T>(Value::Table(section.clone()), &format!("[{key}]")).map(drop)
}

/// The array of tables under `key`.
fn tables(key: &str, value: Value) -> Result<Vec<Table>, ConfigError> {
    let Value::Array(items) = value else {
        return Err(invalid(format!(
            "{key} must be an array of tables ([[{key}]])"
        )));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Table(t) => Ok(t),
            _ => Err(invalid(format!("every [[{key}]] entry must be a table"))),
        })
        .collect()
}

/// The demo's `[[key]]` list (created if absent).
fn list<'a>(base: &'a mut Table, key: &str) -> Result<&'a mut Vec<Value>, ConfigError> {
    let entry = base
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    match entry {
        Value::Array(items) => Ok(items),
        _ => Err(invalid(format!("the demo's [[{key}]] is not a list"))),
    }
}

/// Merges `fields` into the demo's `[[list]]` entry whose `id_key` equals the override's
/// (ASCII case-insensitive).
fn override_entry<T: DeserializeOwned>(
    base: &mut Table,
    list_key: &str,
    id_key: &str,
    fields: Table,
) -> Result<(), ConfigError> {
    let what = format!("[[{list_key}_override]]");
    let Some(Value::String(id)) = fields.get(id_key).cloned() else {
        return Err(invalid(format!("every {what} needs {id_key} = \"…\"")));
    };
    let entries = list(base, list_key)?;
    let known: Vec<String> = entries
        .iter()
        .filter_map(|e| e.get(id_key)?.as_str().map(str::to_owned))
        .collect();
    let target = entries.iter_mut().find(|e| {
        e.get(id_key)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(&id))
    });
    let Some(Value::Table(target)) = target else {
        return Err(invalid(format!(
            "{what} {id_key} {id:?} names no demo [[{list_key}]] (known: {})",
            known.join(", ")
        )));
    };
    target.extend(fields);
    typed::<T>(Value::Table(target.clone()), &format!("{what} {id}")).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MailboxKind;
    use crate::faults::MailService;

    fn err(toml: &str) -> String {
        match Scenario::from_toml_str(toml) {
            Ok(_) => panic!("expected an error for {toml}"),
            Err(e) => e.to_string(),
        }
    }

    const HEAD: &str = "[scenario]\nname = \"t\"\ndescription = \"A test.\"\n";

    #[test]
    fn every_bundled_scenario_parses_and_validates() {
        assert_eq!(SCENARIOS.len(), BUNDLED.len());
        assert_eq!(SCENARIOS.len(), 20);
        for name in SCENARIOS {
            let (_, text) = BUNDLED.iter().find(|(n, _)| n == name).expect("embedded");
            let scenario = Scenario::from_toml_str(text)
                .unwrap_or_else(|e| panic!("scenario {name} does not load: {e}"));
            assert_eq!(
                &scenario.name, name,
                "[scenario] name matches the file name"
            );
            assert!(!scenario.description.is_empty());
            assert_ne!(scenario.config, Config::demo(), "{name} changes something");
            assert_eq!(Scenario::bundled(name), Some(scenario));
        }
        assert_eq!(Scenario::bundled("no-such-scenario"), None);
    }

    #[test]
    fn overrides_merge_field_by_field() {
        let s = Scenario::from_toml_str(&format!(
            "{HEAD}[tenant]\nsmtp_auth_disabled = true\n[idp]\ntoken_lifetime_secs = -600\n\
             [[mailbox_override]]\naddress = \"ALICE@contoso.example\"\nimap_enabled = false\n\
             [[app_override]]\nclient_id = \"66666666-7777-8888-9999-000000000000\"\n\
             roles = [\"POP.AccessAsApp\"]\n[faults]\nthrottle = [\"smtp\"]\n\
             [[mailbox]]\naddress = \"dave@contoso.example\"\n"
        ))
        .expect("valid");
        let demo = Config::demo();
        let c = &s.config;
        assert!(c.tenant.smtp_auth_disabled && !c.tenant.security_defaults);
        assert_eq!(c.idp.token_lifetime_secs, -600);
        assert_eq!(c.idp.tenant_id, demo.idp.tenant_id);
        let alice = &c.mailboxes[0];
        assert!(!alice.imap_enabled && alice.pop_enabled);
        assert_eq!(alice.folders, demo.mailboxes[0].folders);
        assert_eq!(c.apps[1].roles, ["POP.AccessAsApp"]);
        assert_eq!(c.apps[1].secrets, demo.apps[1].secrets);
        assert!(c.faults.throttles(MailService::Smtp));
        assert_eq!(c.mailboxes.len(), 8);
        assert_eq!(c.mailboxes[7].kind, MailboxKind::User);
        assert_eq!(c.server, demo.server);
    }

    #[test]
    fn mistakes_are_reported_clearly() {
        assert!(err("[tenant]\nsmtp_auth_disabled = true\n").contains("[scenario]"));
        assert!(err("[scenario]\nname = \"t\"\n").contains("description"));
        assert!(err("[scenario]\nname = \"T x\"\ndescription = \"d\"\n").contains("name"));
        let e = err(&format!("{HEAD}[tenant]\nsmtp_auth = true\n"));
        assert!(e.contains("[tenant]") && e.contains("smtp_auth"), "{e}");
        let e = err(&format!(
            "{HEAD}[[mailbox_override]]\naddress = \"ghost@contoso.example\"\n"
        ));
        assert!(
            e.contains("ghost@contoso.example") && e.contains("alice@"),
            "{e}"
        );
        let e = err(&format!(
            "{HEAD}[[mailbox_override]]\naddress = \"alice@contoso.example\"\ncolour = 1\n"
        ));
        assert!(
            e.contains("alice@contoso.example") && e.contains("colour"),
            "{e}"
        );
        let e = err(&format!("{HEAD}[[app_override]]\nroles = []\n"));
        assert!(e.contains("client_id"), "{e}");
        let e = err(&format!("{HEAD}[[mailboxes]]\naddress = \"a@b.c\"\n"));
        assert!(e.contains("mailboxes"), "{e}");
        // The merged config is validated.
        let e = err(&format!(
            "{HEAD}[[mailbox_override]]\naddress = \"sales@contoso.example\"\n\
             full_access = [\"nobody@contoso.example\"]\n"
        ));
        assert!(
            e.contains("scenario t") && e.contains("unknown principal"),
            "{e}"
        );
        let e = err(&format!("{HEAD}[faults]\nthrottle = [\"fax\"]\n"));
        assert!(e.contains("fax"), "{e}");
    }
}
