//! The typed state of one session struct within one request: the decoded value and a
//! dirty mark per field. The accessors that `#[derive(SessionData)]` generates are thin
//! wrappers over [`Typed`].

use std::any::Any;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::data::{SessionData, StoredFields};
use crate::error::SessionError;

/// Shared handle to the typed state; the generated accessor type wraps one.
#[doc(hidden)]
pub type TypedRef<T> = Rc<Typed<T>>;

/// The decoded struct and which of its fields the request changed.
#[doc(hidden)]
pub struct Typed<T> {
    value: RefCell<T>,
    dirty: Box<[Cell<bool>]>,
}

impl<T: SessionData> Typed<T> {
    pub(crate) fn decode(fields: &HashMap<String, Vec<u8>>, session: &dyn fmt::Display) -> Self {
        Self {
            value: RefCell::new(T::decode(&StoredFields::new(fields, session))),
            dirty: T::FIELD_NAMES.iter().map(|_| Cell::new(false)).collect(),
        }
    }

    /// State for `value` as if it had been loaded, nothing dirty: for handler tests.
    pub(crate) fn new(value: T) -> Self {
        Self {
            value: RefCell::new(value),
            dirty: T::FIELD_NAMES.iter().map(|_| Cell::new(false)).collect(),
        }
    }

    /// Borrows the whole struct.
    pub(crate) fn read(&self) -> Ref<'_, T> {
        self.value.borrow()
    }

    /// Borrows one field (the projection picks it) without copying anything.
    pub fn get<V: ?Sized>(&self, project: impl FnOnce(&T) -> &V) -> Ref<'_, V> {
        Ref::map(self.value.borrow(), project)
    }

    /// Runs `change` on the value and marks field `index` dirty.
    pub fn update<R>(&self, index: usize, change: impl FnOnce(&mut T) -> R) -> R {
        let result = change(&mut self.value.borrow_mut());
        if let Some(mark) = self.dirty.get(index) {
            mark.set(true);
        }
        result
    }

    /// Runs `change` on a field that is never stored (`skip`): nothing is marked.
    pub fn update_unstored<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut self.value.borrow_mut())
    }

    /// Runs `change` on the whole struct and marks the fields whose encoding it changed.
    /// Comparing encodings rather than trusting the closure means an in-place change
    /// through `&mut` is never missed and an untouched field is never written; it costs
    /// encoding every stored field twice. A field that fails to encode is marked, so the
    /// commit reports the failure.
    pub(crate) fn modify<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        let mut value = self.value.borrow_mut();
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
}

/// What the commit needs from every typed view a request made, whatever its type.
pub(crate) trait Part {
    /// Appends the storage name and encoded value of every dirty field.
    fn encode_dirty(&self, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), SessionError>;
    /// Forgets the loaded values and the dirty marks, as after a purge.
    fn reset(&self);
    /// The same state as `Any`, to find it again by type.
    fn as_any(self: Rc<Self>) -> Rc<dyn Any>;
    /// The storage name of the `#[session(index)]` field, if the struct has one.
    fn index_field(&self) -> Option<&'static str>;
}

impl<T: SessionData> Part for Typed<T> {
    fn encode_dirty(&self, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), SessionError> {
        let value = self.value.borrow();
        for (index, name) in T::FIELD_NAMES.iter().enumerate() {
            if !self.is_dirty(index) {
                continue;
            }
            if let Some(encoded) = value.encode_field(index) {
                let encoded = encoded.map_err(|source| SessionError::Encode {
                    field: name,
                    source,
                })?;
                out.push(((*name).to_owned(), encoded));
            }
        }
        Ok(())
    }

    fn reset(&self) {
        *self.value.borrow_mut() = T::decode(&StoredFields::new(&HashMap::new(), &"purged"));
        self.dirty.iter().for_each(|mark| mark.set(false));
    }

    fn as_any(self: Rc<Self>) -> Rc<dyn Any> {
        self
    }

    fn index_field(&self) -> Option<&'static str> {
        T::FIELD_NAMES.get(T::INDEX_FIELD?).copied()
    }
}

impl<T: SessionData> Typed<T> {
    /// The encoded current value of the `#[session(index)]` field; `None` when the struct
    /// has none, or it does not encode.
    pub(crate) fn index_value(&self) -> Option<Vec<u8>> {
        self.value.borrow().encode_field(T::INDEX_FIELD?)?.ok()
    }
}
