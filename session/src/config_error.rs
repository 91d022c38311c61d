//! Why the builder refuses a configuration: each refusal is an option that would leave the
//! sessions open to forgery or theft, or one that would be accepted and then ignored. A
//! middleware that refuses to start is the safe outcome; one that starts insecure is not.

use crate::compat::Compat;
use crate::store::Layout;

/// A configuration the middleware refuses to be built with, from
/// [`SessionMiddlewareBuilder::try_build`](crate::SessionMiddlewareBuilder::try_build)
/// (and the panic message of [`build`](crate::SessionMiddlewareBuilder::build)). Each
/// message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`Keys::new`](crate::Keys::new) was given no key. An empty list from a
    /// configuration file would otherwise turn signing off without a word.
    #[error(
        "Keys::new was given no session key: give at least one key of 32 random bytes, \
         or Keys::none() to send unsigned cookies on purpose"
    )]
    NoKeys,
    /// [`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index)
    /// of 0 would end every session at its login.
    #[error(
        "max_sessions_per_index(0) would end every indexed session as it logs in: give at \
         least 1"
    )]
    NoSessionsPerIndex,
    /// A key of the ring is empty: HMAC with an empty key lets anyone sign any id.
    #[error(
        "session key #{index} is empty, which lets anyone sign any session id: remove it \
         (an empty entry in a comma-separated list, such as \"key,\", makes one)"
    )]
    EmptyKey {
        /// Its position in the ring, from 0.
        index: usize,
    },
    /// A key of the ring is shorter than [`Keys::MIN_LEN`](crate::Keys::MIN_LEN) bytes.
    #[error(
        "session key #{index} is {len} bytes, fewer than 32: one signed cookie is enough to \
         guess a short key offline; use at least 32 random bytes (openssl rand -base64 48), \
         or Keys::allow_short_keys() to share a Node app's short secret knowingly"
    )]
    ShortKey {
        /// Its position in the ring, from 0.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A cookie named `__Host-...` with an option that browsers refuse for such a name:
    /// they would drop the cookie, so no session would ever stick.
    #[error(
        "the cookie name {name:?} starts with __Host-, which requires {requirement}: \
         drop the conflicting option or rename the cookie"
    )]
    HostPrefix {
        /// The cookie name.
        name: String,
        /// What the prefix requires and the configuration does not give.
        requirement: &'static str,
    },
    /// A cookie named `__Secure-...` that is not always `Secure`: browsers drop it
    /// whenever it is not.
    #[error(
        "the cookie name {name:?} starts with __Secure-, which requires the Secure \
         attribute: remove cookie_secure(false) and cookie_secure_from_scheme(), or rename \
         the cookie"
    )]
    SecurePrefix {
        /// The cookie name.
        name: String,
    },
    /// [`cookie_same_site(SameSite::None)`](crate::SessionMiddlewareBuilder::cookie_same_site)
    /// on a cookie that is not always `Secure`: browsers drop a `SameSite=None` cookie
    /// without `Secure`, so no session would stick on a response without it. Following the
    /// scheme ([`cookie_secure_from_scheme`](crate::SessionMiddlewareBuilder::cookie_secure_from_scheme))
    /// is refused too: it leaves out `Secure` only on http responses, where the cookie is
    /// dropped either way, so it can do no more than the default.
    #[error(
        "cookie_same_site(SameSite::None) with {option}: browsers drop a SameSite=None \
         cookie that is not Secure, so the responses {option} leaves without Secure would \
         set no session; drop {option} (Secure on every cookie, which browsers also keep \
         from http://localhost), or use SameSite::Lax or SameSite::Strict"
    )]
    SameSiteNoneWithoutSecure {
        /// The builder call that turns `Secure` off: `cookie_secure(false)` or
        /// `cookie_secure_from_scheme()`.
        option: &'static str,
    },
    /// [`trust_forwarded_headers(true)`](crate::SessionMiddlewareBuilder::trust_forwarded_headers)
    /// without [`cookie_secure_from_scheme()`](crate::SessionMiddlewareBuilder::cookie_secure_from_scheme),
    /// the only option the forwarded headers affect: they would be accepted and ignored.
    #[error(
        "trust_forwarded_headers(true) has no effect without cookie_secure_from_scheme(), \
         the only option the Forwarded and X-Forwarded-Proto headers decide: add \
         cookie_secure_from_scheme() to make Secure follow the scheme the proxy reports, \
         or drop trust_forwarded_headers(true)"
    )]
    TrustForwardedWithoutFromScheme,
    /// [`absolute_timeout`](crate::SessionMiddlewareBuilder::absolute_timeout) with a
    /// Node preset's JSON layout: the Node package keeps no creation time in its document,
    /// so the limit could never apply.
    #[error(
        "absolute_timeout cannot be kept with the {compat:?} preset: its session document \
         stores no creation time, so the limit would be accepted and ignored; drop \
         absolute_timeout, end sessions on the Node side, or store in the hash layout \
         (store_layout(Layout::Fields)) once no Node app shares the sessions"
    )]
    AbsoluteTimeoutWithCompat {
        /// The preset.
        compat: Compat,
    },
    /// [`store_layout`](crate::SessionMiddlewareBuilder::store_layout) named a JSON layout
    /// that is not the [`compat`](crate::SessionMiddlewareBuilder::compat) preset's own
    /// (or named one without a preset): the JSON layout exists to share a Node package's
    /// documents, and each package writes its own with its own command.
    #[error(
        "store_layout({layout:?}) is refused with compat {compat:?}: a JSON layout only \
         shares the documents of the Node package whose preset sets it; drop \
         store_layout to keep the preset's layout, or use Layout::Fields"
    )]
    ForeignJsonLayout {
        /// The layout asked for.
        layout: Layout,
        /// The preset, if any.
        compat: Option<Compat>,
    },
    /// [`index_secret`](crate::SessionMiddlewareBuilder::index_secret) shorter than
    /// [`IndexSecret::MIN_LEN`](crate::IndexSecret::MIN_LEN) bytes, or empty: a short
    /// secret can be guessed from the index key names of a Redis dump, and then the
    /// indexed values (user ids, e-mails) with it.
    #[error(
        "the index secret is {len} bytes, fewer than 32: anyone who reads Redis could guess \
         it from the index key names, and the user ids behind them; use at least 32 random \
         bytes (openssl rand -base64 48)"
    )]
    ShortIndexSecret {
        /// Its length in bytes.
        len: usize,
    },
}
