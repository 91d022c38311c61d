//! Entry points into the hot paths for the criterion benchmarks in `benches/`: the code a
//! request runs, reached without a server or a store. Not a public API: hidden, and free
//! to change with the internals it exposes.

use std::collections::HashMap;

use crate::data::{SessionData, Typed};
use crate::error::SessionError;
use crate::part::Part;
use crate::signing::{Algorithm, Keygrip};
use crate::store::{ChangeSet, WriteMode};
use crate::test::TestSession;
use crate::Keys;

/// The cookie signer the middleware builds from a key ring.
pub struct Signer(Keygrip);

impl Signer {
    /// `None` for an empty key ring, as for the middleware (no signing).
    pub fn new(keys: &Keys) -> Option<Self> {
        Keygrip::new(keys, Algorithm::Sha256).map(Self)
    }

    /// The signature of `data`, as the `.sig` cookie carries it.
    pub fn sign(&self, data: &[u8]) -> String {
        self.0.sign(data)
    }

    /// What every request with a cookie does first: checks its signature against the ring.
    pub fn verify(&self, data: &[u8], signature: &str) -> bool {
        self.0.verify(data, signature).is_some()
    }
}

/// Decodes `T` from stored fields through the derive, as the first extraction does.
pub fn decode<T: SessionData>(fields: &HashMap<String, Vec<u8>>) -> Typed<T> {
    Typed::decode(fields, &"bench")
}

/// Encodes the dirty fields of `typed` through the derive, as a commit does.
pub fn encode_dirty<T: SessionData>(
    typed: &Typed<T>,
) -> Result<Vec<(String, Vec<u8>)>, SessionError> {
    let mut out = Vec::new();
    typed.encode_dirty(&mut out)?;
    Ok(out)
}

/// The change set the commit after a handler builds from what it changed in `session`, an
/// existing session (without the index moves, which need a store).
pub fn commit_of<T: SessionData>(session: &TestSession<T>) -> Result<ChangeSet, SessionError> {
    let state = session.state();
    let changes = state.changes()?;
    let record = state.loaded().and_then(|loaded| loaded.record.as_ref());
    let mode = record.map_or(WriteMode::Update { created_at: None }, WriteMode::update_of);
    Ok(state.config.change_set(mode, changes, record, None))
}
