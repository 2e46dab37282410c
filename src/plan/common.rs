//! The rules every command shares: where the token comes from (given or obtained, never
//! both), who it is for and which mailbox is opened, and the run-wide settings.

use super::args::{Environment, RawCommon, RawTokenSource};
use super::{
    Flow, Plan, PlanError, Protocol, Provider, TokenPlan, UsageError, check_address, timeout,
};
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
            let var = super::usage::variable_name("--access-token-env", "TOKEN", var)?;
            return Ok(TokenSource::Env(var));
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
        self.plan_for(protocols, opens_mailbox, false)
    }

    /// The plan of a bulk audit: the mailboxes come from the list (`--mailboxes`), so neither
    /// an app-only nor a given token needs `--user` or `--mailbox`.
    pub(super) fn plan_listed(self, protocols: &[Protocol]) -> Result<Plan, UsageError> {
        if let Some(mailbox) = self.mailbox {
            return Err(UsageError::MailboxesWithMailbox(mailbox));
        }
        self.plan_for(protocols, true, true)
    }

    fn plan_for(
        self,
        protocols: &[Protocol],
        opens_mailbox: bool,
        listed: bool,
    ) -> Result<Plan, UsageError> {
        if self.stray_arguments > 0 {
            return Err(UsageError::StrayArgument);
        }
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
        // given token only being decoded) has none. A given token is whoever its claims say
        // (app-only or someone's), which is known only once it is read: --mailbox alone is
        // enough, and the pre-flight says when a delegated token's user is not the mailbox.
        let app_only = matches!(&token, TokenPlan::OAuth(o) if o.flow == Flow::ClientCredentials);
        let given = matches!(token, TokenPlan::Given(_));
        let has_mailbox = mailbox.is_some() || listed;
        let needs_none = app_only || (given && (!opens_mailbox || has_mailbox));
        if user.is_none() {
            if !needs_none {
                return Err(UsageError::UserRequired);
            }
            if opens_mailbox && !has_mailbox {
                return Err(UsageError::MailboxRequired);
            }
        }
        if let (true, true, Some(user)) = (app_only, listed, &user) {
            return Err(UsageError::UserWithAppOnlyList(user.clone()));
        }
        // An app-only token acts as no user: with --mailbox, a different --user would be
        // silently dropped while the report still said "as" them.
        if let (true, Some(user), Some(mailbox)) = (app_only, &user, &mailbox)
            && !user.eq_ignore_ascii_case(mailbox)
        {
            return Err(UsageError::UserWithAppOnly {
                user: user.clone(),
                mailbox: mailbox.clone(),
            });
        }
        Ok(Plan {
            user,
            mailbox,
            token,
            mechanism: self.mechanism,
            ca_files: self.ca_files,
            extra_roots: Vec::new(),
            timeout: timeout(self.timeout)?,
            limits: Limits {
                deadline: timeout(self.deadline).map_err(|_| PlanError::BadDeadline)?,
                ..Limits::default()
            },
            transcript: self.verbose,
            pipelining: self.pipelining,
            hve: self.provider == Provider::MicrosoftHve,
            checks: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::plan::PlanError;
    use crate::plan::args::RawOAuth;
    use crate::plan::fixtures::{USER, app_only, given_token, oauth, obtained_token};
    use crate::sasl::{Mechanism, MechanismChoice};

    /// A check's plan (a mailbox is opened) for IMAP.
    fn check(raw: RawCommon) -> Result<Plan, UsageError> {
        raw.plan(&[Protocol::Imap], true)
    }

    /// `xoauth token`'s plan (no mailbox is opened).
    fn token_only(raw: RawCommon) -> Result<Plan, UsageError> {
        raw.plan(&[Protocol::Imap], false)
    }

    fn given(plan: &Plan) -> &TokenSource {
        match &plan.token {
            TokenPlan::Given(source) => source,
            TokenPlan::OAuth(_) => panic!("expected a given token"),
        }
    }

    fn with_source(token: RawTokenSource, stdin_is_terminal: bool) -> RawCommon {
        RawCommon {
            token,
            env: Environment {
                browser: true,
                stdin_is_terminal,
            },
            ..given_token()
        }
    }

    #[test]
    fn a_token_from_a_variable() {
        let plan = check(given_token()).unwrap();
        assert_eq!(given(&plan), &TokenSource::Env("T".into()));
    }

    #[test]
    fn a_token_from_a_file() {
        let raw = with_source(
            RawTokenSource {
                access_token_file: Some(PathBuf::from("token.txt")),
                ..RawTokenSource::default()
            },
            true,
        );
        assert_eq!(
            given(&check(raw).unwrap()),
            &TokenSource::File(PathBuf::from("token.txt"))
        );
    }

    #[test]
    fn a_token_file_named_dash_is_standard_input() {
        let raw = with_source(
            RawTokenSource {
                access_token_file: Some(PathBuf::from("-")),
                ..RawTokenSource::default()
            },
            true,
        );
        assert_eq!(given(&check(raw).unwrap()), &TokenSource::Stdin);
    }

    #[test]
    fn without_token_flags_a_piped_standard_input_is_the_token() {
        let raw = with_source(RawTokenSource::default(), false);
        assert_eq!(given(&check(raw).unwrap()), &TokenSource::Stdin);
    }

    #[test]
    fn without_token_flags_on_a_terminal_there_is_no_token() {
        let raw = with_source(RawTokenSource::default(), true);
        assert!(matches!(check(raw), Err(UsageError::NoToken)));
    }

    #[test]
    fn a_token_on_the_command_line_is_refused_even_with_another_source() {
        let raw = with_source(
            RawTokenSource {
                access_token_env: Some("T".into()),
                access_token_on_command_line: true,
                ..RawTokenSource::default()
            },
            false,
        );
        assert!(matches!(check(raw), Err(UsageError::TokenOnCommandLine)));
    }

    #[test]
    fn a_positional_argument_is_refused_before_anything_else() {
        let raw = RawCommon {
            stray_arguments: 1,
            user: Some("not an address".into()),
            ..given_token()
        };
        assert!(matches!(check(raw), Err(UsageError::StrayArgument)));
    }

    #[test]
    fn secrets_on_the_command_line_are_refused_even_with_a_safe_source() {
        let secret = RawCommon {
            oauth: RawOAuth {
                client_secret_env: Some("S".into()),
                client_secret_on_command_line: true,
                ..oauth()
            },
            ..obtained_token(oauth())
        };
        assert!(matches!(
            check(secret),
            Err(UsageError::ClientSecretOnCommandLine)
        ));
        // Without --client-id too: the refusal comes before "needs --client-id".
        let password = RawCommon {
            oauth: RawOAuth {
                certificate_password_on_command_line: true,
                ..RawOAuth::default()
            },
            ..given_token()
        };
        assert!(matches!(
            check(password),
            Err(UsageError::CertificatePasswordOnCommandLine)
        ));
    }

    #[test]
    fn a_given_token_and_a_client_id_are_refused_together() {
        let both = RawCommon {
            oauth: oauth(),
            ..given_token()
        };
        assert!(matches!(check(both), Err(UsageError::TokenAndClientId)));
        // The refused --access-token counts as a given token too.
        let on_command_line = RawCommon {
            token: RawTokenSource {
                access_token_on_command_line: true,
                ..RawTokenSource::default()
            },
            oauth: oauth(),
            ..given_token()
        };
        assert!(matches!(
            check(on_command_line),
            Err(UsageError::TokenAndClientId)
        ));
    }

    #[test]
    fn a_client_id_obtains_the_token() {
        let plan = check(obtained_token(oauth())).unwrap();
        assert!(matches!(&plan.token, TokenPlan::OAuth(o) if o.flow == Flow::Interactive));
    }

    #[test]
    fn a_check_with_a_given_token_needs_a_user() {
        let raw = RawCommon {
            user: None,
            ..given_token()
        };
        assert!(matches!(check(raw), Err(UsageError::UserRequired)));
    }

    /// A given token may be app-only: which, its claims say only once it is read. The mailbox
    /// to open is enough; the pre-flight holds a delegated token's user against it.
    #[test]
    fn a_check_with_a_given_token_and_a_mailbox_needs_no_user() {
        let raw = RawCommon {
            user: None,
            mailbox: Some("sales@contoso.example".into()),
            ..given_token()
        };
        let plan = check(raw).unwrap();
        assert_eq!(plan.user, None);
        assert_eq!(plan.authzid(), "sales@contoso.example");
        assert_eq!(plan.who(), "sales@contoso.example");
    }

    #[test]
    fn an_app_only_check_refuses_a_user_besides_another_mailbox() {
        let raw = RawCommon {
            user: Some(USER.into()),
            mailbox: Some("sales@contoso.example".into()),
            ..app_only()
        };
        let e = check(raw).unwrap_err();
        assert!(matches!(e, UsageError::UserWithAppOnly { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("drop --user") && text.contains(USER),
            "{text}"
        );
        // The same address twice says nothing contradictory.
        let same = RawCommon {
            user: Some("Sales@contoso.example".into()),
            mailbox: Some("sales@contoso.example".into()),
            ..app_only()
        };
        assert_eq!(check(same).unwrap().authzid(), "sales@contoso.example");
    }

    #[test]
    fn a_delegated_flow_needs_a_user_even_for_the_token_command() {
        let raw = RawCommon {
            user: None,
            ..obtained_token(oauth())
        };
        assert!(matches!(token_only(raw), Err(UsageError::UserRequired)));
    }

    #[test]
    fn decoding_a_given_token_needs_no_user() {
        let raw = RawCommon {
            user: None,
            ..given_token()
        };
        let plan = token_only(raw).unwrap();
        assert_eq!((plan.user, plan.mailbox), (None, None));
    }

    #[test]
    fn an_app_only_check_without_a_user_needs_a_mailbox() {
        assert!(matches!(
            check(app_only()),
            Err(UsageError::MailboxRequired)
        ));
    }

    #[test]
    fn an_app_only_check_opens_the_mailbox_it_names() {
        let raw = RawCommon {
            mailbox: Some("shared@contoso.example".into()),
            ..app_only()
        };
        let plan = check(raw).unwrap();
        assert_eq!(plan.user, None);
        assert_eq!(plan.authzid(), "shared@contoso.example");
        assert_eq!(plan.who(), "shared@contoso.example");
    }

    #[test]
    fn an_app_only_check_may_name_the_mailbox_with_user() {
        let raw = RawCommon {
            user: Some(USER.into()),
            ..app_only()
        };
        let plan = check(raw).unwrap();
        assert_eq!(plan.authzid(), USER);
        assert!(matches!(&plan.token, TokenPlan::OAuth(o) if o.login_hint.is_none()));
    }

    #[test]
    fn an_app_only_token_command_needs_no_user_nor_mailbox() {
        let plan = token_only(app_only()).unwrap();
        assert_eq!(plan.authzid(), "");
        assert_eq!((plan.user, plan.mailbox), (None, None));
    }

    #[test]
    fn a_delegated_check_opens_the_users_mailbox_unless_told_otherwise() {
        let own = check(given_token()).unwrap();
        assert_eq!((own.who(), own.authzid()), (USER, USER));
        let shared = RawCommon {
            mailbox: Some(" shared@contoso.example ".into()),
            ..given_token()
        };
        let shared = check(shared).unwrap();
        assert_eq!(
            (shared.who(), shared.authzid()),
            (USER, "shared@contoso.example")
        );
    }

    #[test]
    fn user_and_mailbox_must_be_one_address() {
        let user = RawCommon {
            user: Some("alice".into()),
            ..given_token()
        };
        assert!(matches!(
            check(user),
            Err(UsageError::Plan(PlanError::BadAddress {
                what: "--user",
                ..
            }))
        ));
        let mailbox = RawCommon {
            mailbox: Some("a@x.example,b@x.example".into()),
            ..given_token()
        };
        assert!(matches!(
            check(mailbox),
            Err(UsageError::Plan(PlanError::NotOneAddress {
                what: "--mailbox",
                ..
            }))
        ));
    }

    #[test]
    fn a_bad_user_is_reported_before_a_missing_token() {
        let raw = RawCommon {
            user: Some("alice".into()),
            ..with_source(RawTokenSource::default(), true)
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::BadAddress { .. }))
        ));
    }

    #[test]
    fn oauth_flags_without_client_id_are_reported_before_the_token_source() {
        let raw = RawCommon {
            oauth: RawOAuth {
                tenant: Some("contoso.onmicrosoft.com".into()),
                ..RawOAuth::default()
            },
            ..given_token()
        };
        assert!(matches!(check(raw), Err(UsageError::OAuthWithoutClientId)));
    }

    #[test]
    fn run_settings_pass_through() {
        let raw = RawCommon {
            mechanism: MechanismChoice::Only(Mechanism::OAuthBearer),
            ca_files: vec![PathBuf::from("ca.pem")],
            timeout: 2.0,
            verbose: true,
            ..given_token()
        };
        let plan = check(raw).unwrap();
        assert_eq!(
            plan.mechanism,
            MechanismChoice::Only(Mechanism::OAuthBearer)
        );
        assert_eq!(plan.ca_files, [PathBuf::from("ca.pem")]);
        assert_eq!(plan.timeout, Duration::from_secs(2));
        assert!(plan.transcript);
        assert!(plan.checks.is_empty() && plan.extra_roots.is_empty());
    }

    #[test]
    fn defaults_are_auto_mechanism_thirty_seconds_and_no_transcript() {
        let plan = check(given_token()).unwrap();
        assert_eq!(plan.mechanism, MechanismChoice::Auto);
        assert_eq!(plan.timeout, Duration::from_secs(30));
        assert!(!plan.transcript);
    }

    #[test]
    fn the_deadline_defaults_to_two_minutes_and_must_be_positive() {
        let plan = check(given_token()).unwrap();
        assert_eq!(plan.limits.deadline, Duration::from_secs(120));
        let raw = RawCommon {
            deadline: 5.5,
            ..given_token()
        };
        assert_eq!(
            check(raw).unwrap().limits.deadline,
            Duration::from_millis(5500)
        );
        let raw = RawCommon {
            deadline: 0.0,
            ..given_token()
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::BadDeadline))
        ));
    }

    #[test]
    fn a_timeout_must_be_positive() {
        let raw = RawCommon {
            timeout: 0.0,
            ..given_token()
        };
        assert!(matches!(
            check(raw),
            Err(UsageError::Plan(PlanError::BadTimeout))
        ));
    }
}
