//! Entry points for the fuzz targets of `fuzz/`: the parsers of what Redis returns,
//! reached without a Redis. Behind the `fuzzing` feature; not a public API.

use std::collections::HashMap;

use redis::Value;

use super::document::Document;
use super::redis::{decode_record, read_pipelined, record_of, KeyContents};
use super::{Record, SessionKey};
use crate::error::StoreError;
use crate::id::SessionId;

/// A record's fields: name to encoded value.
pub type Fields = HashMap<String, Vec<u8>>;

/// Reads `raw` as a JSON-layout session, changes `views`, writes it out and reads that
/// back: the fields before and after, or `None` when `raw` is no session document.
pub fn json_round_trip(raw: &[u8]) -> Option<(Fields, Fields)> {
    let mut document = Document::parse(raw)?;
    let before = document.fields();
    // Refused only for a value that is not JSON, which this one is.
    let _ = document.apply(&[("views".to_owned(), b"2.0".to_vec())], &[]);
    let after = Document::parse(&document.to_bytes()).map(|again| again.fields());
    Some((before, after.unwrap_or_default()))
}

/// Decodes `raw`, RESP, as each reply a hash-layout load reads: the threshold script's
/// reply, and the replies of the load pipeline with and without a refresh. Empty when
/// `raw` is not RESP at all.
pub fn load_replies(raw: &[u8]) -> Vec<Result<Option<Record>, StoreError>> {
    let Ok(value) = redis::parse_redis_value(raw) else {
        return Vec::new();
    };
    let Ok(id) = SessionId::generate_as(Default::default()) else {
        return Vec::new();
    };
    let key = SessionKey::new("fuzz:", &id);
    let mut decoded = vec![decode_record(value.clone(), &key)];
    if let Value::Array(replies) = value {
        for refresh in [None, Some(60_000)] {
            decoded.push(read_pipelined(replies.clone(), refresh).and_then(
                |loaded| match loaded {
                    KeyContents::Session(found) => record_of(found),
                    KeyContents::Missing | KeyContents::Foreign { .. } => Ok(None),
                },
            ));
        }
    }
    decoded
}
