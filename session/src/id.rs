//! Session ids: generated from the OS CSPRNG, validated before they reach a store key.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Random bytes in a new id: 192 bits, comfortably above OWASP's recommended minimum.
const ID_BYTES: usize = 24;
/// Length of a generated id: base64url of [`ID_BYTES`] without padding.
const ID_LEN: usize = ID_BYTES * 4 / 3;

/// The shapes of id a session format uses: what is accepted on read and made on create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum IdFormat {
    /// 32 characters of base64url (192 bits): ours, and express-session's `uid-safe(24)`.
    #[default]
    Base64Url,
    /// `8-4-4-4-12` lower-case hex, as koa-session's `crypto.randomUUID()`. Made from 128
    /// random bits (no version nibble): the same shape, 6 bits more than a UUID v4.
    Uuid,
    /// 48 lower-case hex characters (192 bits), as koa2-session2-redis' `randomBytes(24)`.
    Hex48,
    /// Reads koa-session-redis3's `puid` ids (24 characters of lower-case base 36) as well
    /// as ours; makes ours, because a puid is a timestamp, a process id and a counter,
    /// not a secret. koa-session-redis3 reads any id it finds in its cookie.
    Puid,
}

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
        Self::parse_as(raw, IdFormat::Base64Url)
    }

    /// A fresh id in the shape of `format`, from the OS CSPRNG.
    pub(crate) fn generate_as(format: IdFormat) -> Result<Self, getrandom::Error> {
        match format {
            IdFormat::Base64Url | IdFormat::Puid => Self::generate(),
            IdFormat::Uuid => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes)?;
                let hex = hex(&bytes);
                Ok(Self(format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )))
            }
            IdFormat::Hex48 => {
                let mut bytes = [0u8; 24];
                getrandom::fill(&mut bytes)?;
                Ok(Self(hex(&bytes)))
            }
        }
    }

    /// Accepts `raw` in the shape of any format: for ids this library stored itself, such
    /// as the members of a per-user index, whichever preset made them.
    pub(crate) fn parse_any(raw: &str) -> Option<Self> {
        [
            IdFormat::Base64Url,
            IdFormat::Uuid,
            IdFormat::Hex48,
            IdFormat::Puid,
        ]
        .into_iter()
        .find_map(|format| Self::parse_as(raw, format))
    }

    /// Accepts `raw` only if it has exactly a shape that `format` reads.
    pub(crate) fn parse_as(raw: &str, format: IdFormat) -> Option<Self> {
        let base64url = |raw: &str| {
            raw.len() == ID_LEN
                && raw
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        let well_formed = match format {
            IdFormat::Base64Url => base64url(raw),
            IdFormat::Uuid => {
                raw.len() == 36
                    && raw.bytes().enumerate().all(|(i, b)| match i {
                        8 | 13 | 18 | 23 => b == b'-',
                        _ => lower_hex(b),
                    })
            }
            IdFormat::Hex48 => raw.len() == 48 && raw.bytes().all(lower_hex),
            IdFormat::Puid => {
                base64url(raw)
                    || (raw.len() == 24
                        && raw
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
            }
        };
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

/// `bytes` as lower-case hex, two characters a byte: the form of hex ids and of the SHA-1
/// that Redis' `redis.sha1hex` gives.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
    fn each_format_makes_ids_it_reads_and_reads_the_node_packages_ids() {
        let node_ids = [
            (IdFormat::Uuid, "3f2b7e54-8c1d-4a3e-9f10-2b6c7d8e9a01"),
            (
                IdFormat::Hex48,
                "0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            (IdFormat::Base64Url, "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7aD"),
            (IdFormat::Puid, "kqz1x2y30b1a5c3d4e000001"),
            (IdFormat::Puid, "nS3r1Qm2xY0bVgZ8uKpL4wE6tH9jC7aD"),
        ];
        for (format, id) in node_ids {
            assert!(SessionId::parse_as(id, format).is_some(), "{format:?} {id}");
        }
        for format in [
            IdFormat::Base64Url,
            IdFormat::Uuid,
            IdFormat::Hex48,
            IdFormat::Puid,
        ] {
            let a = SessionId::generate_as(format).unwrap();
            let b = SessionId::generate_as(format).unwrap();
            assert_ne!(a, b);
            assert_eq!(
                SessionId::parse_as(a.as_str(), format),
                Some(a),
                "{format:?}"
            );
        }
        assert_eq!(
            SessionId::generate_as(IdFormat::Uuid)
                .unwrap()
                .as_str()
                .len(),
            36
        );
        assert_eq!(
            SessionId::generate_as(IdFormat::Hex48)
                .unwrap()
                .as_str()
                .len(),
            48
        );
    }

    #[test]
    fn formats_refuse_near_misses() {
        for (format, bad) in [
            (IdFormat::Uuid, "3F2B7E54-8C1D-4A3E-9F10-2B6C7D8E9A01"),
            (IdFormat::Uuid, "3f2b7e548c1d4a3e9f102b6c7d8e9a01"),
            (IdFormat::Uuid, "3f2b7e54-8c1d-4a3e-9f10-2b6c7d8e9a0g"),
            (IdFormat::Uuid, "3f2b7e54-8c1d-4a3e-9f10_2b6c7d8e9a01"),
            (
                IdFormat::Hex48,
                "0123456789abcdef0123456789abcdef0123456789abcde",
            ),
            (
                IdFormat::Hex48,
                "0123456789ABCDEF0123456789abcdef0123456789abcdef",
            ),
            (IdFormat::Puid, "KQZ1X2Y30B1A5C3D4E000001"),
            (IdFormat::Puid, "kqz1x2y30b1a5c3d4e00000"),
            (IdFormat::Base64Url, "3f2b7e54-8c1d-4a3e-9f10-2b6c7d8e9a01"),
        ] {
            assert!(
                SessionId::parse_as(bad, format).is_none(),
                "{format:?} accepted {bad}"
            );
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
