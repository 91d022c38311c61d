//! What the cookie store keeps in the cookie: the whole session (its id, its creation
//! time, its expiry on the server's clock, its fields), and the JSON form the sealed
//! codec encrypts.
//!
//! The JSON form is an object with short keys, since every byte counts against the
//! cookie's 4096: `i` the id, `c` the creation time (left out when unknown) and `e` the
//! expiry (milliseconds since the epoch), `f` the fields (storage name to the field's own JSON, embedded as
//! it is). Keys it does not know are ignored, so a later version can add some.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::id::SessionId;
use crate::store::time::{epoch_millis, from_epoch_millis};
use crate::store::{Length, Snapshot};

/// One session as a cookie carries it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CookieSession {
    /// Names the session in logs and events (by fingerprint), as a store's id does; a
    /// renewal gives a new one. It unlocks nothing: the cookie is the session.
    pub(crate) id: SessionId,
    /// For the absolute timeout; a renewal keeps it. Always there in a sealed cookie;
    /// `None` for a codec whose format keeps none.
    pub(crate) created_at: Option<SystemTime>,
    /// When the server stops accepting the cookie, whatever the browser was told: a
    /// copy replayed later is no session.
    pub(crate) expires_at: SystemTime,
    /// Storage name to encoded (JSON) value, fields no struct knows included.
    pub(crate) fields: HashMap<String, Vec<u8>>,
    /// The document the cookie held, for a codec whose format another program writes
    /// too (koa-session's JSON): a write of the session starts from it, so what it does
    /// not change keeps its place and its text. `None` for a sealed cookie and a new
    /// session.
    pub(crate) snapshot: Option<Snapshot>,
}

/// Shows names and lengths only: the values are session data.
impl fmt::Debug for CookieSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: BTreeMap<&str, Length> = self
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), Length(value.len())))
            .collect();
        f.debug_struct("CookieSession")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("fields", &fields)
            .field("snapshot", &self.snapshot)
            .finish()
    }
}

#[derive(Serialize)]
struct Written<'a> {
    i: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<u64>,
    e: u64,
    /// Sorted, so one session always encodes the same way.
    f: BTreeMap<&'a str, &'a RawValue>,
}

#[derive(Deserialize)]
struct Read {
    i: String,
    c: Option<u64>,
    e: u64,
    f: HashMap<String, Box<RawValue>>,
}

impl CookieSession {
    /// The JSON form. Fails only for a field whose value is not JSON, which no
    /// struct's encoding and no opened cookie gives.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let fields: BTreeMap<&str, &RawValue> = self
            .fields
            .iter()
            .map(|(name, value)| Ok((name.as_str(), serde_json::from_slice(value)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        serde_json::to_vec(&Written {
            i: self.id.as_str(),
            c: self.created_at.map(epoch_millis),
            e: epoch_millis(self.expires_at),
            f: fields,
        })
    }

    /// The session of a JSON form; `None` for anything else.
    pub(crate) fn from_json(json: &[u8]) -> Option<Self> {
        let read: Read = serde_json::from_slice(json).ok()?;
        Some(Self {
            id: SessionId::parse(&read.i)?,
            created_at: match read.c {
                Some(ms) => Some(from_epoch_millis(ms)?),
                None => None,
            },
            expires_at: from_epoch_millis(read.e)?,
            fields: read
                .f
                .into_iter()
                .map(|(name, value)| (name, value.get().as_bytes().to_vec()))
                .collect(),
            snapshot: None,
        })
    }
}

/// The JSON form's length with no field: what every cookie carries besides the fields.
/// The moments are counted at 13 digits, enough until the year 2286.
pub(crate) const EMPTY_JSON_LEN: usize = r#"{"i":"","c":,"e":,"f":{}}"#.len() + 32 + 13 + 13;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn session(fields: &[(&str, &str)]) -> CookieSession {
        let now = from_epoch_millis(epoch_millis(SystemTime::now())).unwrap();
        CookieSession {
            id: SessionId::generate().unwrap(),
            created_at: Some(now),
            expires_at: now + Duration::from_secs(60),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect(),
            snapshot: None,
        }
    }

    #[test]
    fn the_json_form_round_trips_and_keeps_each_value_as_written() {
        let session = session(&[("user", "\"ada\""), ("n", "1e3"), ("ü \"q\"", "[1, 2]")]);
        let json = session.to_json().unwrap();
        assert_eq!(CookieSession::from_json(&json), Some(session));
    }

    #[test]
    fn an_empty_session_takes_what_the_constant_says() {
        let json = session(&[]).to_json().unwrap();
        assert!(json.len() <= EMPTY_JSON_LEN, "{}", json.len());
    }

    #[test]
    fn anything_else_is_no_session() {
        for bad in [
            &b""[..],
            b"[]",
            b"{\"i\":\"short\",\"c\":1,\"e\":2,\"f\":{}}",
            b"{\"c\":1,\"e\":2,\"f\":{}}",
        ] {
            assert_eq!(CookieSession::from_json(bad), None);
        }
        let mut session = session(&[]);
        session.fields.insert("raw".into(), b"not json".to_vec());
        assert!(session.to_json().is_err());
    }
}
