//! The secret that keys the hash in per-user index key names, so that a Redis dump or a
//! replica does not give user ids or e-mails away to a dictionary: without the secret, a
//! guessed value cannot be hashed to compare.
//!
//! It is kept apart from the cookie signing keys on purpose: those rotate, and every
//! index key name changes with this secret.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The secret that keys the hash in the store key of a per-user index
/// (`#[session(index)]`): `{prefix}index:{field}:{hash}`, where the hash is HMAC-SHA-256
/// under this secret of the field name and the encoded value.
///
/// Set it with
/// [`SessionMiddlewareBuilder::index_secret`](crate::SessionMiddlewareBuilder::index_secret),
/// which says what the default is and what changing it does. Store implementations see it
/// only through [`IndexKey::new`](crate::store::IndexKey::new).
///
/// Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct IndexSecret {
    mac: Hmac<Sha256>,
}

/// Separates the derived index secret from every other HMAC made with a signing key:
/// a cookie signature covers `name=value` (keygrip) or a session id (express), and this
/// label is neither, having no `=` and a space.
const DERIVATION_LABEL: &[u8] = b"actix-typed-session index secret v1";

impl IndexSecret {
    /// The fewest bytes the builder accepts for a secret: as many as the output of
    /// HMAC-SHA-256.
    pub const MIN_LEN: usize = 32;

    /// A secret from its bytes. Any length is taken here; the builder refuses one shorter
    /// than [`IndexSecret::MIN_LEN`].
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        // HMAC's own rule for a key (RFC 2104): one longer than the hash's block is
        // hashed first, then every key is zero-padded to a block. Applied here so the
        // infallible `KeyInit::new` can take it, where `new_from_slice` returns a `Result`
        // whose error never happens for HMAC.
        let secret = secret.as_ref();
        let hashed;
        let key = if secret.len() > Sha256::block_size() {
            hashed = Sha256::digest(secret);
            hashed.as_slice()
        } else {
            secret
        };
        let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
        block[..key.len()].copy_from_slice(key);
        Self {
            mac: <Hmac<Sha256> as KeyInit>::new(&block),
        }
    }

    /// The default: a secret derived from the cookie signing key `signing_key`, so that
    /// an app that sets none keeps the same index keys across restarts and instances until
    /// that key rotates.
    pub(crate) fn derived_from(signing_key: &[u8]) -> Self {
        Self::new(Self::new(signing_key).tag(&[DERIVATION_LABEL]))
    }

    /// The fallback without any signing key: a secret everyone knows, so the hash is no
    /// better than an unkeyed one against a dictionary. The builder warns about it.
    pub(crate) fn public() -> Self {
        Self::new(DERIVATION_LABEL)
    }

    /// The hash in the index key name of `field` holding the encoded `value`: base64url,
    /// unpadded, of HMAC-SHA-256 over the field name, a 0 byte and the value. The 0 byte
    /// keeps `("ab", "c")` and `("a", "bc")` apart; no field name contains one.
    pub(crate) fn hash(&self, field: &str, value: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.tag(&[field.as_bytes(), &[0], value]))
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Never prints the secret.
impl fmt::Debug for IndexSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &[u8] = b"\"alice@example.com\"";

    #[test]
    fn two_secrets_give_two_hashes_and_neither_is_the_plain_sha256() {
        let one = IndexSecret::new([1; 32]).hash("user", VALUE);
        let two = IndexSecret::new([2; 32]).hash("user", VALUE);
        assert_ne!(one, two);
        let plain = URL_SAFE_NO_PAD.encode(Sha256::digest(VALUE));
        assert_ne!(one, plain);
        assert_ne!(two, plain);
    }

    #[test]
    fn the_hash_is_hmac_sha256_over_field_zero_value() {
        let secret = [7; 32];
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).expect("any length");
        mac.update(b"user\0\"alice@example.com\"");
        let expected = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(IndexSecret::new(secret).hash("user", VALUE), expected);
    }

    #[test]
    fn a_secret_of_any_length_keys_the_mac_as_hmac_does() {
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let secret = vec![0x5a; len];
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).expect("any length");
            mac.update(b"data");
            assert_eq!(
                IndexSecret::new(&secret).tag(&[b"da", b"ta"]),
                <[u8; 32]>::from(mac.finalize().into_bytes()),
                "a secret of {len} bytes"
            );
        }
    }

    #[test]
    fn the_field_name_is_framed_apart_from_the_value() {
        let secret = IndexSecret::new([7; 32]);
        assert_ne!(secret.hash("ab", b"c"), secret.hash("a", b"bc"));
        assert_ne!(secret.hash("user", VALUE), secret.hash("email", VALUE));
    }

    #[test]
    fn the_derived_secret_follows_the_signing_key_and_is_not_the_key_itself() {
        let key = [9; 32];
        let derived = IndexSecret::derived_from(&key).hash("user", VALUE);
        assert_eq!(derived, IndexSecret::derived_from(&key).hash("user", VALUE));
        assert_ne!(derived, IndexSecret::new(key).hash("user", VALUE));
        assert_ne!(
            derived,
            IndexSecret::derived_from(&[8; 32]).hash("user", VALUE)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!(
            "{:?}",
            IndexSecret::new("a secret only the app knows, 32b+")
        );
        assert_eq!(shown, "IndexSecret(..)");
    }
}
