//! The expansion of `#[derive(SessionData)]` stays quiet under strict lints: rustc's here,
//! and clippy's (`all`, `pedantic` and `nursery`) when the gate runs `cargo clippy
//! --all-targets`.
//! It covers the visibilities a session struct can have, `#[session(crate = "...")]`
//! through a re-export, and user names that could capture names the expansion uses.
#![deny(
    warnings,
    missing_docs,
    unused_qualifications,
    unused_results,
    single_use_lifetimes,
    unused_lifetimes,
    clippy::all,
    clippy::pedantic,
    clippy::nursery
)]

use actix_typed_session::SessionData;

/// A public session struct; its accessor type is public too, so it needs docs.
#[derive(SessionData)]
pub struct Visit {
    /// Pages seen.
    views: u64,
    user: Option<String>,
    #[session(rename = "cart_items")]
    cart: Vec<String>,
    r#type: String,
}

fn default_theme() -> String {
    "light".to_owned()
}

/// Every field and struct attribute at once.
#[derive(SessionData)]
#[session(prefix = "prefs.")]
pub struct Prefs {
    #[session(default = "default_theme")]
    theme: String,
    #[session(default, rename = "n")]
    visits: u64,
    #[session(skip)]
    scratch: Vec<String>,
    #[session(skip, default = "std::time::Instant::now")]
    since: std::time::Instant,
}

/// Counters, whose incrementers are `async`, next to a plain field.
#[derive(SessionData)]
pub struct Counters {
    #[session(counter)]
    views: u64,
    #[session(counter, rename = "n")]
    signed: i32,
    label: Option<String>,
}

/// Only fields that are never stored.
#[derive(SessionData)]
pub struct OnlySkipped {
    #[session(skip)]
    scratch: Vec<String>,
}

/// A private one: accessors nobody calls must not be reported as dead code.
#[derive(SessionData)]
struct Private {
    views: u64,
}

/// Nothing to store is odd, but not wrong.
#[derive(SessionData)]
pub struct Nothing {}

// `pub(crate)` in a private module is the user's choice this test covers, and the
// expansion copies it.
#[allow(clippy::redundant_pub_crate)]
mod nested {
    use actix_typed_session::SessionData;

    #[derive(SessionData)]
    pub(crate) struct Prefs {
        pub(crate) theme: String,
    }
}

/// Reaches the runtime the way a crate that re-exports it would.
mod reexport {
    pub use actix_typed_session::*;
}

#[derive(SessionData)]
#[session(crate = "crate::reexport")]
struct ThroughReexport {
    views: u64,
}

/// The user's own names for things the expansion also names.
#[allow(clippy::redundant_pub_crate)] // the same choice as in `nested`
mod shadowing {
    use actix_typed_session::SessionData;

    #[allow(dead_code)]
    pub(crate) struct Some;
    pub(crate) type Option<T> = core::option::Option<T>;
    #[allow(dead_code)]
    pub(crate) type Result = ();
    #[allow(dead_code)]
    pub(crate) struct Vec;
    #[allow(dead_code)]
    pub(crate) trait Default {}
    pub(crate) type R = u8;

    macro_rules! session_struct {
        ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
            #[derive(SessionData)]
            pub(crate) struct $name {
                $($field: $ty),*
            }
        };
    }

    // Field names that are also the names of the generated code's locals and parameters,
    // and a struct declared by a macro, whose spans carry that macro's hygiene.
    session_struct!(Locals {
        stored: Option<R>,
        value: u8,
        data: u16,
        change: u32,
        index: u64,
        typed: String,
    });
}

#[test]
fn expansions_compile_quietly() {
    assert_eq!(Visit::FIELD_NAMES, ["views", "user", "cart_items", "type"]);
    assert_eq!(Private::FIELD_NAMES, ["views"]);
    assert_eq!(Counters::FIELD_NAMES, ["views", "n", "label"]);
    assert_eq!(Prefs::FIELD_NAMES, ["prefs.theme", "prefs.n"]);
    assert!(OnlySkipped::FIELD_NAMES.is_empty());
    assert!(Nothing::FIELD_NAMES.is_empty());
    assert_eq!(nested::Prefs::FIELD_NAMES, ["theme"]);
    assert_eq!(ThroughReexport::FIELD_NAMES, ["views"]);
    assert_eq!(
        shadowing::Locals::FIELD_NAMES,
        ["stored", "value", "data", "change", "index", "typed"]
    );
}
