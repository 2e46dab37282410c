//! The same summary as ready-to-paste KQL over Log Analytics' `SigninLogs`, for tenants that
//! send sign-in logs to a workspace. The client-app list is [`LEGACY_APPS`], the table the file
//! reader and the Graph filter use.

use super::protocols::{ACTIVESYNC, LEGACY_APPS};

/// KQL string literal: `"` and `\` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The query for the last `window` (a KQL timespan such as `7d`; validated by the caller).
pub fn query(window: &str) -> String {
    let apps: Vec<String> = LEGACY_APPS.iter().map(|a| quote(a.client_app)).collect();
    format!(
        "// xoauth legacy-auth --kql: legacy (Basic) authentication sign-ins per client app.\n\
         // Certificate-based Exchange ActiveSync sign-ins are not Basic auth and are left out.\n\
         let legacy = dynamic([{apps}]);\n\
         SigninLogs\n\
         | where TimeGenerated > ago({window})\n\
         | where ClientAppUsed in~ (legacy)\n\
         | extend Methods = tostring(AuthenticationDetails)\n\
         | where not(ClientAppUsed =~ {activesync} and Methods has \"certificate\")\n\
         | summarize SignIns = count(),\n\
         \x20   Succeeded = countif(ResultType == \"0\"),\n\
         \x20   Failed = countif(ResultType != \"0\"),\n\
         \x20   Users = dcount(UserPrincipalName),\n\
         \x20   UsersSucceeded = dcountif(UserPrincipalName, ResultType == \"0\"),\n\
         \x20   Apps = dcount(AppDisplayName),\n\
         \x20   IPs = dcount(IPAddress),\n\
         \x20   LastSeen = max(TimeGenerated),\n\
         \x20   TopUsers = make_set(UserPrincipalName, 20)\n\
         \x20   by ClientAppUsed\n\
         | order by SignIns desc\n",
        apps = apps.join(", "),
        activesync = quote(ACTIVESYNC),
    )
}
