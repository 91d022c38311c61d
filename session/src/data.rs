//! The contract between a user's session struct and the runtime. `#[derive(SessionData)]`
//! implements it; nothing else should. [`Typed`] is the typed state of one struct within
//! one request (the decoded value and a dirty mark per field); the accessors the derive
//! generates are thin wrappers over it.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use async_trait::async_trait;

use crate::counter::Counter;
use crate::error::SessionError;
use crate::store::out_of_range;

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

    /// The generated type that `SessionWriter<Self>` dereferences to: `set_<field>` per
    /// stored field but the `index` one, and `increment_<field>` per `counter` field.
    type Writer;

    /// Wraps the shared typed state in the generated accessor type.
    #[doc(hidden)]
    fn fields(typed: TypedRef<Self>) -> Self::Fields;

    /// Wraps the shared typed state in the generated writer type.
    #[doc(hidden)]
    fn writer(typed: TypedRef<Self>) -> Self::Writer;
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
                // Not serde's message: it quotes the stored value (`invalid type: string
                // "..."`), which is session data. The kind and place of the failure are
                // enough to find the field's old type.
                tracing::warn!(
                    session = %self.session,
                    field = name,
                    kind = ?error.classify(),
                    line = error.line(),
                    column = error.column(),
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
pub trait IndexedSession: SessionData {
    /// The type of the values the index field holds: the field's type, or `X` for a field
    /// written `Option<X>` (a `None` is in no index). What
    /// [`SessionAdmin::sessions_of`](crate::SessionAdmin::sessions_of) takes, so a value
    /// of the wrong type does not compile.
    type Index: Serialize;
}

/// Shared handle to the typed state of one struct in one request, and to the request's
/// session; the generated accessor and writer types wrap one.
#[doc(hidden)]
pub struct TypedRef<T> {
    typed: Rc<Typed<T>>,
    session: Rc<dyn RequestSession>,
}

/// The request's session as the typed accessors reach it: only what an increment needs
/// (`increment.rs` implements it for the request state), so this file, which the state
/// builds on, does not depend on it.
#[async_trait(?Send)]
pub(crate) trait RequestSession {
    /// Adds to a field of the stored session when there is a live one to add to.
    async fn increment_stored(&self, change: CounterChange) -> Result<Increased, SessionError>;

    /// Whether the session is kept without server state (the cookie store), where no
    /// increment can be atomic.
    fn is_stateless(&self) -> bool;
}

/// One increment of a `counter` field, as the store half of it needs it.
pub(crate) struct CounterChange {
    /// The field's storage name.
    pub(crate) field: &'static str,
    pub(crate) by: i64,
    /// The range of the field's type.
    pub(crate) min: i128,
    pub(crate) max: i128,
    /// The field's default, which a stored session without the field (or with a value the
    /// type does not decode) counts from.
    pub(crate) absent: i128,
}

/// Where an increment landed.
pub(crate) enum Increased {
    /// In the stored session, which now holds this value.
    Stored(i64),
    /// Nowhere yet: the request makes it in memory, and the commit writes it. `reset`: the
    /// store failed open, and the request goes on with a fresh session.
    InMemory { reset: bool },
}

impl<T: SessionData> TypedRef<T> {
    pub(crate) fn new(typed: Rc<Typed<T>>, session: Rc<dyn RequestSession>) -> Self {
        Self { typed, session }
    }

    /// Borrows one field (see [`Typed::get`]).
    pub fn get<V: ?Sized>(&self, project: impl FnOnce(&T) -> &V) -> Ref<'_, V> {
        self.typed.get(project)
    }

    /// Changes the value and marks field `index` dirty (see [`Typed::update`]).
    pub fn update<R>(&self, index: usize, change: impl FnOnce(&mut T) -> R) -> R {
        self.typed.update(index, change)
    }

    /// Changes a field that is never stored (see [`Typed::update_unstored`]).
    pub fn update_unstored<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        self.typed.update_unstored(change)
    }

    /// Adds `by` to the `counter` field number `index`, which `project` reaches, and
    /// returns its new value: in the store when the session is stored and this request has
    /// not set the field yet (see `increment.rs`), else in memory, marked dirty, for the
    /// commit to write. A result out of range changes nothing, in memory either: the field
    /// is not marked, so a new visitor's refused increment creates no session.
    pub async fn increment<V: Counter>(
        &self,
        index: usize,
        by: i64,
        project: impl Fn(&mut T) -> &mut V,
    ) -> Result<V, SessionError> {
        let field = T::FIELD_NAMES.get(index).copied().unwrap_or_default();
        if self.session.is_stateless() {
            tracing::error!(field, "a counter increment under the cookie store");
            return Err(SessionError::Stateless(
                "a #[session(counter)] increment (atomic only in a server-side store)",
            ));
        }
        let out_of_range = || SessionError::Store(out_of_range(field, by, V::MIN, V::MAX));
        // Counted in an `i64`, as every store counts: a `u64` above `i64::MAX` is out of
        // range here too.
        let in_memory = || {
            self.typed.try_update(index, |data| {
                let value = i64::try_from(project(data).to_i128())
                    .ok()
                    .and_then(|current| current.checked_add(by))
                    .and_then(|value| V::from_i128(value.into()))
                    .ok_or_else(out_of_range)?;
                *project(data) = value;
                Ok(value)
            })
        };
        if self.typed.is_dirty(index) {
            return in_memory();
        }
        let mut default = T::decode(&StoredFields::new(&HashMap::new(), &"default"));
        let change = CounterChange {
            field,
            by,
            min: V::MIN,
            max: V::MAX,
            absent: project(&mut default).to_i128(),
        };
        match self.session.increment_stored(change).await? {
            Increased::Stored(stored) => {
                let value = V::from_i128(stored.into()).ok_or_else(out_of_range)?;
                self.typed.update_unstored(|data| *project(data) = value);
                Ok(value)
            }
            Increased::InMemory { reset } => {
                if reset {
                    self.typed.reset();
                }
                in_memory()
            }
        }
    }
}

/// The decoded struct and which of its fields the request changed.
#[doc(hidden)]
pub struct Typed<T> {
    value: RefCell<T>,
    dirty: Box<[Cell<bool>]>,
    /// The defaults a purge put aside because the value was borrowed (a getter's borrow
    /// of this struct, held while another struct's `Session` purged): reads see them
    /// from then on, and they replace the value once the borrow ends.
    purged: RefCell<Option<T>>,
}

impl<T: SessionData> Typed<T> {
    pub(crate) fn decode(fields: &HashMap<String, Vec<u8>>, session: &dyn fmt::Display) -> Self {
        Self {
            value: RefCell::new(T::decode(&StoredFields::new(fields, session))),
            dirty: T::FIELD_NAMES.iter().map(|_| Cell::new(false)).collect(),
            purged: RefCell::new(None),
        }
    }

    /// State for `value` as if it had been loaded, nothing dirty: for handler tests.
    pub(crate) fn new(value: T) -> Self {
        Self {
            value: RefCell::new(value),
            dirty: T::FIELD_NAMES.iter().map(|_| Cell::new(false)).collect(),
            purged: RefCell::new(None),
        }
    }

    /// Borrows the whole struct.
    pub(crate) fn read(&self) -> Ref<'_, T> {
        self.value()
    }

    /// Borrows one field (the projection picks it) without copying anything.
    pub fn get<V: ?Sized>(&self, project: impl FnOnce(&T) -> &V) -> Ref<'_, V> {
        Ref::map(self.value(), project)
    }

    /// The value, to read. Within one `Session<T>` the borrow checker keeps reads and
    /// writes apart (writes take `&mut self`); two handles on one struct in one request
    /// (two `Session<T>`, or a `Session<T>` and a `SessionWriter<T>`) share this value,
    /// and only this check stands between them.
    fn value(&self) -> Ref<'_, T> {
        self.forget_if_purged();
        if let Ok(purged) = self.purged.try_borrow() {
            if let Ok(defaults) = Ref::filter_map(purged, Option::as_ref) {
                return defaults;
            }
        }
        // RefCell would panic here too, with "already borrowed": this one says why.
        #[allow(clippy::panic)]
        self.value
            .try_borrow()
            .unwrap_or_else(|_| panic!("{}", shared_borrow::<T>()))
    }

    /// The value, to change (see [`value`](Self::value)).
    fn value_mut(&self) -> RefMut<'_, T> {
        self.forget_if_purged();
        #[allow(clippy::panic)]
        self.value
            .try_borrow_mut()
            .unwrap_or_else(|_| panic!("{}", shared_borrow::<T>()))
    }

    /// Puts in the defaults a purge set aside, once nothing borrows either; the purge
    /// wins over a change made while it waited (a purge inside a write's closure), whose
    /// dirty mark goes with it.
    fn forget_if_purged(&self) {
        let (Ok(mut purged), Ok(mut value)) =
            (self.purged.try_borrow_mut(), self.value.try_borrow_mut())
        else {
            return;
        };
        if let Some(defaults) = purged.take() {
            *value = defaults;
            self.dirty.iter().for_each(|mark| mark.set(false));
        }
    }

    /// Runs `change` on the value and marks field `index` dirty.
    pub fn update<R>(&self, index: usize, change: impl FnOnce(&mut T) -> R) -> R {
        let result = change(&mut self.value_mut());
        if let Some(mark) = self.dirty.get(index) {
            mark.set(true);
        }
        result
    }

    /// Runs `change` on the value and marks field `index` dirty only if it succeeds: a
    /// `change` that fails must leave the value as it was.
    pub(crate) fn try_update<R, E>(
        &self,
        index: usize,
        change: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<R, E> {
        let result = change(&mut self.value_mut());
        if let (Ok(_), Some(mark)) = (&result, self.dirty.get(index)) {
            mark.set(true);
        }
        result
    }

    /// Runs `change` on a field that is never stored (`skip`): nothing is marked.
    pub fn update_unstored<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut self.value_mut())
    }

    /// Runs `change` on the whole struct and marks the fields whose encoding it changed.
    /// Comparing encodings rather than trusting the closure means an in-place change
    /// through `&mut` is never missed and an untouched field is never written; it costs
    /// encoding every stored field twice. A field that fails to encode is marked, so the
    /// commit reports the failure.
    pub(crate) fn modify<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        let mut value = self.value_mut();
        let before: Vec<_> = (0..self.dirty.len())
            .map(|index| value.encode_field(index).and_then(Result::ok))
            .collect();
        let result = change(&mut value);
        for (index, (before, mark)) in before.into_iter().zip(self.dirty.iter()).enumerate() {
            let after = value.encode_field(index).and_then(Result::ok);
            if before.is_none() || after.is_none() || before != after {
                mark.set(true);
            }
        }
        result
    }

    /// Whether field `index` was changed in this request.
    pub fn is_dirty(&self, index: usize) -> bool {
        self.dirty.get(index).is_some_and(Cell::get)
    }

    /// Whether any field was changed in this request.
    pub(crate) fn has_changes(&self) -> bool {
        self.dirty.iter().any(Cell::get)
    }

    /// Hands `emit` the storage name and encoded value of every dirty field, in
    /// declaration order; the first field that does not encode stops the walk with its
    /// error. The commit and `TestSession::changes` both read the changes through it.
    pub(crate) fn for_each_dirty(
        &self,
        mut emit: impl FnMut(&'static str, Vec<u8>),
    ) -> Result<(), SessionError> {
        let value = self.value();
        for (index, name) in T::FIELD_NAMES.iter().enumerate() {
            if !self.is_dirty(index) {
                continue;
            }
            if let Some(encoded) = value.encode_field(index) {
                let encoded = encoded.map_err(|source| SessionError::Encode {
                    field: name,
                    source,
                })?;
                emit(name, encoded);
            }
        }
        Ok(())
    }

    /// Fills in a view a writer changed before the session was loaded from the stored
    /// `fields`: the fields the writer set keep its values, and stay dirty; the others take
    /// the stored ones. A field that does not encode keeps nothing here, and the commit
    /// reports it.
    pub(crate) fn load_under_changes(
        &self,
        fields: &HashMap<String, Vec<u8>>,
        session: &dyn fmt::Display,
    ) {
        let mut merged = fields.clone();
        let _ = self.for_each_dirty(|name, encoded| {
            merged.insert(name.to_owned(), encoded);
        });
        *self.value_mut() = T::decode(&StoredFields::new(&merged, session));
    }

    /// Forgets the loaded values and the dirty marks, as after a purge. A handler may
    /// still hold a borrow of this struct's fields (a purge through another struct's
    /// `Session`): that borrow reads the values as they were, every read after the purge
    /// the defaults, which replace the values once the borrow ends.
    pub(crate) fn reset(&self) {
        self.dirty.iter().for_each(|mark| mark.set(false));
        // Borrowed, it holds defaults already: a reader has them from an earlier purge.
        if let Ok(mut purged) = self.purged.try_borrow_mut() {
            *purged = Some(T::decode(&StoredFields::new(&HashMap::new(), &"purged")));
        }
        self.forget_if_purged();
    }

    /// The storage name of the `#[session(index)]` field, if the struct has one.
    pub(crate) fn index_field(&self) -> Option<&'static str> {
        T::FIELD_NAMES.get(T::INDEX_FIELD?).copied()
    }

    /// The encoded current value of the `#[session(index)]` field; `None` when the struct
    /// has none, or it does not encode.
    pub(crate) fn index_value(&self) -> Option<Vec<u8>> {
        self.value().encode_field(T::INDEX_FIELD?)?.ok()
    }
}

/// Why a second handle on `T` could not borrow it: a borrow through one handle was held
/// across a write through the other.
fn shared_borrow<T>() -> String {
    let name = std::any::type_name::<T>();
    format!(
        "the session struct {name} is borrowed through one handle while another changes it: \
         a getter's or `read()`'s borrow held across a write through a second `Session<{name}>` \
         or `SessionWriter<{name}>` of the same request; drop the borrow first (or clone the value)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_float_decodes_to_the_double_its_text_names() {
        for text in [
            "0.9941414234139935",
            "1000000000000000.5",
            "958714.6571130235",
        ] {
            let fields = HashMap::from([("ratio".to_owned(), text.as_bytes().to_vec())]);
            let decoded: Option<f64> = StoredFields::new(&fields, &"session").decode("ratio");
            assert_eq!(decoded, text.parse().ok(), "{text}");
        }
    }
}
