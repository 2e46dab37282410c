//! The mock's parsers of client input, reachable from the `fuzz/` crate and nothing else.
//!
//! The parsers themselves stay crate-private: this thin, hidden surface only exists so
//! `cargo fuzz` can feed them arbitrary bytes without a socket. Results are flattened into
//! plain strings so no internal type leaks out.

/// An SMTP command line as the session reads it: the command's log name, or the parse error.
pub fn smtp_command(line: &[u8]) -> Result<String, String> {
    crate::smtp::command::parse(line)
        .map(|c| c.log_name())
        .map_err(|e| format!("{e:?}"))
}

/// A POP3 command line as the session reads it: the command's log name, or the parse error.
pub fn pop3_command(line: &[u8]) -> Result<String, String> {
    crate::pop3::command::parse(line)
        .map(|c| c.log_name())
        .map_err(|e| format!("{e:?}"))
}

/// A decoded XOAUTH2 client message: `(user, token)`.
pub fn sasl_xoauth2(raw: &[u8]) -> Option<(Option<String>, String)> {
    crate::sasl::decode_xoauth2(raw)
        .ok()
        .map(|c| (c.user, c.token))
}

/// A decoded OAUTHBEARER client message: `(authzid, token)`.
pub fn sasl_oauthbearer(raw: &[u8]) -> Option<(Option<String>, String)> {
    crate::sasl::decode_oauthbearer(raw)
        .ok()
        .map(|c| (c.user, c.token))
}

/// The mock's modified UTF-7 encoder (its LIST replies), for agreement with a decoder.
pub fn mutf7_encode(name: &str) -> String {
    crate::imap::mutf7::encode(name)
}

/// A compact JWS as the identity platform reads a client assertion: its `alg` header, if it
/// decoded at all.
pub fn jwt_decode(token: &str) -> Result<Option<String>, String> {
    crate::jwt::Jws::decode(token)
        .map(|j| j.header_str("alg").map(str::to_string))
        .map_err(|e| format!("{e:?}"))
}

/// A form body or query string: the first value of `name`.
pub fn form_get(input: &[u8], name: &str) -> Option<String> {
    crate::idp::params::Params::parse(input)
        .get(name)
        .map(str::to_string)
}

/// The mock's form encoder (its redirect URLs).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    crate::idp::params::encode(pairs)
}

/// A token as the mock's identity platform signs one: `claims` under its RS256 key, for
/// agreement with a client's claims decoder.
pub fn sign_claims(claims: &serde_json::Value) -> Option<String> {
    let key = crate::keys::idp_signing_key().ok()?;
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": key.kid});
    crate::jwt::sign_rs256(key, &header, claims).ok()
}
