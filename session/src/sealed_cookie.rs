//! The cookie store's seal: AES-256-GCM (an AEAD from the RustCrypto `aes-gcm` crate),
//! so a client can neither read its session nor change a byte of it.
//!
//! One AES key per entry of [`Keys`], derived with HKDF-SHA-256 under a label naming
//! this purpose, so the secret that signs ids for a store is never itself an AES key, and
//! a key of one purpose reveals nothing of another. The first key seals; every key opens,
//! so keys rotate as signatures do (`signing.rs`): a cookie opened by an older key is
//! sealed again with the first on its response.
//!
//! A sealed value is base64url, without padding, of:
//!
//! | bytes | what |
//! |---|---|
//! | 1 | the format version, [`VERSION`] |
//! | 12 | a nonce, random from the OS generator for every sealing |
//! | the rest | the ciphertext, then the 16-byte tag |
//!
//! The associated data is the version byte followed by the cookie's name: a value sealed
//! for one cookie name does not open under another, and a value of one format version is
//! never read as another.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::signing::{Keys, Verified};

/// The format of the sealed values this code writes.
const VERSION: u8 = 1;

/// The HKDF label of the AES keys: a new purpose of the same secrets gets a new label.
const KEY_LABEL: &[u8] = b"actix-typed-session cookie store: AES-256-GCM key, v1";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// What sealing adds to a plaintext: the version byte, the nonce and the tag.
const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Seals and opens session cookies with the AES keys derived from a [`Keys`] ring.
#[derive(Clone)]
pub(crate) struct Sealer {
    /// In the ring's order: the first seals.
    ciphers: Vec<Aes256Gcm>,
}

/// Why a plaintext could not be sealed.
#[derive(Debug)]
pub(crate) enum SealError {
    /// The operating system gave no randomness for the nonce.
    NoRandomness,
    /// The ring has no key, or the cipher refused the plaintext (longer than AES-GCM
    /// takes, which a cookie never is).
    Refused,
}

impl Sealer {
    /// One AES-256 key per secret of `keys`; `None` for an empty ring.
    pub(crate) fn new(keys: &Keys) -> Option<Self> {
        let ciphers: Vec<Aes256Gcm> = keys
            .secrets()
            .filter_map(|secret| Aes256Gcm::new_from_slice(&derive_key(secret)).ok())
            .collect();
        (!ciphers.is_empty()).then_some(Self { ciphers })
    }

    /// `plaintext` sealed with the first key for the cookie `name`, a fresh nonce each time.
    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let cipher = self.ciphers.first().ok_or(SealError::Refused)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::NoRandomness)?;
        let aad = associated_data(VERSION, name);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Refused)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext of `value`, the cookie `name` held, and which key opened it; `None`
    /// for anything not sealed by one of the keys for this name, in this format: bad
    /// base64, another version, a changed byte, another cookie's value.
    pub(crate) fn open(&self, name: &str, value: &str) -> Option<(Vec<u8>, Verified)> {
        // The strict decoder: one sealed value has exactly one spelling.
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::from(<[u8; NONCE_LEN]>::try_from(nonce).ok()?);
        let aad = associated_data(version, name);
        self.ciphers.iter().enumerate().find_map(|(index, cipher)| {
            let payload = Payload {
                msg: sealed,
                aad: &aad,
            };
            let plaintext = cipher.decrypt(&nonce, payload).ok()?;
            let verified = match index {
                0 => Verified::Current,
                _ => Verified::Rotated,
            };
            Some((plaintext, verified))
        })
    }
}

/// The AES key of one secret: HKDF-SHA-256, no salt (the secrets are random already),
/// [`KEY_LABEL`] as the info.
fn derive_key(secret: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    // 32 bytes are far below HKDF-SHA-256's limit of 8160: expanding cannot fail.
    let _ = Hkdf::<Sha256>::new(None, secret).expand(KEY_LABEL, &mut key);
    key
}

/// What the tag covers besides the plaintext: the format version and the cookie's name.
fn associated_data(version: u8, name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + name.len());
    aad.push(version);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// The longest plaintext whose sealed value takes at most `chars` characters.
pub(crate) fn plaintext_room(chars: usize) -> usize {
    (chars * 3 / 4).saturating_sub(SEAL_OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a sealing key that is long enough, 32+";
    const OLD: &str = "an older sealing key, kept while cookies age";

    fn sealer(keys: &[&str]) -> Sealer {
        Sealer::new(&Keys::new(keys)).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_to_its_plaintext_and_hides_it() {
        let sealer = sealer(&[KEY]);
        let sealed = sealer.seal("session", b"{\"user\":\"ada\"}").unwrap();
        assert!(!sealed.contains("ada"));
        assert_eq!(
            sealer.open("session", &sealed),
            Some((b"{\"user\":\"ada\"}".to_vec(), Verified::Current))
        );
    }

    #[test]
    fn every_sealing_uses_a_new_nonce() {
        let sealer = sealer(&[KEY]);
        assert_ne!(
            sealer.seal("session", b"same").unwrap(),
            sealer.seal("session", b"same").unwrap()
        );
    }

    #[test]
    fn a_changed_byte_another_name_or_another_key_does_not_open() {
        let sealer = sealer(&[KEY]);
        let sealed = sealer.seal("session", b"payload").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for at in [0, 1, 13, bytes.len() - 1] {
            bytes[at] ^= 1;
            let changed = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(sealer.open("session", &changed), None, "byte {at}");
            bytes[at] ^= 1;
        }
        assert_eq!(sealer.open("other", &sealed), None);
        assert_eq!(self::sealer(&[OLD]).open("session", &sealed), None);
        for bad in ["", "AA", "!!!!", &format!("{sealed}=")] {
            assert_eq!(sealer.open("session", bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_older_key_opens_as_rotated_and_the_first_seals() {
        let old = sealer(&[OLD]).seal("session", b"kept").unwrap();
        let rotated = sealer(&[KEY, OLD]);
        assert_eq!(
            rotated.open("session", &old),
            Some((b"kept".to_vec(), Verified::Rotated))
        );
        let resealed = rotated.seal("session", b"kept").unwrap();
        assert_eq!(
            sealer(&[KEY]).open("session", &resealed),
            Some((b"kept".to_vec(), Verified::Current))
        );
    }

    #[test]
    fn the_length_arithmetic_matches_what_sealing_makes() {
        let sealer = sealer(&[KEY]);
        for len in 0..64 {
            let sealed = sealer.seal("s", &vec![b'x'; len]).unwrap();
            // Unpadded base64 of n bytes decodes back to exactly n.
            assert_eq!(plaintext_room(sealed.len()), len, "plaintext of {len}");
        }
    }

    #[test]
    fn an_empty_ring_seals_nothing() {
        assert!(Sealer::new(&Keys::none()).is_none());
    }
}
