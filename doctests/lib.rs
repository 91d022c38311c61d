//! Compiles the Rust snippets of the Markdown files as doc tests (`cargo test -p
//! actix-typed-session-doctests --doc`), so the READMEs and guides cannot drift from the
//! API. Snippets of other crates are marked `ignore`. Empty outside `cfg(doctest)`.

/// The repository's README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The crate README shown on crates.io.
#[cfg(doctest)]
#[doc = include_str!("../session/README.md")]
struct CrateReadmeDoctests;

/// The derive crate's README.
#[cfg(doctest)]
#[doc = include_str!("../session-derive/README.md")]
struct DeriveReadmeDoctests;

/// The guide for actix-session users (this crate's side; actix-session's is `ignore`).
#[cfg(doctest)]
#[doc = include_str!("../docs/coming-from-actix-session.md")]
struct ComingFromActixSessionDoctests;

/// The guide to sharing sessions with a Koa or Express app.
#[cfg(doctest)]
#[doc = include_str!("../docs/sharing-sessions-with-node.md")]
struct SharingWithNodeDoctests;

/// The guide to moving sessions from one store to another.
#[cfg(doctest)]
#[doc = include_str!("../docs/migrating-stores.md")]
struct MigratingStoresDoctests;

/// The guide to the cookie store.
#[cfg(doctest)]
#[doc = include_str!("../docs/cookie-store.md")]
struct CookieStoreDoctests;

/// The threat model's example of a field whose default must be the safe one.
#[cfg(doctest)]
#[doc = include_str!("../SECURITY.md")]
struct SecurityDoctests;
