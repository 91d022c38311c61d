//! Entry points for the fuzz targets of `fuzz/`: the parsers of what Redis returns,
//! reached without a Redis. Behind the `fuzzing` feature; not a public API.

use std::collections::HashMap;

use super::document::Document;
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

/// Decodes `raw`, a RESP reply, as the hash layout's load script's reply; `None` when it
/// is not RESP at all.
pub fn load_reply(raw: &[u8]) -> Option<Result<Option<Record>, StoreError>> {
    let value = redis::parse_redis_value(raw).ok()?;
    let id = SessionId::generate_as(Default::default()).ok()?;
    Some(super::redis::decode_record(
        value,
        &SessionKey::new("fuzz:", &id),
    ))
}
