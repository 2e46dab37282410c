//! Certificate credentials: the client assertion (RFC 7523, Microsoft "certificate
//! credentials") a confidential client signs with its private key instead of sending a
//! secret. Pure.
//!
//! ```text
//! header  {"alg":"RS256"|"PS256","typ":"JWT","x5t":b64url(SHA-1(cert DER))}   or "x5t#S256"
//! claims  {"aud":"https://127.0.0.1:PORT/{tenant}/oauth2/v2.0/token","iss":client_id,
//!          "sub":client_id,"jti":…,"nbf":…,"exp":…}
//! checks  thumbprint → registered cert (700027) → signature (50013) → iss = sub (50048)
//!         → iss = client_id (700021) → aud (700023) → nbf/exp ± 5 min (700024) → jti (50027)
//! ```

use serde_json::Value;

use super::errors::{self, AadError};
use crate::clock;
use crate::directory::App;
use crate::ids;
use crate::jwt::Jws;

/// Clock skew allowed for `nbf` and `exp`.
const SKEW_SECS: i64 = 300;

/// Verifies `jwt` as `app`'s client assertion. `client_id_param` is the body's `client_id`
/// (if sent); `audiences` are the acceptable `aud` values; `now` is Unix seconds.
pub(crate) fn verify(
    jwt: &str,
    app: &App,
    client_id_param: Option<&str>,
    audiences: &[String],
    now: i64,
) -> Result<(), AadError> {
    let jws = Jws::decode(jwt)
        .map_err(|e| errors::invalid_assertion(&format!("The token is malformed: {e}.")))?;
    let thumbprint = jws
        .header_str("x5t#S256")
        .or_else(|| jws.header_str("x5t"))
        .ok_or_else(|| {
            errors::invalid_assertion("No certificate thumbprint specified in token header.")
        })?;
    let thumbprint = ids::b64url_decode(thumbprint)
        .filter(|t| t.len() == 20 || t.len() == 32)
        .ok_or_else(|| {
            errors::invalid_assertion(
                "The certificate thumbprint in the token header is not valid.",
            )
        })?;
    let hex = ids::hex_upper(&thumbprint);
    let cert = app
        .certificates
        .iter()
        .find(|c| c.sha1 == thumbprint || c.sha256 == thumbprint)
        .ok_or_else(|| errors::certificate_not_registered(&hex, &app.client_id))?;
    let alg = jws.alg().ok_or_else(|| {
        errors::unsupported_assertion_alg(jws.header_str("alg").unwrap_or("none"))
    })?;
    if !jws.verify(alg, &cert.public_key) {
        return Err(errors::bad_assertion_signature(
            &hex,
            &clock::us_datetime(cert.not_before),
            &clock::us_datetime(cert.not_after),
        ));
    }

    let (iss, sub) = (jws.claim_str("iss"), jws.claim_str("sub"));
    if iss.is_none() || iss != sub {
        return Err(errors::subject_mismatch());
    }
    let iss = iss.unwrap_or_default();
    let expected_client = client_id_param.unwrap_or(&app.client_id);
    if !iss.eq_ignore_ascii_case(expected_client) || !iss.eq_ignore_ascii_case(&app.client_id) {
        return Err(errors::assertion_client_mismatch());
    }

    let aud_ok = |aud: &str| audiences.iter().any(|a| a == aud);
    let aud_matches = match jws.claims.get("aud") {
        Some(Value::String(aud)) => aud_ok(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud_matches {
        return Err(errors::assertion_audience(
            audiences.first().map_or("", String::as_str),
        ));
    }

    let exp = jws.claim_i64("exp");
    let nbf = jws.claim_i64("nbf");
    let expired = exp.is_none_or(|exp| exp <= now - SKEW_SECS);
    let early = nbf.is_some_and(|nbf| nbf > now + SKEW_SECS);
    if expired || early {
        let show = |t: Option<i64>| t.map_or_else(|| "(none)".to_owned(), clock::us_datetime);
        return Err(errors::assertion_time(
            &clock::us_datetime(now),
            &show(nbf),
            &show(exp),
        ));
    }
    if jws.claim_str("jti").is_none_or(str::is_empty) {
        return Err(errors::invalid_assertion(
            "The client assertion has no 'jti' claim.",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::directory::Directory;
    use crate::keys::{SigningKey, client_cert, rsa_key_from_pem, test_keys};
    use ring::signature::RSA_PSS_SHA256;
    use serde_json::json;

    const DAEMON: &str = "66666666-7777-8888-9999-000000000000";
    const AUD: &str = "https://127.0.0.1:1/contoso.example/oauth2/v2.0/token";
    const NOW: i64 = 1_795_458_120;

    /// Signs a client assertion with a fixture key (`alg` RS256 or PS256).
    pub(crate) fn sign(key: &SigningKey, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            ids::b64url(header.to_string().as_bytes()),
            ids::b64url(claims.to_string().as_bytes())
        );
        let signature = if header["alg"] == "PS256" {
            key.sign_with(&RSA_PSS_SHA256, input.as_bytes())
        } else {
            key.sign_rs256(input.as_bytes())
        };
        let signature = signature.expect("signs");
        format!("{input}.{}", ids::b64url(&signature))
    }

    fn claims() -> Value {
        json!({"aud": AUD, "iss": DAEMON, "sub": DAEMON, "jti": "1", "nbf": NOW, "exp": NOW + 600})
    }

    fn run(key_pem: &str, header: Value, claims: Value, param: Option<&str>) -> Result<(), u32> {
        let d = Directory::new(&Config::demo());
        let app = d.app(DAEMON).expect("daemon app");
        let key = rsa_key_from_pem(key_pem).expect("key");
        let jwt = sign(&key, header, claims);
        verify(&jwt, app, param, &[AUD.to_owned()], NOW).map_err(|e| e.code)
    }

    fn x5t() -> String {
        ids::b64url(&client_cert("app-cert.pem").expect("cert").sha1)
    }

    fn x5t_s256() -> String {
        ids::b64url(&client_cert("app-cert.pem").expect("cert").sha256)
    }

    #[test]
    fn accepts_x5t_and_x5t_s256() {
        let app = test_keys::APP_KEY_PEM;
        let rs = json!({"alg": "RS256", "typ": "JWT", "x5t": x5t()});
        assert_eq!(run(app, rs.clone(), claims(), Some(DAEMON)), Ok(()));
        assert_eq!(run(app, rs, claims(), None), Ok(()));
        let ps = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": x5t_s256()});
        assert_eq!(run(app, ps, claims(), Some(DAEMON)), Ok(()));
        let mut aud_list = claims();
        aud_list["aud"] = json!(["https://elsewhere", AUD]);
        let rs = json!({"alg": "RS256", "x5t": x5t()});
        assert_eq!(run(app, rs, aud_list, None), Ok(()));
    }

    #[test]
    fn rejections() {
        let app = test_keys::APP_KEY_PEM;
        let other = test_keys::OTHER_KEY_PEM;
        let rs = json!({"alg": "RS256", "typ": "JWT", "x5t": x5t()});
        // The unregistered certificate → 700027 naming its SHA-1 thumbprint.
        let other_cert = client_cert("other-cert.pem").expect("cert");
        let other_header = json!({"alg": "RS256", "x5t": ids::b64url(&other_cert.sha1)});
        let d = Directory::new(&Config::demo());
        let daemon = d.app(DAEMON).expect("app");
        let key = rsa_key_from_pem(other).expect("key");
        let jwt = sign(&key, other_header, claims());
        let e = verify(&jwt, daemon, None, &[AUD.to_owned()], NOW).expect_err("700027");
        assert_eq!(e.code, 700027);
        assert!(e.message.contains(&format!(
            "Thumbprint of key used by client: '{}'",
            ids::hex_upper(&other_cert.sha1)
        )));
        assert!(e.message.contains(DAEMON));
        // Registered thumbprint, wrong key → bad signature.
        assert_eq!(run(other, rs.clone(), claims(), None), Err(50013));
        // iss ≠ sub.
        let mut c = claims();
        c["sub"] = json!("someone-else");
        assert_eq!(run(app, rs.clone(), c, None), Err(50048));
        // body client_id ≠ iss.
        assert_eq!(
            run(
                app,
                rs.clone(),
                claims(),
                Some("11111111-2222-3333-4444-555555555555")
            ),
            Err(700021)
        );
        let mut c = claims();
        c["aud"] = json!("https://login.microsoftonline.com/x/oauth2/v2.0/token");
        assert_eq!(run(app, rs.clone(), c, None), Err(700023));
        let mut c = claims();
        c["exp"] = json!(NOW - 301);
        assert_eq!(run(app, rs.clone(), c, None), Err(700024));
        let mut c = claims();
        c["nbf"] = json!(NOW + 301);
        assert_eq!(run(app, rs.clone(), c, None), Err(700024));
        let mut c = claims();
        c["nbf"] = json!(NOW + 200);
        assert_eq!(run(app, rs.clone(), c, None), Ok(()), "within the skew");
        let mut c = claims();
        c.as_object_mut().expect("object").remove("jti");
        assert_eq!(run(app, rs, c, None), Err(50027));
        assert_eq!(
            run(app, json!({"alg": "RS256"}), claims(), None),
            Err(50027)
        );
        assert_eq!(
            run(app, json!({"alg": "ES256", "x5t": x5t()}), claims(), None),
            Err(5002738)
        );
        let e = verify("not-a-jwt", daemon, None, &[AUD.to_owned()], NOW).expect_err("malformed");
        assert_eq!(e.code, 50027);
    }
}
