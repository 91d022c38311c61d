//! koa-session's cookie mode (an app without a `store`): the whole session travels in the
//! cookie `koa.sess`, as base64 of its JSON, signed by keygrip in `koa.sess.sig`. This file
//! is that format as a codec of the cookie store (`Compat::KoaSessionCookie`): a verified
//! cookie value into the session's fields and back. The signature is `signing.rs`'s, the
//! keys koa-session adds (`_expire`, `_maxAge`, `_session`) are `envelope.rs`'s, and the
//! JSON object is written by `store/document.rs`, as a koa-redis document is. A write
//! starts from the document the cookie held, as a store's commit starts from the one it
//! loaded: every key keeps its place, and its text unless the session changed it.
//!
//! koa-session 7 writes `Buffer.from(JSON.stringify(data)).toString('base64')`: the
//! standard alphabet with `=` padding, of the app's keys in insertion order followed by
//! `"_expire":<ms since the epoch>,"_maxAge":<ms>` (or `"_session":true` for
//! `maxAge: 'session'`). It reads with `Buffer.from(value, 'base64')` and `JSON.parse`,
//! and treats a value that does not parse, or whose `_expire` has passed, as no session.
//! So does this file: anything malformed or expired decodes to `None`, a fresh session.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::cookie_payload::CookieSession;
use crate::envelope::{koa_expired, koa_time_left, Envelope};
use crate::error::{SessionError, StoreError};
use crate::id::SessionId;
use crate::signing::{Keygrip, Verified};
use crate::store::document::Document;
use crate::store::time::MAX_TTL;
use crate::store::{Record, Snapshot};

/// What `Buffer.from(value, 'base64')` accepts of well-formed base64: either alphabet
/// (Node decodes both), with or without padding.
const READ: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_READ: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, READ);
const URL_SAFE_READ: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, READ);

/// The most a koa-session document takes besides the app's keys: its braces and
/// `,"_expire":<13 digits>,"_maxAge":<up to 20 digits>`.
const ENVELOPE_JSON_LEN: usize = r#"{,"_expire":,"_maxAge":}"#.len() + 13 + 20;

/// koa-session's cookie mode as a codec of the cookie store (`cookie_store.rs`).
#[derive(Clone)]
pub(crate) struct KoaCookie {
    keygrip: Keygrip,
    /// koa-session's envelope: what each write adds to the session's keys.
    envelope: Envelope,
    /// The cookie that holds the value's signature, `<name>.sig`.
    sig_name: String,
}

impl KoaCookie {
    /// Values signed by `keygrip` in the cookie `sig_name`, written with `envelope`.
    pub(crate) fn new(keygrip: Keygrip, envelope: Envelope, sig_name: &str) -> Self {
        Self {
            keygrip,
            envelope,
            sig_name: sig_name.to_owned(),
        }
    }

    /// The session the cookie `name` carries, if its `.sig` (found by `cookies`, as the
    /// value) verifies and it [`decode`]s, and which key verified it. Every key of the
    /// JSON is a field, koa-session's own included (the next write reads `_maxAge` and
    /// `_session` from them). koa-session keeps no id and no creation time: the session
    /// gets a random id for logs and events, and none. It expires at `_expire`, or never
    /// on the server (`maxAge: 'session'`).
    pub(crate) fn open(
        &self,
        name: &str,
        cookies: &dyn Fn(&str) -> Option<String>,
    ) -> Option<(CookieSession, Verified)> {
        let value = cookies(name)?;
        let verified = self
            .keygrip
            .verify_pair(name, &value, &cookies(&self.sig_name)?)?;
        let record = decode(&value)?;
        let now = SystemTime::now();
        let left = record.ttl.unwrap_or(MAX_TTL);
        let session = CookieSession {
            id: SessionId::generate().ok()?,
            created_at: None,
            expires_at: now.checked_add(left).unwrap_or(now),
            fields: record.fields,
            snapshot: record.snapshot,
        };
        Some((session, verified))
    }

    /// The cookies that carry `session` in the cookie `name`: the value, as koa-session
    /// writes it, and its signature. The session's document as opened, if any, with every
    /// key kept in its place and, unless the session changed it, with its text; a key it
    /// lacks goes last, in the order of the names (a new session's keys too). Then what
    /// the envelope adds: `_expire` a stored or configured `_maxAge` from now, or
    /// `_session` kept.
    pub(crate) fn write(
        &self,
        name: &str,
        session: &CookieSession,
    ) -> Result<Vec<(String, String)>, SessionError> {
        let sorted: BTreeMap<&String, &Vec<u8>> = session.fields.iter().collect();
        let mut set: Vec<(String, Vec<u8>)> = sorted
            .into_iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let stored = Record {
            fields: session.fields.clone(),
            created_at: None,
            ttl: None,
            refreshed: false,
            snapshot: None,
        };
        // The time-to-live is a store's, and there is none.
        let wrapped = self
            .envelope
            .wrap(&mut set, Some(&stored), Duration::ZERO, None);
        let value = encode(session.snapshot.as_ref(), &set, &wrapped.remove)?;
        let signature = self.keygrip.sign_pair(name, &value);
        Ok(vec![
            (name.to_owned(), value),
            (self.sig_name.clone(), signature),
        ])
    }

    /// The most bytes of fields that fit a value of `value_room` bytes: base64 makes
    /// three bytes four, and the envelope takes its share.
    pub(crate) fn field_room(value_room: usize) -> usize {
        (value_room / 4 * 3).saturating_sub(ENVELOPE_JSON_LEN)
    }
}

/// The session a `koa.sess` value holds, once its signature has been checked: every
/// top-level key as a field (the app's keys and koa-session's own), and the time left
/// before `_expire` as the time-to-live. `None` for a value that is not
/// base64 of a JSON object, or whose `_expire` has passed.
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

/// The `koa.sess` value of the document `opened` (a value [`decode`]d before; `None` for a
/// new session) with the keys `set` and without `remove`: base64 (standard, padded) of
/// compact JSON, as `JSON.stringify` writes it (see `store/document.rs`).
pub(crate) fn encode(
    opened: Option<&Snapshot>,
    set: &[(String, Vec<u8>)],
    remove: &[String],
) -> Result<String, StoreError> {
    let mut document = opened
        .and_then(|snapshot| Document::parse(snapshot.as_bytes()))
        .unwrap_or_default();
    document.apply(set, remove)?;
    Ok(STANDARD.encode(document.to_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::*;
    use crate::signing::{Algorithm, Keys};

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

    fn text(fields: &HashMap<String, Vec<u8>>, name: &str) -> Option<String> {
        Some(String::from_utf8(fields.get(name)?.clone()).unwrap())
    }

    fn json_of(value: &str) -> String {
        String::from_utf8(STANDARD.decode(value).unwrap()).unwrap()
    }

    /// koa-session's envelope as the builder makes it without a configured max-age.
    fn koa() -> Envelope {
        Envelope::Koa {
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }

    fn grip() -> Keygrip {
        Keygrip::new(&Keys::new(vectors().keys), Algorithm::Sha1).unwrap()
    }

    fn codec() -> KoaCookie {
        KoaCookie::new(grip(), koa(), "koa.sess.sig")
    }

    /// A request's cookies, as `cookie_store.rs` looks them up.
    fn jar(pairs: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(held, _)| held == name)
                .map(|(_, value)| value.clone())
        }
    }

    fn sent(value: &str, sig: &str) -> impl Fn(&str) -> Option<String> {
        jar(vec![
            ("koa.sess".to_owned(), value.to_owned()),
            ("koa.sess.sig".to_owned(), sig.to_owned()),
        ])
    }

    #[test]
    fn every_cookie_koa_session_wrote_opens_to_its_keys() {
        let vectors = vectors();
        assert!(vectors.cookies.len() >= 4);
        for cookie in &vectors.cookies {
            assert_eq!(json_of(&cookie.value), cookie.json);
            let (session, verified) = codec()
                .open("koa.sess", &sent(&cookie.value, &cookie.sig))
                .expect(&cookie.json);
            assert_eq!(verified, Verified::Current, "{}", cookie.json);
            assert_eq!(session.created_at, None);
            let keys: HashMap<String, serde_json::Value> =
                serde_json::from_str(&cookie.json).unwrap();
            assert_eq!(session.fields.len(), keys.len(), "{}", cookie.json);
            for (name, value) in keys {
                let opened: serde_json::Value =
                    serde_json::from_slice(&session.fields[&name]).unwrap();
                assert_eq!(opened, value, "{name} of {}", cookie.json);
            }
        }
    }

    #[test]
    fn a_signature_that_does_not_verify_is_no_session() {
        let vectors = vectors();
        let (first, second) = (&vectors.cookies[0], &vectors.cookies[1]);
        let pair = |sig: &str| {
            vec![
                ("koa.sess".to_owned(), first.value.clone()),
                ("koa.sess.sig".to_owned(), sig.to_owned()),
            ]
        };
        for cookies in [
            jar(pair(&second.sig)),
            jar(pair("")),
            jar(vec![("koa.sess".to_owned(), first.value.clone())]),
        ] {
            assert!(codec().open("koa.sess", &cookies).is_none());
        }
        let rotated = Keygrip::new(
            &Keys::new(["a newer key", "first test key"]),
            Algorithm::Sha1,
        )
        .unwrap();
        let koa = KoaCookie::new(rotated, koa(), "koa.sess.sig");
        let (_, verified) = koa
            .open("koa.sess", &sent(&first.value, &first.sig))
            .unwrap();
        assert_eq!(verified, Verified::Rotated);
    }

    #[test]
    fn the_server_holds_a_session_to_its_expire() {
        let vectors = vectors();
        let now = SystemTime::now();
        let year = Duration::from_secs(365 * 24 * 60 * 60);
        let first = &vectors.cookies[0];
        let (persistent, _) = codec()
            .open("koa.sess", &sent(&first.value, &first.sig))
            .unwrap();
        let left = persistent.expires_at.duration_since(now).unwrap();
        assert!(left > year && left < 11 * year, "{left:?}");
        let browser_session = vectors
            .cookies
            .iter()
            .find(|cookie| cookie.json.contains("_session"))
            .unwrap();
        let cookies = sent(&browser_session.value, &browser_session.sig);
        let (unlimited, _) = codec().open("koa.sess", &cookies).unwrap();
        assert!(unlimited.expires_at.duration_since(now).unwrap() > 90 * year);
    }

    #[test]
    fn a_cookie_past_its_expire_is_no_session() {
        let expired = vectors().expired;
        assert!(json_of(&expired.value).contains(r#""_maxAge":1}"#));
        assert!(decode(&expired.value).is_none());
        assert!(codec()
            .open("koa.sess", &sent(&expired.value, &expired.sig))
            .is_none());
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
            let value = encoded(kept);
            assert!(decode(&value).is_some(), "{kept}");
            let sig = grip().sign_pair("koa.sess", &value);
            let (session, _) = codec().open("koa.sess", &sent(&value, &sig)).expect(kept);
            codec().write("koa.sess", &session).expect(kept);
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
            assert_eq!(text(&record.fields, "user").unwrap(), r#""zo/\u00eb?>>""#);
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
    fn a_value_written_here_is_what_koa_session_read_back() {
        let written_here = vectors().written_here;
        let set: Vec<(String, Vec<u8>)> = written_here
            .set
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
            .collect();
        let value = encode(None, &set, &[]).unwrap();
        // The fixture says how Node read it.
        assert_eq!(value, written_here.value);
        assert_eq!(grip().sign_pair("koa.sess", &value), written_here.sig);
    }

    #[test]
    fn a_write_keeps_unknown_keys_and_the_stored_lifetime_and_moves_expire_on() {
        let node = r#"{"views":1,"cart":["tea"],"user":"ada","isNew":true,"_expire":2111614622367,"_maxAge":315360000000}"#;
        let value = STANDARD.encode(node);
        let sig = grip().sign_pair("koa.sess", &value);
        let (mut session, _) = codec().open("koa.sess", &sent(&value, &sig)).unwrap();
        session.fields.insert("views".to_owned(), b"2".to_vec());
        let cookies = codec().write("koa.sess", &session).unwrap();
        let names: Vec<&str> = cookies.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["koa.sess", "koa.sess.sig"]);
        let (value, sig) = (&cookies[0].1, &cookies[1].1);
        assert_eq!(grip().sign_pair("koa.sess", value), *sig);
        let json = json_of(value);
        assert!(
            json.starts_with(r#"{"views":2,"cart":["tea"],"user":"ada","_expire":"#),
            "{json}"
        );
        assert!(json.ends_with(r#","_maxAge":315360000000}"#), "{json}");
        let (again, _) = codec().open("koa.sess", &sent(value, sig)).unwrap();
        let left = again.expires_at.duration_since(SystemTime::now()).unwrap();
        assert!(
            left > Duration::from_secs(9 * 365 * 24 * 60 * 60),
            "{left:?}"
        );
    }

    #[test]
    fn a_float_in_a_key_rust_does_not_know_survives_a_rust_write() {
        let node =
            r#"{"views":1,"ratio":0.9941414234139935,"_expire":2111614622367,"_maxAge":86400000}"#;
        let value = STANDARD.encode(node);
        let sig = grip().sign_pair("koa.sess", &value);
        let (mut session, _) = codec().open("koa.sess", &sent(&value, &sig)).unwrap();
        session.fields.insert("views".to_owned(), b"2".to_vec());
        let written = codec().write("koa.sess", &session).unwrap();
        let json = json_of(&written[0].1);
        assert!(json.contains(r#""ratio":0.9941414234139935,"#), "{json}");
    }

    #[test]
    fn a_write_starts_from_the_cookie_as_opened() {
        // koa-session's order; a lone surrogate, which `JSON.stringify` writes for a string
        // cut in the middle of an emoji and no Rust string holds; text another writer
        // spaced.
        let node = r#"{"views":1,"nick":"\ud83d","note":{"a" : 1.50},"_expire":2111614622367,"_maxAge":86400000}"#;
        let value = STANDARD.encode(node);
        let sig = grip().sign_pair("koa.sess", &value);
        let (mut session, _) = codec().open("koa.sess", &sent(&value, &sig)).unwrap();
        session.fields.insert("views".to_owned(), b"2".to_vec());
        session.fields.insert("cart".to_owned(), b"[]".to_vec());
        session.fields.insert("a".to_owned(), b"0".to_vec());
        let written = codec().write("koa.sess", &session).unwrap();
        let json = json_of(&written[0].1);
        let kept = r#"{"views":2,"nick":"\ud83d","note":{"a" : 1.50},"_expire":"#;
        assert!(json.starts_with(kept), "{json}");
        assert!(
            json.ends_with(r#","_maxAge":86400000,"a":0,"cart":[]}"#),
            "{json}"
        );
    }

    #[test]
    fn a_new_session_gets_the_configured_lifetime() {
        let session = CookieSession {
            id: SessionId::generate().unwrap(),
            created_at: None,
            expires_at: SystemTime::now(),
            fields: HashMap::from([("views".to_owned(), b"1".to_vec())]),
            snapshot: None,
        };
        let cookies = codec().write("koa.sess", &session).unwrap();
        let json = json_of(&cookies[0].1);
        assert!(json.starts_with(r#"{"views":1,"_expire":"#), "{json}");
        assert!(json.ends_with(r#","_maxAge":86400000}"#), "{json}");
    }

    #[test]
    fn a_browser_session_stays_one() {
        let vectors = vectors();
        let browser_session = vectors
            .cookies
            .iter()
            .find(|cookie| cookie.json.contains("_session"))
            .unwrap();
        let cookies = sent(&browser_session.value, &browser_session.sig);
        let (mut session, _) = codec().open("koa.sess", &cookies).unwrap();
        session.fields.insert("views".to_owned(), b"3".to_vec());
        let written = codec().write("koa.sess", &session).unwrap();
        assert_eq!(json_of(&written[0].1), r#"{"views":3,"_session":true}"#);
    }

    #[test]
    fn no_change_to_a_captured_cookie_panics_and_whatever_opens_writes_back() {
        let vectors = vectors();
        let mut values = Vec::new();
        for cookie in &vectors.cookies {
            let chars: Vec<char> = cookie.value.chars().collect();
            for at in 0..chars.len() {
                for with in ['A', '/', '+', '=', '-', '!'] {
                    let mut changed = chars.clone();
                    changed[at] = with;
                    values.push(changed.into_iter().collect::<String>());
                }
                values.push(chars[..at].iter().collect());
            }
            let json = cookie.json.as_bytes();
            for at in 0..json.len() {
                for with in [b'"', b'}', b'9', b'e', b'-', b'\\', 0xff] {
                    let mut changed = json.to_vec();
                    changed[at] = with;
                    values.push(STANDARD.encode(changed));
                }
            }
        }
        let mut opened = 0;
        for value in &values {
            let sig = grip().sign_pair("koa.sess", value);
            if let Some((session, _)) = codec().open("koa.sess", &sent(value, &sig)) {
                let written = codec().write("koa.sess", &session).expect(value);
                assert!(decode(&written[0].1).is_some(), "{value}");
                opened += 1;
            }
        }
        assert!(
            opened > 0 && opened < values.len(),
            "{opened} of {}",
            values.len()
        );
    }

    #[test]
    fn the_room_for_fields_leaves_room_for_base64_and_the_envelope() {
        assert_eq!(KoaCookie::field_room(0), 0);
        let room = KoaCookie::field_room(4000);
        assert!(room > 2900 && room < 3000, "{room}");
    }

    #[test]
    fn a_value_that_is_not_json_is_refused_when_written() {
        let err = encode(None, &owned(&[("views", "not json")]), &[]).unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    }
}
