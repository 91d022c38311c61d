//! `#[derive(SessionData)]` for actix-typed-session. Use it through the runtime crate,
//! `actix_typed_session`, which re-exports it; the generated code only works with it.

// The way through: `ast.rs` builds the model (with `attr.rs` reading the attributes),
// `valid.rs` checks its meaning, and the three push every mistake to one `errors::Errors`.
// Then `expand.rs` generates the output, or `fallback.rs` the errors and a stub; both emit
// the accessor type of `accessors.rs`.
mod accessors;
mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

use crate::ast::Input;
use crate::errors::Errors;

/// Implements `SessionData` for a struct with named fields and generates its accessor
/// type, `<Struct>Fields`, which `Session<Struct>` dereferences to.
///
/// Per field `x`: `x()` borrows it, `set_x(value)` replaces it, `update_x(|x| ...)`
/// changes it in place. Field types must be `Serialize + DeserializeOwned`, and `Default`
/// unless the field names another default.
///
/// Attributes (the runtime crate's `SessionData` documents them with a tested example):
/// - `#[session(crate = "path")]` on the struct: reach the runtime through `path` instead of
///   `::actix_typed_session`, for a crate that re-exports it.
/// - `#[session(prefix = "ns.")]` on the struct: put `ns.` before every storage name, so
///   several structs can share one session.
/// - `#[session(rename = "name")]` on a field: store the field under `name`; its accessors
///   keep the Rust name.
/// - `#[session(default)]` / `#[session(default = "path")]` on a field: the value when the
///   store has none that decodes: `Default::default()`, or `path()`.
/// - `#[session(skip)]` on a field: kept for the request only, never loaded or stored.
/// - `#[session(index)]` on one field, an `Option<_>`, per struct: the per-user index. Sessions
///   whose field holds the same value are grouped (`None` keeps a session out), and
///   `Session<Struct>` gains `sessions()`, `end_other_sessions()` and `end_all_sessions()`.
/// - `#[session(counter)]` on an integer field (64 bits or fewer): `Session<Struct>` and
///   `SessionWriter<Struct>` gain `increment_<field>(by)`, which adds in the store, atomically.
///
/// It also generates `<Struct>Writer`, which `SessionWriter<Struct>` dereferences to: a
/// setter per stored field but the `index` one, and the incrementers.
#[proc_macro_derive(SessionData, attributes(session))]
pub fn derive_session_data(input: TokenStream) -> TokenStream {
    let syntax = parse_macro_input!(input as DeriveInput);
    let mut errors = Errors::default();
    let input = Input::from_syn(&syntax, &mut errors);
    valid::check(&input, &mut errors);
    let output = match errors.finish() {
        Ok(()) => expand::expand(&input),
        Err(error) => fallback::expand(&input, &error),
    };
    output.into()
}
