//! A cached refresh token the identity provider refuses as expired (the mock's AADSTS700082):
//! the cache entry is dropped, the report says why and gives the command that signs in again.
//! Uses an in-memory store, never the user's keyring.

use std::sync::Arc;
use std::time::Duration;

use xoauth::plan::{Flow, OAuthPlan, Provider};
use xoauth::secret::Secret;
use xoauth::token::cache::{CachedToken, MemoryStore, TokenStore};
use xoauth::token::provider::{Authority, CustomUrls, default_scopes};

use crate::util::*;

const BOGUS_REFRESH: &str = "refresh-token-the-mock-never-issued-3f9a";

fn device_code_plan(mock: &Mock, wait: Duration) -> OAuthPlan {
    OAuthPlan {
        authority: Authority::resolve(
            Provider::Microsoft,
            Some("contoso.example"),
            Some(&mock.server.idp_url()),
            &CustomUrls::default(),
        )
        .unwrap(),
        tenant: "contoso.example".into(),
        client_id: PUBLIC.into(),
        flow: Flow::DeviceCode,
        scopes: default_scopes(Provider::Microsoft, false, &[xoauth::plan::Protocol::Imap])
            .unwrap(),
        credential: None,
        login_hint: Some(ALICE.into()),
        cache: true,
        refresh: false,
        open_browser: false,
        user_wait: wait,
        redirect_uri: None,
        discovery: None,
        device_code_command: None,
    }
}

/// A store holding an expired access token and a refresh token the mock refuses.
fn stale_store(plan: &OAuthPlan) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let key = xoauth::token::cache_key(plan, None).unwrap();
    store
        .put(
            &key,
            &CachedToken {
                access_token: Secret::new("stale-access".into()),
                expires_at: xoauth::token::now() - 60,
                refresh_token: Some(Secret::new(BOGUS_REFRESH.into())),
            },
        )
        .unwrap();
    store
}

fn context<'a>(
    http: &'a reqwest::Client,
    store: &Arc<MemoryStore>,
    hook: Option<&'a xoauth::token::DeviceCodeHook<'a>>,
) -> xoauth::token::Context<'a> {
    xoauth::token::Context {
        http,
        progress: false,
        store: Some(store.clone() as Arc<dyn TokenStore>),
        on_device_code: hook,
        input_wait: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_refresh_token_is_dropped_even_when_signing_in_again_fails() {
    let mock = Mock::start().await;
    let plan = device_code_plan(&mock, Duration::from_secs(1));
    let store = stale_store(&plan);
    let http =
        xoauth::token::http::client(&[mock.server.ca_der()], Duration::from_secs(10)).unwrap();
    let plan_of = xoauth::plan::TokenPlan::OAuth(Box::new(plan.clone()));
    // Nobody approves the device code: the new sign-in fails too.
    let failure = match xoauth::token::obtain(&plan_of, &context(&http, &store, None)).await {
        Ok(_) => panic!("nobody approved the device code"),
        Err(f) => f,
    };
    assert!(
        store.list().unwrap().is_empty(),
        "the refused entry is gone"
    );
    let m = &failure.message;
    assert!(m.contains("AADSTS700082"), "{m}");
    assert!(m.contains("not used for too long"), "{m}");
    assert!(m.contains("the cached sign-in was dropped"), "{m}");
    assert!(
        m.contains(&format!(
            "xoauth token --provider microsoft --client-id {PUBLIC} --tenant contoso.example \
             --user {ALICE} --flow device-code --refresh"
        )),
        "{m}"
    );
    assert!(!m.contains(BOGUS_REFRESH), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_refresh_token_is_replaced_by_a_new_sign_in_with_a_warning() {
    let mock = Mock::start().await;
    let plan = device_code_plan(&mock, Duration::from_secs(20));
    let store = stale_store(&plan);
    let http =
        xoauth::token::http::client(&[mock.server.ca_der()], Duration::from_secs(10)).unwrap();
    let server = &mock.server;
    let approve = move |code: &str| {
        server.approve_device_code(code, ALICE);
    };
    let plan_of = xoauth::plan::TokenPlan::OAuth(Box::new(plan.clone()));
    let token = match xoauth::token::obtain(&plan_of, &context(&http, &store, Some(&approve))).await
    {
        Ok(t) => t,
        Err(f) => panic!("{f:?}"),
    };
    assert_eq!(token.origin, xoauth::token::Origin::DeviceCode);
    let warning = token
        .warnings
        .iter()
        .find(|w| w.contains("AADSTS700082"))
        .unwrap_or_else(|| panic!("{:?}", token.warnings));
    assert!(
        warning.contains("the cached sign-in was dropped"),
        "{warning}"
    );
    assert!(
        warning.contains("--flow device-code --refresh"),
        "{warning}"
    );
    // The new sign-in's tokens replaced the refused ones.
    let key = xoauth::token::cache_key(&plan, None).unwrap();
    let entry = store.get(&key).unwrap().expect("the new sign-in is cached");
    assert_ne!(
        entry.refresh_token.as_ref().map(|r| r.expose().as_str()),
        Some(BOGUS_REFRESH)
    );
}

/// A real refresh token the mock ends with `code` (sign-in frequency, revoked grant): the
/// refusal is named, its entry dropped.
#[tokio::test(flavor = "multi_thread")]
async fn sign_in_frequency_and_revoked_grants_drop_the_entry_and_say_why() {
    for (code, words) in [
        (70043, "sign-in frequency"),
        (50173, "password was changed"),
    ] {
        let mock = Mock::with(|c| {
            c.faults.token_error.push(xoauth_mock::TokenErrorConfig {
                user: None,
                client_id: Some(PUBLIC.into()),
                code,
            })
        })
        .await;
        let http =
            xoauth::token::http::client(&[mock.server.ca_der()], Duration::from_secs(10)).unwrap();
        let store = Arc::new(MemoryStore::new());
        // A real sign-in (the fault refuses only refresh tokens) fills the cache...
        let plan = device_code_plan(&mock, Duration::from_secs(20));
        let server = &mock.server;
        let approve = move |c: &str| {
            server.approve_device_code(c, ALICE);
        };
        let signed_in = xoauth::token::obtain(
            &xoauth::plan::TokenPlan::OAuth(Box::new(plan.clone())),
            &context(&http, &store, Some(&approve)),
        )
        .await;
        assert!(signed_in.is_ok(), "{code}");
        // ... then its access token runs out, and the refresh is refused.
        let key = xoauth::token::cache_key(&plan, None).unwrap();
        let mut entry = store.get(&key).unwrap().unwrap();
        assert!(entry.refresh_token.is_some());
        entry.expires_at = xoauth::token::now() - 60;
        store.put(&key, &entry).unwrap();
        let later = device_code_plan(&mock, Duration::from_secs(1));
        let failure = match xoauth::token::obtain(
            &xoauth::plan::TokenPlan::OAuth(Box::new(later)),
            &context(&http, &store, None),
        )
        .await
        {
            Ok(_) => panic!("{code}: nobody approved the new sign-in"),
            Err(f) => f,
        };
        assert!(store.list().unwrap().is_empty(), "{code}: entry dropped");
        let m = &failure.message;
        assert!(m.contains(&format!("AADSTS{code}")), "{m}");
        assert!(m.contains(words), "{m}");
        assert!(m.contains("--flow device-code --refresh"), "{m}");
    }
}
