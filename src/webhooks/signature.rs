//! Signing webhook messages as Standard Webhooks has it: each message carries `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret the endpoint has
//! (two during a rotation), so receivers that know either secret accept it. A secret is shown to
//! the customer as `whsec_` and the base64 of its 32 random bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;

const PREFIX: &str = "whsec_";

/// An endpoint's signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A new secret of 32 random bytes (the key length of HMAC-SHA256).
    pub fn generate() -> Self {
        let mut bytes = vec![0; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret as `whsec_…` shows it (the prefix may be left out); `None` if it is not base64
    /// of at least 24 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(PREFIX).unwrap_or(text)).ok()?;
        (bytes.len() >= 24).then_some(Self(bytes))
    }

    /// `whsec_` and the base64 of the key: what the customer is shown, once.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The `webhook-signature` header of a message signed with each of `secrets`.
pub fn sign(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| format!("v1,{}", s.mac(id, timestamp, body))).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The Standard Webhooks reference libraries' test vector.
    #[test]
    fn signs_as_the_reference_libraries_do() {
        let secret = Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&[secret], "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let (old, new) = (Secret::generate(), Secret::generate());
        let both = sign(&[old.clone(), new.clone()], "msg_1", 1, b"{}");
        assert_eq!(both, format!("{} {}", sign(&[old], "msg_1", 1, b"{}"), sign(&[new], "msg_1", 1, b"{}")));
    }

    #[test]
    fn secrets_are_checked_when_parsed() {
        assert!(Secret::parse("whsec_not base64!").is_none());
        assert!(Secret::parse("whsec_c2hvcnQ=").is_none(), "5 bytes is too short");
        let secret = Secret::generate();
        assert_eq!(Secret::parse(&secret.reveal()), Some(secret.clone()));
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }

    proptest! {
        /// Any change to the id, the timestamp or the body changes the signature.
        #[test]
        fn the_signature_covers_id_timestamp_and_body(
            id in "[a-z0-9_]{1,20}", ts in 0i64..4_000_000_000, body in proptest::collection::vec(any::<u8>(), 0..64),
            flip in 0usize..64,
        ) {
            let secret = Secret(vec![7; 32]);
            let signed = sign(std::slice::from_ref(&secret), &id, ts, &body);
            prop_assert_ne!(&signed, &sign(std::slice::from_ref(&secret), &format!("{id}x"), ts, &body));
            prop_assert_ne!(&signed, &sign(std::slice::from_ref(&secret), &id, ts + 1, &body));
            let mut changed = body.clone();
            if changed.is_empty() { changed.push(0) } else { let i = flip % changed.len(); changed[i] ^= 1 }
            prop_assert_ne!(&signed, &sign(std::slice::from_ref(&secret), &id, ts, &changed));
        }
    }
}
