//! koa-session's cookie mode (an app without a `store`): the whole session travels in the
//! cookie `koa.sess`, as base64 of its JSON, signed by keygrip in `koa.sess.sig`. This file
//! turns a verified cookie value into the session's record and a session back into a
//! value; the signature is `signing.rs`'s, the keys koa-session adds (`_expire`, `_maxAge`,
//! `_session`) are `envelope.rs`'s, and the editing of the JSON object is
//! `store/document.rs`'s, as for a koa-redis document.
//!
//! koa-session 7 writes `Buffer.from(JSON.stringify(data)).toString('base64')`: the
//! standard alphabet with `=` padding, of the app's keys in insertion order followed by
//! `"_expire":<ms since the epoch>,"_maxAge":<ms>` (or `"_session":true` for
//! `maxAge: 'session'`). It reads with `Buffer.from(value, 'base64')` and `JSON.parse`,
//! and treats a value that does not parse, or whose `_expire` has passed, as no session.
//! So does this file: anything malformed or expired decodes to `None`, a fresh session.

// Nothing outside the tests calls the codec until the cookie store takes it as a preset.
#![cfg_attr(not(test), allow(dead_code))]

use std::time::SystemTime;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::envelope::{koa_expired, koa_time_left};
use crate::error::StoreError;
use crate::store::document::Document;
use crate::store::{Record, Snapshot};

/// What `Buffer.from(value, 'base64')` accepts of well-formed base64: either alphabet
/// (Node decodes both), with or without padding.
const READ: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_READ: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, READ);
const URL_SAFE_READ: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, READ);

/// The session a `koa.sess` value holds, once its signature has been checked: every
/// top-level key as a field (the app's keys and koa-session's own), the JSON as loaded for
/// [`encode`] to start from, and the time left before `_expire` as the time-to-live.
/// `None` for a value that is not base64 of a JSON object, or whose `_expire` has passed.
///
/// Node also accepts a few values refused here, none of which koa-session writes: bytes
/// that are not UTF-8 (it replaces them), base64 mixing both alphabets or holding other
/// characters (it skips them), and JSON other than an object (a string or an array becomes
/// a session keyed `"0"`, `"1"`...).
pub(crate) fn decode(value: &str) -> Option<Record> {
    let engine = if value.contains(['-', '_']) {
        &URL_SAFE_READ
    } else {
        &STANDARD_READ
    };
    let json = engine.decode(value).ok()?;
    let document = Document::parse(&json)?;
    let mut record = Record {
        fields: document.fields(),
        created_at: None,
        ttl: None,
        refreshed: false,
        snapshot: Some(Snapshot::new(json)),
    };
    let now = SystemTime::now();
    if koa_expired(&record, now) {
        return None;
    }
    record.ttl = koa_time_left(&record, now);
    Some(record)
}

/// The `koa.sess` value of a session: `base` (the JSON [`decode`] read, `None` for a new
/// session) with `set` and then `remove` applied, as koa-session writes it. Keys keep their
/// place, new ones go last, and values not set are written back as they came, so keys
/// only the Node app knows survive. The envelope's keys must be among `set` and `remove`
/// (see `Envelope::wrap`).
pub(crate) fn encode(
    base: Option<&Snapshot>,
    set: &[(String, Vec<u8>)],
    remove: &[String],
) -> Result<String, StoreError> {
    let mut document = base
        .and_then(|base| Document::parse(base.as_bytes()))
        .unwrap_or_default();
    document.apply(set, remove)?;
    Ok(STANDARD.encode(document.to_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;
    use crate::envelope::Envelope;
    use crate::signing::{Algorithm, Keygrip, Keys, Verified};

    /// `tests/vectors/koa-session-cookie.json`: cookies written by koa-session 7 itself.
    #[derive(Deserialize)]
    struct Vectors {
        keys: Vec<String>,
        cookies: Vec<Captured>,
        expired: Captured,
        written_here: WrittenHere,
    }

    #[derive(Deserialize)]
    struct Captured {
        value: String,
        sig: String,
        json: String,
    }

    #[derive(Deserialize)]
    struct WrittenHere {
        base: String,
        set: Vec<(String, String)>,
        value: String,
        sig: String,
    }

    fn vectors() -> Vectors {
        let text = include_str!("../tests/vectors/koa-session-cookie.json");
        serde_json::from_str(text).unwrap()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
            .collect()
    }

    fn text(record: &Record, name: &str) -> Option<String> {
        let value = record.fields.get(name)?;
        Some(String::from_utf8(value.clone()).unwrap())
    }

    fn json_of(value: &str) -> String {
        String::from_utf8(STANDARD.decode(value).unwrap()).unwrap()
    }

    #[test]
    fn every_cookie_koa_session_wrote_verifies_and_decodes_to_its_keys() {
        let vectors = vectors();
        let grip = Keygrip::new(&Keys::new(&vectors.keys), Algorithm::Sha1).unwrap();
        assert!(vectors.cookies.len() >= 4);
        for cookie in &vectors.cookies {
            assert_eq!(
                grip.verify_pair("koa.sess", &cookie.value, &cookie.sig),
                Some(Verified::Current),
                "{}",
                cookie.json
            );
            assert_eq!(json_of(&cookie.value), cookie.json);
            let record = decode(&cookie.value).expect(&cookie.json);
            let keys: HashMap<String, serde_json::Value> =
                serde_json::from_str(&cookie.json).unwrap();
            assert_eq!(record.fields.len(), keys.len(), "{}", cookie.json);
            for (name, value) in keys {
                let decoded: serde_json::Value =
                    serde_json::from_slice(&record.fields[&name]).unwrap();
                assert_eq!(decoded, value, "{name} of {}", cookie.json);
            }
            assert_eq!(
                record.snapshot.as_ref().map(Snapshot::as_bytes),
                Some(cookie.json.as_bytes())
            );
        }
    }

    #[test]
    fn the_time_to_live_is_what_is_left_before_expire() {
        let vectors = vectors();
        let ten_years = Duration::from_secs(10 * 365 * 24 * 60 * 60);
        let persistent = decode(&vectors.cookies[0].value).unwrap();
        let ttl = persistent.ttl.unwrap();
        assert!(
            ttl > Duration::from_secs(3600) && ttl < ten_years,
            "{ttl:?}"
        );
        let browser_session = vectors
            .cookies
            .iter()
            .find(|cookie| cookie.json.contains("_session"))
            .unwrap();
        assert_eq!(decode(&browser_session.value).unwrap().ttl, None);
    }

    #[test]
    fn a_cookie_past_its_expire_is_no_session() {
        let expired = vectors().expired;
        assert!(json_of(&expired.value).contains(r#""_maxAge":1}"#));
        assert!(decode(&expired.value).is_none());
    }

    #[test]
    fn what_koa_session_would_not_read_is_no_session_and_never_a_panic() {
        let encoded = |json: &str| STANDARD.encode(json);
        let refused = [
            String::new(),
            "not base64!".to_owned(),
            "eyJ2aWV3cyI6MX0=x".to_owned(),
            encoded("not json"),
            encoded("null"),
            encoded("[1,2]"),
            encoded(r#""views""#),
            encoded("12"),
            encoded(r#"{"views":1"#),
            encoded(r#"{"views":1,"_expire":0}"#),
            encoded(r#"{"views":1,"_expire":-1e300}"#),
            STANDARD.encode([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
        ];
        for value in &refused {
            assert!(decode(value).is_none(), "{value:?}");
        }
        // koa-session only checks a numeric `_expire`; a huge one is as good as never.
        for kept in [
            r#"{"views":1,"_expire":"0"}"#,
            r#"{"views":1,"_expire":1e300}"#,
            r#"{"views":1,"_maxAge":1e300}"#,
            r#"{}"#,
        ] {
            assert!(decode(&encoded(kept)).is_some(), "{kept}");
        }
    }

    #[test]
    fn the_value_is_read_in_either_alphabet_with_or_without_padding() {
        let json = r#"{"user":"zo/\u00eb?>>"}"#;
        let standard = STANDARD.encode(json);
        assert!(
            standard.contains('/') || standard.contains('+'),
            "{standard}"
        );
        let url_safe = standard.replace('+', "-").replace('/', "_");
        let unpadded = standard.trim_end_matches('=').to_owned();
        for value in [standard, url_safe, unpadded] {
            let record = decode(&value).expect(&value);
            assert_eq!(text(&record, "user").unwrap(), r#""zo/\u00eb?>>""#);
        }
    }

    #[test]
    fn a_new_session_is_written_byte_for_byte_as_koa_session_writes_it() {
        let first = &vectors().cookies[0];
        let written: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&first.json).unwrap();
        let set: Vec<(String, Vec<u8>)> = written
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string().into_bytes()))
            .collect();
        assert_eq!(encode(None, &set, &[]).unwrap(), first.value);
    }

    #[test]
    fn a_session_koa_session_wrote_is_written_back_with_its_own_keys_kept() {
        let written_here = vectors().written_here;
        let base = decode(&written_here.base).unwrap();
        let set: Vec<(String, Vec<u8>)> = written_here
            .set
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
            .collect();
        let value = encode(base.snapshot.as_ref(), &set, &["isNew".to_owned()]).unwrap();
        // Checked with koa-session's own decode and against the Node app (the fixture says
        // how).
        assert_eq!(value, written_here.value);
        let keys = Keys::new(&vectors().keys);
        let grip = Keygrip::new(&keys, Algorithm::Sha1).unwrap();
        assert_eq!(grip.sign_pair("koa.sess", &value), written_here.sig);
        let again = decode(&value).unwrap();
        assert_eq!(text(&again, "views").as_deref(), Some("7"));
        assert_eq!(text(&again, "user"), text(&base, "user"));
    }

    /// koa-session's envelope as the builder makes it without a configured max-age.
    fn koa() -> Envelope {
        Envelope::Koa {
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }

    #[test]
    fn the_envelope_moves_expire_on_and_keeps_the_stored_lifetime_and_unknown_keys() {
        let node = r#"{"views":1,"cart":["tea"],"user":"ada","_expire":2111614622367,"_maxAge":315360000000}"#;
        let stored = decode(&STANDARD.encode(node)).unwrap();
        let mut set = owned(&[("views", "2")]);
        let wrapped = koa().wrap(&mut set, Some(&stored), Duration::from_secs(60));
        let value = encode(stored.snapshot.as_ref(), &set, &wrapped.remove).unwrap();
        let json = json_of(&value);
        assert!(
            json.starts_with(r#"{"views":2,"cart":["tea"],"user":"ada","_expire":"#),
            "{json}"
        );
        assert!(json.ends_with(r#","_maxAge":315360000000}"#), "{json}");
        let ttl = decode(&value).unwrap().ttl.unwrap();
        assert!(ttl > Duration::from_secs(9 * 365 * 24 * 60 * 60), "{ttl:?}");
    }

    #[test]
    fn a_browser_session_stays_one() {
        let vectors = vectors();
        let browser_session = vectors
            .cookies
            .iter()
            .find(|cookie| cookie.json.contains("_session"))
            .unwrap();
        let stored = decode(&browser_session.value).unwrap();
        let mut set = owned(&[("views", "3")]);
        let wrapped = koa().wrap(&mut set, Some(&stored), Duration::from_secs(60));
        let value = encode(stored.snapshot.as_ref(), &set, &wrapped.remove).unwrap();
        assert_eq!(json_of(&value), r#"{"views":3,"_session":true}"#);
    }

    #[test]
    fn a_value_that_is_not_json_is_refused_when_written() {
        let err = encode(None, &owned(&[("views", "not json")]), &[]).unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    }
}
