//! The contract between a user's session struct and the runtime. `#[derive(SessionData)]`
//! implements it; nothing else should.

use std::collections::HashMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::typed::TypedRef;

/// A struct whose fields are stored as session fields, one store field per struct field.
///
/// Implement it with `#[derive(SessionData)]`; the items are an implementation detail
/// shared with the generated code and may change in any release.
pub trait SessionData: Sized + 'static {
    /// The generated accessor type that `Session<Self>` dereferences to: a getter,
    /// `set_<field>` and `update_<field>` per field.
    type Fields;

    /// Storage names of the fields, in declaration order; the index of a name is the
    /// index the generated code passes to [`SessionData::encode_field`].
    #[doc(hidden)]
    const FIELD_NAMES: &'static [&'static str];

    /// The position in [`SessionData::FIELD_NAMES`] of the `#[session(index)]` field.
    #[doc(hidden)]
    const INDEX_FIELD: Option<usize> = None;

    /// Builds the struct from stored fields. A field that is missing or no longer decodes
    /// takes its default (the latter with a warning), so a deploy that changes a field's
    /// type never fails a request.
    #[doc(hidden)]
    fn decode(stored: &StoredFields<'_>) -> Self;

    /// Encodes field number `index` for storage; `None` for an index past the last field.
    #[doc(hidden)]
    fn encode_field(&self, index: usize) -> Option<Result<Vec<u8>, serde_json::Error>>;

    /// Wraps the shared typed state in the generated accessor type.
    #[doc(hidden)]
    fn fields(typed: TypedRef<Self>) -> Self::Fields;
}

/// The stored fields of one session, as the generated `decode` reads them.
#[doc(hidden)]
pub struct StoredFields<'a> {
    fields: &'a HashMap<String, Vec<u8>>,
    session: &'a dyn fmt::Display,
}

impl<'a> StoredFields<'a> {
    /// `session` is the fingerprint of the session id, for warnings.
    pub(crate) fn new(fields: &'a HashMap<String, Vec<u8>>, session: &'a dyn fmt::Display) -> Self {
        Self { fields, session }
    }

    /// The decoded value of field `name`; `None` when it is missing or no longer decodes
    /// (logged as a warning: the stored value stays in the store until overwritten).
    pub fn decode<V: DeserializeOwned>(&self, name: &str) -> Option<V> {
        let bytes = self.fields.get(name)?;
        match serde_json::from_slice(bytes) {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(
                    session = %self.session,
                    field = name,
                    %error,
                    "stored session field does not decode into its Rust type; using its default"
                );
                None
            }
        }
    }
}

/// Encodes one field value the way every store keeps it: JSON.
#[doc(hidden)]
pub fn encode_value<V: Serialize + ?Sized>(value: &V) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(value)
}

/// A session struct with a field marked `#[session(index)]`, such as the user id: the
/// sessions that hold one value of it can be listed and ended together (see
/// [`Session::sessions`](crate::Session::sessions)).
///
/// `#[derive(SessionData)]` implements it for such structs; nothing else should.
pub trait IndexedSession: SessionData {}
