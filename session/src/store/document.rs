//! The JSON layout's document: one JSON object per session, edited without disturbing
//! what another program wrote (key order, number formatting, values it alone knows).

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::stringify::stringify;
use super::Length;
use crate::error::StoreError;

/// A session as one JSON object: keys in stored order, each value kept as its exact text.
#[derive(Default)]
pub(crate) struct Document {
    // A duplicate key keeps its first position and its last value, as `JSON.parse` does.
    entries: IndexMap<String, Box<RawValue>>,
}

/// Shows the keys in stored order, each with its value's length: the values are session
/// data.
impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<(&str, Length)> = self
            .entries
            .iter()
            .map(|(name, value)| (name.as_str(), Length(value.get().len())))
            .collect();
        f.debug_struct("Document")
            .field("entries", &entries)
            .finish()
    }
}

impl Document {
    /// `None` unless `raw` is a JSON object: anything else (a Node store that failed to
    /// serialize, another program's key) is not a session this library can read.
    pub(crate) fn parse(raw: &[u8]) -> Option<Self> {
        serde_json::from_slice(raw)
            .ok()
            .map(|entries| Self { entries })
    }

    /// Each top-level key with its value's JSON text: a record's fields.
    pub(crate) fn fields(&self) -> HashMap<String, Vec<u8>> {
        self.entries
            .iter()
            .map(|(name, value)| (name.clone(), value.get().as_bytes().to_vec()))
            .collect()
    }

    /// Sets then removes top-level keys. A key already there keeps its place, a new one
    /// goes last, and a value equal to the stored text is left as it is.
    pub(crate) fn apply(
        &mut self,
        set: &[(String, Vec<u8>)],
        remove: &[String],
    ) -> Result<(), StoreError> {
        for (name, value) in set {
            if self
                .entries
                .get(name)
                .is_some_and(|stored| stored.get().as_bytes() == value.as_slice())
            {
                continue;
            }
            self.entries
                .insert(name.clone(), as_javascript_writes(name, value)?);
        }
        for name in remove {
            self.entries.shift_remove(name);
        }
        Ok(())
    }

    /// Compact JSON, as `JSON.stringify` writes it.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Keys are strings and values already JSON: serializing cannot fail.
        serde_json::to_vec(&self.entries).unwrap_or_default()
    }
}

/// `value` as `JSON.stringify` would write it (see `stringify.rs`).
fn as_javascript_writes(name: &str, value: &[u8]) -> Result<Box<RawValue>, StoreError> {
    let not_json = || StoreError::Unsupported(format!("the value of `{name}` is not JSON"));
    let text = stringify(value).ok_or_else(not_json)?;
    RawValue::from_string(text).map_err(|_| not_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    fn text(doc: &Document) -> String {
        String::from_utf8(doc.to_bytes()).unwrap()
    }

    #[test]
    fn untouched_values_keep_their_exact_text_and_keys_their_order() {
        let raw = br#"{"z":1e+21,"cookie":{"path":"/","httpOnly":true},"a":0.000001,"n":12345678901234567890123}"#;
        let mut doc = Document::parse(raw).unwrap();
        doc.apply(&set(&[("views", "2")]), &[]).unwrap();
        assert_eq!(
            text(&doc),
            r#"{"z":1e+21,"cookie":{"path":"/","httpOnly":true},"a":0.000001,"n":12345678901234567890123,"views":2}"#
        );
    }

    #[test]
    fn a_changed_key_keeps_its_place_and_removals_apply_after_sets() {
        let mut doc = Document::parse(br#"{"a":1,"b":"x","c":[1,2]}"#).unwrap();
        doc.apply(
            &set(&[("b", r#""y""#), ("d", "null")]),
            &["a".to_owned(), "gone".to_owned()],
        )
        .unwrap();
        assert_eq!(text(&doc), r#"{"b":"y","c":[1,2],"d":null}"#);
        assert_eq!(doc.fields()["c"], b"[1,2]");
    }

    #[test]
    fn integral_floats_are_written_as_javascript_writes_them() {
        let mut doc = Document::default();
        let nested = r#"{"price":3.0,"ratio":0.5,"list":[1.0,-0.0,2.5],"big":1e300}"#;
        doc.apply(&set(&[("v", "42.0"), ("nested", nested)]), &[])
            .unwrap();
        assert_eq!(
            text(&doc),
            r#"{"v":42,"nested":{"price":3,"ratio":0.5,"list":[1,0,2.5],"big":1e+300}}"#
        );
    }

    #[test]
    fn a_float_set_keeps_the_digits_it_was_written_with() {
        // The shortest text of each double, as Rust and JavaScript both print it; each
        // was once read one bit off and written back so (`...36`, `...0.4`, `...36`).
        let floats = r#"{"a":0.9941414234139935,"b":1000000000000000.5,"c":958714.6571130235}"#;
        let mut doc = Document::default();
        doc.apply(&set(&[("v", floats)]), &[]).unwrap();
        assert_eq!(text(&doc), format!(r#"{{"v":{floats}}}"#));
    }

    #[test]
    fn an_integer_wider_than_64_bits_is_written_and_read_back_as_it_was() {
        let wide = serde_json::to_vec(&u128::MAX).unwrap();
        let mut doc = Document::default();
        doc.apply(&[("id".to_owned(), wide.clone())], &[]).unwrap();
        let stored = Document::parse(&doc.to_bytes()).unwrap().fields();
        assert_eq!(stored["id"], wide);
        let read: u128 = serde_json::from_slice(&stored["id"]).unwrap();
        assert_eq!(read, u128::MAX);
    }

    #[test]
    fn only_json_objects_are_documents_and_only_json_values_are_stored() {
        for raw in [&b"[]"[..], b"\"s\"", b"null", b"{", b"", b"{\"a\":1}x"] {
            assert!(Document::parse(raw).is_none(), "{raw:?}");
        }
        let mut doc = Document::default();
        let err = doc.apply(&set(&[("bad", "not json")]), &[]).unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    }

    #[test]
    fn debug_output_shows_keys_and_lengths_never_values() {
        let doc = Document::parse(br#"{"email":"alice@example.com","views":3}"#).unwrap();
        let shown = format!("{doc:?}");
        assert_eq!(
            shown,
            r#"Document { entries: [("email", 19 bytes), ("views", 1 bytes)] }"#
        );
    }

    #[test]
    fn a_duplicate_key_keeps_its_first_place_and_last_value_like_json_parse() {
        let doc = Document::parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(text(&doc), r#"{"a":3,"b":2}"#);
    }
}
