//! Access tokens: where they come from. (Obtaining them by OAuth flows, caching them in the OS
//! keyring and decoding their claims arrive with the OAuth issue.) Knows no mail protocol.

pub mod source;

pub use source::{TokenError, TokenSource};
