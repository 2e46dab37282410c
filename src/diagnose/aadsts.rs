//! The identity platform's AADSTS error codes (reference E1): the number in a token
//! endpoint's reply, and per code its cause and fix, as data.

/// The delegated permissions have no consent; a check knows which one its protocol needs, so
/// the diagnosis says it before falling back to this code's row.
pub const NO_CONSENT: u32 = 65001;

/// The placeholder for the app id (the client id, or `<application id>` when not known).
const APP: &str = "{app}";

/// One cause and its fix, for the codes that mean it.
pub struct Row {
    pub codes: &'static [u32],
    cause: &'static str,
    fix: &'static str,
}

impl Row {
    pub fn cause(&self, app: &str) -> String {
        self.cause.replace(APP, app)
    }

    pub fn fix(&self, app: &str) -> String {
        self.fix.replace(APP, app)
    }
}

/// Reference E1 and [AADSTS]. A code not here is explained by the error lookup page.
pub const ROWS: &[Row] = &[
    Row {
        codes: &[7000215],
        cause: "the client secret is wrong; often the secret's ID was copied instead of its Value",
        fix: "Entra admin center → App registrations → {app} → Certificates & secrets: create a \
              new secret and copy its Value",
    },
    Row {
        codes: &[7000222],
        cause: "the client secret has expired",
        fix: "create a new client secret for {app}, or move to a certificate credential",
    },
    Row {
        codes: &[700027],
        cause: "the certificate that signed the client assertion is not registered on the app \
                (never uploaded, replaced, or expired)",
        fix: "upload the certificate's public part to App registrations → {app} → Certificates \
              & secrets, and compare thumbprints",
    },
    Row {
        codes: &[50013],
        cause: "the client assertion's signature does not verify: the private key does not \
                belong to the registered certificate",
        fix: "use the private key that matches the uploaded certificate",
    },
    Row {
        codes: &[700016],
        cause: "no application with id {app} exists in this tenant: a wrong client id, a wrong \
                tenant, or an app never consented there",
        fix: "compare the Application (client) ID and Directory (tenant) ID on the app's \
              Overview page with --client-id and --tenant",
    },
    Row {
        codes: &[90002],
        cause: "the tenant does not exist in this cloud",
        fix: "check --tenant; a GCC High or 21Vianet tenant needs --provider microsoft-usgov or \
              microsoft-china",
    },
    Row {
        codes: &[NO_CONSENT],
        cause: "nobody has consented to the delegated permissions of {app}",
        fix: "grant admin consent (App registrations → {app} → API permissions → Grant admin \
              consent), or sign in once interactively and accept",
    },
    Row {
        codes: &[1002012, 70011],
        cause: "client credentials need a scope that ends in /.default",
        fix: "use --scope https://outlook.office365.com/.default (the default for --flow \
              client-credentials)",
    },
    Row {
        codes: &[700082, 70008, 50173, 70043],
        cause: "the refresh token has expired or was revoked",
        fix: "sign in again (xoauth cache clear removes the stale entry)",
    },
    Row {
        codes: &[50011],
        cause: "the redirect URI is not registered on the app",
        fix: "add http://localhost as a 'Mobile and desktop applications' redirect URI of {app}",
    },
    Row {
        codes: &[500011],
        cause: "the resource in the scope was not found in the tenant (a typo in the scope, or \
                no Exchange Online in this tenant)",
        fix: "request https://outlook.office.com/... (delegated) or \
              https://outlook.office365.com/.default (app-only)",
    },
    Row {
        codes: &[53003],
        cause: "a Conditional Access policy blocked the token",
        fix: "check the Entra sign-in log for this app and user; exclude or satisfy the policy",
    },
    Row {
        codes: &[530035],
        cause: "Security Defaults blocked the sign-in",
        fix: "turn Security Defaults off and enforce MFA with Conditional Access instead",
    },
    Row {
        codes: &[50076, 50079],
        cause: "multi-factor authentication is required",
        fix: "use --flow interactive or --flow device-code, which can complete MFA",
    },
    Row {
        codes: &[700025],
        cause: "{app} is a public client, so it must not present a secret or certificate",
        fix: "drop the secret (use --flow interactive or device-code), or use a confidential app \
              for client credentials",
    },
    Row {
        codes: &[7000218],
        cause: "{app} is a confidential client and needs a credential",
        fix: "give --client-secret-env/-file/-prompt or --certificate, or enable 'Allow public \
              client flows' on the app for device code",
    },
];

/// The row for `code`, if the table has one.
pub fn row(code: u32) -> Option<&'static Row> {
    ROWS.iter().find(|r| r.codes.contains(&code))
}

/// The AADSTS number in the provider's reply, if any.
pub fn code(reply: &[String]) -> Option<u32> {
    reply.iter().find_map(|line| {
        let at = line.find("AADSTS")?;
        let digits: String = line[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_codes_a_cause_and_a_fix_and_no_code_is_in_two_rows() {
        let mut seen = std::collections::HashSet::new();
        for r in ROWS {
            assert!(!r.codes.is_empty(), "a row without codes: {}", r.cause);
            for c in r.codes {
                assert!(seen.insert(*c), "AADSTS{c} is in two rows");
                assert_eq!(row(*c).map(|r| r.cause), Some(r.cause));
            }
            for text in [r.cause, r.fix] {
                assert!(!text.trim().is_empty(), "{:?} has an empty text", r.codes);
                // The only placeholder is the app id; anything else would be printed as is.
                assert!(
                    !text.replace(APP, "").contains(['{', '}']),
                    "{:?}: {text}",
                    r.codes
                );
            }
        }
        assert!(row(12345).is_none());
    }

    #[test]
    fn the_app_id_is_filled_in() {
        let r = row(700016).unwrap();
        assert!(
            r.cause("app-1")
                .starts_with("no application with id app-1 exists")
        );
        assert!(row(7000215).unwrap().fix("app-1").contains("→ app-1 →"));
    }

    #[test]
    fn the_code_is_read_from_the_reply() {
        let reply = [
            "error: invalid_client".to_string(),
            "AADSTS7000215: Invalid client secret provided.".to_string(),
        ];
        assert_eq!(code(&reply), Some(7000215));
        assert_eq!(code(&["error: invalid_grant".to_string()]), None);
    }
}
