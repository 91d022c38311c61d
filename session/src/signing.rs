//! Cookie signatures compatible with keygrip, the signer behind Koa's signed cookies:
//! `<name>.sig` holds base64url (no padding) of HMAC(key, `"<name>=<value>"`); and with
//! cookie-signature, express-session's signer: the cookie holds `s:<value>.<signature>`,
//! standard base64 (no padding) of HMAC-SHA256(secret, value). Either way the first key
//! signs, every key verifies, so keys can be rotated without logging anyone out.

use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The HMAC hash behind a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1, keygrip's default and what Koa apps use unless configured otherwise.
    Sha1,
    /// HMAC-SHA-256: the default here.
    #[default]
    Sha256,
}

/// The secrets that sign and verify session cookies.
///
/// The first key signs; every key verifies. To rotate, put the new key first and keep the
/// old one after it until the cookies it signed have expired: a cookie verified by an old
/// key is re-signed with the first one on its next response.
///
/// Every key must be at least [`Keys::MIN_LEN`] (32) bytes: the middleware refuses to be
/// built otherwise (see [`ConfigError`](crate::ConfigError)). Anyone who sees one signed
/// cookie can try guesses of a short secret offline, as fast as they can compute HMACs,
/// and a guessed key signs any id. Make keys random, for example
/// `openssl rand -base64 48`. [`Keys::allow_short_keys`] accepts shorter ones, for
/// sharing sessions with a Node app whose secrets are short; an empty key is refused
/// always.
///
/// [`Keys::none`] sends cookies unsigned. The id alone is still an unguessable 192-bit
/// value, but signing lets the middleware reject forged cookies without a store round
/// trip.
///
/// Under the cookie store
/// ([`SessionMiddleware::builder_with_cookie_store`](crate::SessionMiddleware::builder_with_cookie_store))
/// the keys encrypt instead: an AES-256-GCM key is derived from each (HKDF-SHA-256), the
/// first seals and every one opens, so rotation works the same way. There, `Keys::none()`
/// and keys under 32 bytes are refused, `allow_short_keys` or not; but for
/// [`Compat::KoaSessionCookie`](crate::Compat::KoaSessionCookie), koa-session's own
/// cookie, which they sign as the Koa app's keys do (short ones by name).
#[derive(Clone)]
pub struct Keys {
    secrets: Vec<Vec<u8>>,
    /// Keys shorter than [`Keys::MIN_LEN`] were accepted by name.
    short_allowed: bool,
    /// Made by [`Keys::none`]: an empty ring is then a choice, not a configuration that
    /// lost its keys.
    unsigned: bool,
}

/// Why a key ring cannot sign safely; the builder turns it into a `ConfigError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    /// `Keys::new` with no key at all.
    NoKeys,
    /// The key at this position of the ring is empty.
    Empty(usize),
    /// The key at this position is this many bytes, under `Keys::MIN_LEN`.
    Short(usize, usize),
}

impl Keys {
    /// The fewest bytes a key may have unless [`Keys::allow_short_keys`] is called: as
    /// many as the output of HMAC-SHA-256.
    pub const MIN_LEN: usize = 32;

    /// A key ring; the first key signs. Each key must be at least [`Keys::MIN_LEN`] bytes,
    /// and the ring must hold at least one, or building the middleware fails.
    pub fn new<I, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        Self {
            secrets: keys.into_iter().map(|k| k.as_ref().to_vec()).collect(),
            short_allowed: false,
            unsigned: false,
        }
    }

    /// No keys: cookies are sent and accepted unsigned. Also what `Keys::default()` gives.
    pub fn none() -> Self {
        Self {
            secrets: Vec::new(),
            short_allowed: false,
            unsigned: true,
        }
    }

    /// Accepts keys shorter than [`Keys::MIN_LEN`] bytes, to share sessions with a Node
    /// app whose secrets are short (`app.keys`, express-session's `secret`).
    ///
    /// Weaker: one signed cookie is enough to guess a short secret offline, and the
    /// guessed secret signs any session id, of this app and of the Node app. Prefer giving
    /// both apps a long random key (put it first on both sides, keep the old one after it
    /// until its cookies expire). Empty keys are still refused.
    ///
    /// ```
    /// # use actix_typed_session::{store::MemoryStore, Keys, SessionMiddleware};
    /// let keys = Keys::new(["keyboard cat"]).allow_short_keys();
    /// let sessions = SessionMiddleware::new(MemoryStore::new(), keys);
    /// ```
    pub fn allow_short_keys(mut self) -> Self {
        self.short_allowed = true;
        self
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// The key that signs: the first of the ring.
    pub(crate) fn signing_key(&self) -> Option<&[u8]> {
        self.secrets.first().map(Vec::as_slice)
    }

    /// Every secret of the ring, the signing one first.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &[u8]> {
        self.secrets.iter().map(Vec::as_slice)
    }

    /// The position and length of the first key shorter than [`Keys::MIN_LEN`], whether
    /// or not short keys were allowed: the cookie store, which encrypts with them and
    /// shares nothing with a Node app, takes none.
    pub(crate) fn first_short(&self) -> Option<(usize, usize)> {
        self.secrets
            .iter()
            .enumerate()
            .find(|(_, secret)| secret.len() < Self::MIN_LEN)
            .map(|(index, secret)| (index, secret.len()))
    }

    /// The first reason this ring cannot sign safely, if any.
    pub(crate) fn problem(&self) -> Option<KeyProblem> {
        if self.secrets.is_empty() {
            return (!self.unsigned).then_some(KeyProblem::NoKeys);
        }
        self.secrets
            .iter()
            .enumerate()
            .find_map(|(index, secret)| match secret.len() {
                0 => Some(KeyProblem::Empty(index)),
                len if len < Self::MIN_LEN && !self.short_allowed => {
                    Some(KeyProblem::Short(index, len))
                }
                _ => None,
            })
    }
}

/// The same as [`Keys::none`]: unsigned cookies.
impl Default for Keys {
    fn default() -> Self {
        Self::none()
    }
}

/// Never prints a secret.
impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys({} keys)", self.secrets.len())
    }
}

/// HMAC states keyed once at start-up; each signature clones one, which skips the
/// per-call key schedule.
#[derive(Clone)]
enum Prepared {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
}

impl Prepared {
    /// `None` only if the MAC refused the key, which HMAC never does (it takes keys of
    /// any length); handled anyway to keep panics out of library code.
    fn new(algorithm: Algorithm, secret: &[u8]) -> Option<Self> {
        match algorithm {
            Algorithm::Sha1 => <Hmac<Sha1> as KeyInit>::new_from_slice(secret)
                .ok()
                .map(Self::Sha1),
            Algorithm::Sha256 => <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
                .ok()
                .map(Self::Sha256),
        }
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        match self.clone() {
            Self::Sha1(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Self::Sha256(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// Constant-time comparison of the MAC of `data` against `tag`.
    fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        match self.clone() {
            Self::Sha1(mut mac) => {
                mac.update(data);
                mac.verify_slice(tag).is_ok()
            }
            Self::Sha256(mut mac) => {
                mac.update(data);
                mac.verify_slice(tag).is_ok()
            }
        }
    }
}

/// Bytes of the longest MAC we verify (HMAC-SHA-256's 32), with room to spare.
const MAX_TAG_LEN: usize = 64;

/// A key ring ready to sign and verify, as keygrip does.
#[derive(Clone)]
pub(crate) struct Keygrip {
    keys: Vec<Prepared>,
    /// How signatures are spelled: base64url for keygrip, standard base64 for
    /// cookie-signature; no padding either way.
    encoding: &'static GeneralPurpose,
}

/// Which key of the ring verified a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The signing key: nothing to do.
    Current,
    /// An older key: the cookie should be re-signed with the current one.
    Rotated,
}

impl Keygrip {
    /// `None` for an empty ring: nothing to sign with.
    pub(crate) fn new(keys: &Keys, algorithm: Algorithm) -> Option<Self> {
        Self::with_encoding(keys, algorithm, &URL_SAFE_NO_PAD)
    }

    fn with_encoding(
        keys: &Keys,
        algorithm: Algorithm,
        encoding: &'static GeneralPurpose,
    ) -> Option<Self> {
        let keys: Vec<_> = keys
            .secrets
            .iter()
            .filter_map(|secret| Prepared::new(algorithm, secret))
            .collect();
        (!keys.is_empty()).then_some(Self { keys, encoding })
    }

    /// HMAC(first key, data) in the ring's encoding (base64url without padding for
    /// keygrip).
    pub(crate) fn sign(&self, data: &[u8]) -> String {
        self.keys
            .first()
            .map(|key| self.encoding.encode(key.sign(data)))
            .unwrap_or_default()
    }

    /// The index of the first key whose signature matches, as keygrip's `index`.
    ///
    /// Only the canonical encoding verifies: the strict decoder rejects padding, the
    /// other base64 alphabet and non-zero trailing bits, so one MAC has exactly one
    /// spelling.
    pub(crate) fn index(&self, data: &[u8], signature: &str) -> Option<usize> {
        // On the stack: every request with a cookie comes through here. A signature
        // longer than any MAC's does not fit and is refused.
        let mut tag = [0u8; MAX_TAG_LEN];
        let len = self.encoding.decode_slice(signature, &mut tag).ok()?;
        let tag = tag.get(..len)?;
        self.keys.iter().position(|key| key.verify(data, tag))
    }

    /// Verifies and says whether the signature needs to be renewed.
    pub(crate) fn verify(&self, data: &[u8], signature: &str) -> Option<Verified> {
        self.index(data, signature).map(|index| match index {
            0 => Verified::Current,
            _ => Verified::Rotated,
        })
    }

    /// The signature of `value` as the carrier `name` holds it: keygrip signs
    /// `"<name>=<value>"`, which binds the signature to its cookie or header.
    pub(crate) fn sign_pair(&self, name: &str, value: &str) -> String {
        self.sign(pair(name, value).as_bytes())
    }

    /// Checks a signature made by [`Keygrip::sign_pair`].
    pub(crate) fn verify_pair(&self, name: &str, value: &str, signature: &str) -> Option<Verified> {
        self.verify(pair(name, value).as_bytes(), signature)
    }
}

/// What keygrip signs for a cookie or header `name` holding `value`: `name=value`.
fn pair(name: &str, value: &str) -> String {
    let mut data = String::with_capacity(name.len() + 1 + value.len());
    data.push_str(name);
    data.push('=');
    data.push_str(value);
    data
}

/// express-session's signer (the npm package cookie-signature): the signature travels
/// inside the cookie value, `s:<value>.<base64 of HMAC-SHA256(secret, value)>`. The same
/// key ring as keygrip's, over the value alone and spelled in standard base64.
#[derive(Clone)]
pub(crate) struct InlineSigner(Keygrip);

impl InlineSigner {
    /// `None` for an empty ring: nothing to sign with.
    pub(crate) fn new(keys: &Keys) -> Option<Self> {
        Keygrip::with_encoding(keys, Algorithm::Sha256, &STANDARD_NO_PAD).map(Self)
    }

    /// `s:<value>.<signature>` with the first key, before any percent-encoding.
    pub(crate) fn sign(&self, value: &str) -> String {
        format!("s:{value}.{}", self.0.sign(value.as_bytes()))
    }

    /// The value inside `signed` (percent-decoded already) and which key verified it.
    /// The value is everything before the last dot, as cookie-signature reads it; only
    /// the canonical spelling of the signature verifies.
    pub(crate) fn unsign<'a>(&self, signed: &'a str) -> Option<(&'a str, Verified)> {
        let (value, signature) = signed.strip_prefix("s:")?.rsplit_once('.')?;
        let verified = self.0.verify(value.as_bytes(), signature)?;
        Some((value, verified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct VectorFile {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        keys: Vec<String>,
        algorithm: String,
        data: String,
        signature: String,
        index: i64,
    }

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../tests/vectors/keygrip-vectors.json");
        serde_json::from_str::<VectorFile>(text).unwrap().vectors
    }

    fn grip(vector: &Vector) -> Keygrip {
        let algorithm = match vector.algorithm.as_str() {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            other => panic!("unknown algorithm {other}"),
        };
        Keygrip::new(&Keys::new(&vector.keys), algorithm).unwrap()
    }

    #[test]
    fn every_keygrip_vector_verifies_to_its_index() {
        let vectors = vectors();
        assert!(vectors.len() >= 7);
        for v in &vectors {
            let found = grip(v).index(v.data.as_bytes(), &v.signature);
            let expected = usize::try_from(v.index).ok();
            assert_eq!(found, expected, "vector {} / {}", v.data, v.signature);
        }
    }

    #[test]
    fn signing_with_the_first_key_reproduces_keygrip() {
        for v in vectors().iter().filter(|v| v.index == 0) {
            assert_eq!(grip(v).sign(v.data.as_bytes()), v.signature, "{}", v.data);
        }
    }

    #[test]
    fn an_older_key_verifies_as_rotated() {
        let v = vectors().into_iter().find(|v| v.index == 1).unwrap();
        assert_eq!(
            grip(&v).verify(v.data.as_bytes(), &v.signature),
            Some(Verified::Rotated)
        );
    }

    #[test]
    fn non_canonical_spellings_of_a_valid_signature_are_rejected() {
        let grip = Keygrip::new(&Keys::new(["some secret hurr"]), Algorithm::Sha1).unwrap();
        let data = b"koa.sess=3f2b7e54-8c1d-4a3e-9f10-2b6c7d8e9a01";
        let good = grip.sign(data);
        assert_eq!(grip.verify(data, &good), Some(Verified::Current));
        let standard_alphabet = good.replace('-', "+").replace('_', "/");
        let padded = format!("{good}=");
        let mut trailing_bits = good.clone().into_bytes();
        // 20 bytes take 27 characters; the last carries 2 unused bits. Setting one keeps
        // the decoded bytes equal, so only a strict decoder tells the two apart.
        let last = trailing_bits.pop().unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let pos = alphabet.iter().position(|&c| c == last).unwrap();
        trailing_bits.push(alphabet[pos ^ 1]);
        let trailing_bits = String::from_utf8(trailing_bits).unwrap();
        for bad in [
            padded,
            trailing_bits,
            format!(" {good}"),
            good[..good.len() - 1].to_owned(),
        ] {
            assert_eq!(grip.verify(data, &bad), None, "accepted {bad:?}");
        }
        if standard_alphabet != good {
            assert_eq!(grip.verify(data, &standard_alphabet), None);
        }
    }

    #[derive(Deserialize)]
    struct ExpressVectorFile {
        vectors: Vec<ExpressVector>,
    }

    #[derive(Deserialize)]
    struct ExpressVector {
        secret: String,
        id: String,
        signed: String,
    }

    fn express_vectors() -> Vec<ExpressVector> {
        let text = include_str!("../tests/vectors/cookie-signature-vectors.json");
        serde_json::from_str::<ExpressVectorFile>(text)
            .unwrap()
            .vectors
    }

    #[test]
    fn every_cookie_signature_vector_signs_and_unsigns() {
        let vectors = express_vectors();
        assert!(vectors.len() >= 3);
        for v in &vectors {
            let signer = InlineSigner::new(&Keys::new([&v.secret])).unwrap();
            assert_eq!(signer.sign(&v.id), v.signed);
            assert_eq!(
                signer.unsign(&v.signed),
                Some((v.id.as_str(), Verified::Current))
            );
        }
    }

    #[test]
    fn express_key_rotation_first_signs_all_verify() {
        let v = &express_vectors()[0];
        let rotated = InlineSigner::new(&Keys::new(["a newer secret", v.secret.as_str()])).unwrap();
        assert_eq!(
            rotated.unsign(&v.signed),
            Some((v.id.as_str(), Verified::Rotated))
        );
        assert_ne!(rotated.sign(&v.id), v.signed);
        let other = InlineSigner::new(&Keys::new(["a newer secret"])).unwrap();
        assert_eq!(other.unsign(&v.signed), None);
    }

    #[test]
    fn express_signatures_accept_only_the_canonical_form() {
        let v = &express_vectors()[0];
        let signer = InlineSigner::new(&Keys::new([&v.secret])).unwrap();
        let (prefix, signature) = v.signed.rsplit_once('.').unwrap();
        let url_safe = signature.replace('+', "-").replace('/', "_");
        assert_ne!(url_safe, signature, "the vector should use + or /");
        for bad in [
            format!("{}={}", v.signed, ""),
            format!("{prefix}.{url_safe}"),
            v.signed.trim_start_matches("s:").to_owned(),
            format!("{prefix}.{}", &signature[1..]),
            format!("s:{}x.{signature}", &prefix[2..]),
            v.signed.clone() + "=",
        ] {
            assert_eq!(signer.unsign(&bad), None, "accepted {bad:?}");
        }
    }

    #[test]
    fn short_and_empty_keys_are_problems_unless_allowed() {
        let long = "k".repeat(Keys::MIN_LEN);
        let short = "k".repeat(Keys::MIN_LEN - 1);
        assert_eq!(Keys::new([long.as_str()]).problem(), None);
        assert_eq!(
            Keys::new([long.as_str(), short.as_str()]).problem(),
            Some(KeyProblem::Short(1, 31))
        );
        assert_eq!(
            Keys::new([long.as_str(), ""]).problem(),
            Some(KeyProblem::Empty(1))
        );
        assert_eq!(Keys::new(["k"]).allow_short_keys().problem(), None);
        assert_eq!(
            Keys::new(["k", ""]).allow_short_keys().problem(),
            Some(KeyProblem::Empty(1))
        );
        assert_eq!(
            Keys::new(Vec::<String>::new()).problem(),
            Some(KeyProblem::NoKeys)
        );
        assert_eq!(Keys::none().problem(), None);
        assert_eq!(Keys::default().problem(), None);
    }

    #[test]
    fn an_empty_ring_cannot_sign() {
        assert!(Keygrip::new(&Keys::none(), Algorithm::Sha256).is_none());
        assert_eq!(format!("{:?}", Keys::new(["secret"])), "Keys(1 keys)");
    }
}
