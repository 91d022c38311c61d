//! Session ids: generated from the OS CSPRNG, validated before they reach a store key.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Random bytes in a new id: 192 bits, comfortably above OWASP's 128-bit floor.
const ID_BYTES: usize = 24;
/// Length of a generated id: base64url of [`ID_BYTES`] without padding.
const ID_LEN: usize = ID_BYTES * 4 / 3;

/// A session id that is known to be well formed.
///
/// The only ways to get one are [`SessionId::generate`] and [`SessionId::parse`], so a
/// value from a client can never reach a store key without passing validation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id: 192 bits from the operating system's CSPRNG, URL-safe base64.
    ///
    /// Fails only when the operating system cannot provide randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts `raw` only if it has exactly the shape of a generated id.
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed = raw.len() == ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(raw.to_owned()))
    }

    /// The id as sent to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, one-way fingerprint of the id for logs and listings, so the id itself,
    /// which is a bearer credential, is never written anywhere but the cookie and the store.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
}

/// The one-way fingerprint behind [`SessionId::fingerprint`]: 72 bits of SHA-256, enough to
/// tell sessions apart in logs, useless for finding the id again.
pub(crate) fn fingerprint(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// Debug output shows the fingerprint, never the id, so a stray `{:?}` cannot leak it.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_documented_shape_and_differ() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()), Some(a));
    }

    #[test]
    fn parse_rejects_anything_but_the_generated_shape() {
        let good = "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7aD";
        assert!(SessionId::parse(good).is_some());
        for bad in [
            "",
            "short",
            &good[1..],
            &format!("{good}A"),
            "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7a/",
            "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7a:",
            "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7a*",
            "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7aé",
        ] {
            assert!(SessionId::parse(bad).is_none(), "accepted {bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_id() {
        let id = SessionId::generate().unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains(id.as_str()));
        assert!(shown.contains(&id.fingerprint()));
    }
}
