//! Round trips between xoauth's encoders and the mock's decoders (and back), as properties:
//! what one side writes the other reads unchanged.

use proptest::prelude::*;
use xoauth::protocol::imap::utf7;
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
}
