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
    /// with neither option that reads the forwarding headers,
    /// [`cookie_secure_from_scheme()`](crate::SessionMiddlewareBuilder::cookie_secure_from_scheme)
    /// (the scheme) nor [`record_client_ip(true)`](crate::SessionMiddlewareBuilder::record_client_ip)
    /// (the client's address): they would be accepted and ignored.
    #[error(
        "trust_forwarded_headers(true) has no effect without cookie_secure_from_scheme() \
         or record_client_ip(true), the only options the Forwarded, X-Forwarded-Proto and \
         X-Forwarded-For headers decide: add cookie_secure_from_scheme() to make Secure \
         follow the scheme the proxy reports, record_client_ip(true) to record the client \
         address it forwards, or drop trust_forwarded_headers(true)"
    )]
    TrustForwardedUnused,
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
    /// [`Compat::ExpressSession`](crate::Compat::ExpressSession) with
    /// [`Keys::none`](crate::Keys::none): express-session reads only signed cookies
    /// (`s:<id>.<signature>`) and takes an unsigned one for no session, so the two apps
    /// would share nothing, without a word from either.
    #[error(
        "the ExpressSession preset was given Keys::none(), but express-session reads only \
         signed connect.sid cookies (s:<id>.<signature>): it would ignore every cookie this \
         side sends, and the two apps would share no session; give Keys::new(..) the \
         Express app's secrets, in order (with allow_short_keys() for short ones)"
    )]
    ExpressSessionWithoutKeys,
    /// An option of the builder that the cookie store
    /// ([`builder_with_cookie_store`](crate::SessionMiddleware::builder_with_cookie_store))
    /// cannot honour: it needs a store on the server (the per-user index and its options,
    /// the device a login records, the store's key prefix, what to do when the store
    /// fails), or it shapes what the cookie store does not use (a header for the id, a
    /// Node preset's formats, the signing hash; the cookie store encrypts), but for
    /// [`Compat::KoaSessionCookie`](crate::Compat::KoaSessionCookie), which takes its
    /// signing hash.
    #[error("{option} cannot be used with the cookie store: {reason}")]
    NotWithCookieStore {
        /// The builder call.
        option: &'static str,
        /// Why the cookie store cannot honour it.
        reason: &'static str,
    },
    /// [`Compat::KoaSessionCookie`](crate::Compat::KoaSessionCookie) on a builder with a
    /// store: the preset keeps the whole session in the cookie, so the store would be
    /// accepted and never used, and the Node app would find no session in it.
    #[error(
        "the {compat:?} preset keeps the whole session in the cookie and needs the cookie \
         store: build with SessionMiddleware::builder_with_cookie_store(keys).compat(..), \
         or pick the preset of the Node app's store"
    )]
    CookiePresetWithStore {
        /// The preset.
        compat: Compat,
    },
    /// The cookie store was given [`Keys::none`](crate::Keys::none): it encrypts
    /// sessions with the keys (koa-session's cookie preset signs them with the Koa app's
    /// keys), and will not send them unauthenticated.
    #[error(
        "the cookie store encrypts sessions with the Keys (koa-session's cookie preset \
         signs them with the Koa app's keys), and was given none: give at least one key \
         of 32 random bytes (openssl rand -base64 48), or the Koa app's keys"
    )]
    CookieStoreWithoutKeys,
    /// A key of the cookie store's ring is shorter than [`Keys::MIN_LEN`](crate::Keys::MIN_LEN)
    /// bytes, allowed or not: anyone holding one cookie could guess a short key offline,
    /// then read and forge every session.
    #[error(
        "cookie store key #{index} is {len} bytes, fewer than 32: one cookie is enough to \
         guess a short key offline, then read and forge every session; use at least 32 \
         random bytes (openssl rand -base64 48). Keys::allow_short_keys() does not apply: \
         the cookie store shares no cookie with a Node app"
    )]
    ShortCookieStoreKey {
        /// Its position in the ring, from 0.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// [`max_session_size`](crate::SessionMiddlewareBuilder::max_session_size) above what
    /// the cookie store's cookie can ever hold, with its name and attributes, within the
    /// 4096 bytes browsers keep: the limit would never be reached, and a session that
    /// grows toward it fails its commit first.
    #[error(
        "max_session_size({limit}) is more than the cookie store's cookie can ever hold \
         ({room} bytes of fields, with this cookie's name and attributes, within the 4096 \
         bytes browsers keep): give at most {room}"
    )]
    MaxSessionSizeOverCookie {
        /// The configured limit.
        limit: usize,
        /// The most bytes of fields the cookie could hold.
        room: usize,
    },
    /// [`SessionMiddleware::admin`](crate::SessionMiddleware::admin) (or
    /// [`try_admin`](crate::SessionMiddleware::try_admin)) on a cookie-store middleware:
    /// its sessions live in the clients' cookies, and nothing on the server can list,
    /// read, change or end them.
    #[error(
        "the admin handle needs sessions kept on the server, and the cookie store keeps \
         them in the clients' cookies, where nothing can list, read, change or end them: \
         use a server-side store for that"
    )]
    AdminWithCookieStore,
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
