//! A small Microsoft Graph: `GET /beta/auditLogs/signIns` (and `/v1.0/…`) serving generated
//! legacy-auth sign-ins in pages (`$top`, `@odata.nextLink` with a `$skiptoken`), so
//! `xoauth legacy-auth --graph` is tested offline, including Graph's answers that matter:
//! 401 without a Graph token, 403 without `AuditLog.Read.All` or without a licence
//! (`Authentication_RequestFromNonPremiumTenantOrB2CTenant`), and one 429 with `Retry-After`
//! on the first request for the second page.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::Idp;
use super::params::Params;
use crate::clock;

/// The client apps the generated sign-ins cycle through (legacy ones and one modern).
const APPS: [&str; 6] = [
    "IMAP4",
    "POP3",
    "Authenticated SMTP",
    "Exchange ActiveSync",
    "Other clients",
    "Browser",
];
const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 1000;

/// One answer: status, an optional `Retry-After`, the JSON body.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: String,
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        retry_after: None,
        body: json!({ "error": { "code": code, "message": message } }).to_string(),
    }
}

/// The sign-in at position `i` (0 = the newest), a minute apart.
fn sign_in(i: usize, now: i64) -> Value {
    let app = APPS[i % APPS.len()];
    let user = format!("user{}@contoso.example", i % 7);
    let failed = i.is_multiple_of(4);
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "createdDateTime": clock::iso_timestamp(now - 60 * i as i64),
        "userPrincipalName": user,
        "userDisplayName": user,
        "appId": "00000002-0000-0ff1-ce00-000000000000",
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": format!("203.0.113.{}", i % 50),
        "clientAppUsed": app,
        "status": {
            "errorCode": if failed { 50126 } else { 0 },
            "failureReason": if failed { "Invalid username or password." } else { "" },
        },
        "authenticationDetails": [
            { "authenticationMethod": "Password", "succeeded": !failed }
        ],
    })
}

/// Answers one request for the sign-in logs.
pub(crate) fn sign_ins(idp: &Idp, authorization: Option<&str>, query: &str) -> Answer {
    let config = &idp.ctx.idp;
    let token = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    if let Err(why) = idp.ctx.bearer.graph_audit_reader(token, clock::now_secs()) {
        let (status, code) = if why == "no AuditLog.Read.All" {
            (403, "Authorization_RequestDenied")
        } else {
            (401, "InvalidAuthenticationToken")
        };
        return error(status, code, why);
    }
    if !config.graph_licensed {
        return error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        );
    }
    let params = Params::parse(query.as_bytes());
    let top = params
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(PAGE_DEFAULT)
        .clamp(1, PAGE_MAX);
    let skip = params
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    if skip > 0 && !idp.graph_throttled.swap(true, Ordering::SeqCst) {
        let mut a = error(429, "TooManyRequests", "Too many requests, retry later");
        a.retry_after = Some(1);
        return a;
    }
    let total = config.graph_sign_ins as usize;
    let now = clock::now_secs();
    let end = (skip + top).min(total);
    let value: Vec<Value> = (skip.min(end)..end).map(|i| sign_in(i, now)).collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
        "value": value,
    });
    if end < total {
        body["@odata.nextLink"] = json!(format!(
            "{}/beta/auditLogs/signIns?$top={top}&$skiptoken={end}",
            idp.base_url
        ));
    }
    Answer {
        status: 200,
        retry_after: None,
        body: body.to_string(),
    }
}
