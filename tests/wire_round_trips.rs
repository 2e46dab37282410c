//! Round trips between xoauth's encoders and the mock's decoders (and back), as properties:
//! what one side writes the other reads unchanged.

use proptest::prelude::*;
use xoauth::protocol::imap::utf7;
use xoauth::protocol::smtp::response::Reply;
use xoauth::sasl::{Credentials, Mechanism, initial_response_raw};
use xoauth::secret::Secret;
use xoauth_mock::fuzzing;

/// A SASL field xoauth accepts: non-empty, no control characters.
const FIELD: &str = "[^\\p{Cc}]{1,40}";

/// A field, often made of the characters SASL framing gives meaning to (`,` `=` space).
fn field() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z ,=@.]{1,20}", FIELD]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// xoauth's XOAUTH2 and OAUTHBEARER messages read back as the same user and token on the
    /// server side, whatever `,`, `=` or non-ASCII the address holds.
    #[test]
    fn sasl_messages_read_back(
        user in field(),
        token in field(),
        host in proptest::option::of(field()),
        port in proptest::option::of(any::<u16>()),
    ) {
        let secret = Secret::new(token.clone());
        let creds = Credentials { authzid: &user, token: &secret, host: host.as_deref(), port };
        let expected = Some((Some(user.clone()), token.clone()));
        let raw = initial_response_raw(Mechanism::XOAuth2, &creds).unwrap();
        prop_assert_eq!(fuzzing::sasl_xoauth2(raw.expose()), expected.clone());
        let raw = initial_response_raw(Mechanism::OAuthBearer, &creds).unwrap();
        prop_assert_eq!(fuzzing::sasl_oauthbearer(raw.expose()), expected);
    }

    /// A folder name the mock lists in modified UTF-7 is the name xoauth decodes.
    #[test]
    fn mock_folder_names_decode(name in any::<String>()) {
        prop_assert_eq!(utf7::decode(&fuzzing::mutf7_encode(&name)), Ok(name));
    }

    /// The mock's form encoding (its redirect URLs) decodes to the value it encoded.
    #[test]
    fn mock_form_values_read_back(name in "[^&=]{1,20}", value in any::<String>()) {
        let encoded = fuzzing::form_encode(&[(&name, &value)]);
        prop_assert_eq!(fuzzing::form_get(encoded.as_bytes(), &name), Some(value));
    }

    /// What the mock's identity platform signs is what xoauth reads from the token: the
    /// claims a diagnosis rests on (aud, tid, upn, scp, roles, exp) survive base64url JSON,
    /// whatever characters they hold.
    #[test]
    fn signed_claims_read_back(
        aud in any::<String>(),
        tid in any::<String>(),
        upn in any::<String>(),
        scp in any::<String>(),
        roles in proptest::collection::vec(any::<String>(), 0..4),
        exp in any::<i64>(),
    ) {
        let claims = serde_json::json!({
            "aud": aud, "tid": tid, "upn": upn, "scp": scp, "roles": roles, "exp": exp,
        });
        let token = fuzzing::sign_claims(&claims).expect("the mock signs");
        let read = xoauth::token::claims::decode(&token).expect("xoauth decodes what the mock signs");
        prop_assert_eq!(read.aud, Some(aud));
        prop_assert_eq!(read.tid, Some(tid));
        prop_assert_eq!(read.upn, Some(upn));
        prop_assert_eq!(read.scp, Some(scp));
        prop_assert_eq!(read.roles, roles);
        prop_assert_eq!(read.exp, Some(exp));
    }

    /// An SMTP reply parsed from the wire and written back parses to the same reply: what
    /// the report quotes as the server's words is what the server sent.
    #[test]
    fn smtp_replies_read_back(
        code in 200u16..600,
        texts in proptest::collection::vec("[ -~]{0,30}", 1..5),
    ) {
        let n = texts.len();
        let raw: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{code}{}{t}", if i + 1 == n { ' ' } else { '-' }))
            .collect();
        let reply = Reply::from_lines(&raw).expect("well-formed reply lines parse");
        prop_assert_eq!(Reply::from_lines(&reply.wire()).expect("its wire form parses"), reply);
    }
}
