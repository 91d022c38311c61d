//! The typed views of one request, whatever their types: what the state keeps of every
//! `Session<T>` a handler took, so the commit can collect the changes of all of them.

use std::any::Any;
use std::rc::Rc;

use crate::data::{SessionData, Typed};
use crate::error::SessionError;

/// What the commit needs from every typed view a request made, whatever its type.
pub(crate) trait Part {
    /// Appends the storage name and encoded value of every dirty field.
    fn encode_dirty(&self, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), SessionError>;
    /// Whether any field is dirty, without encoding it.
    fn has_changes(&self) -> bool;
    /// Forgets the loaded values and the dirty marks, as after a purge.
    fn reset(&self);
    /// The same state as `Any`, to find it again by type.
    fn as_any(self: Rc<Self>) -> Rc<dyn Any>;
    /// The storage name of the `#[session(index)]` field, if the struct has one.
    fn index_field(&self) -> Option<&'static str>;
}

impl<T: SessionData> Part for Typed<T> {
    fn encode_dirty(&self, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), SessionError> {
        self.for_each_dirty(|name, encoded| out.push((name.to_owned(), encoded)))
    }

    fn has_changes(&self) -> bool {
        Typed::has_changes(self)
    }

    fn reset(&self) {
        Typed::reset(self);
    }

    fn as_any(self: Rc<Self>) -> Rc<dyn Any> {
        self
    }

    fn index_field(&self) -> Option<&'static str> {
        Typed::index_field(self)
    }
}
