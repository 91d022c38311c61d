//! The middleware's options and their builder, which resolves them (the Node preset
//! included) into a [`Config`] once.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::time::OffsetDateTime;
use actix_web::cookie::SameSite;
use actix_web::http::header::HeaderName;

use crate::compat::Compat;
use crate::config::{Config, IndexNames, TtlPolicy};
use crate::config_error::ConfigError;
use crate::cookie::{CookieSettings, Lifetime, Secure};
use crate::cookie_store::CookieStore;
use crate::device::DeviceRecording;
use crate::envelope::Envelope;
use crate::events::{Hooks, SessionEvent};
use crate::id::IdFormat;
use crate::index_secret::IndexSecret;
use crate::middleware::SessionMiddleware;
use crate::signing::{Algorithm, InlineSigner, KeyProblem, Keygrip, Keys};
use crate::store::stateless::NoStore;
use crate::store::{Layout, SessionStore, DEFAULT_MAX_SESSIONS_PER_INDEX};
use crate::transport::{default_header, IdTransport, Transport};

impl SessionMiddleware {
    /// The middleware with every option at its default (see [`SessionMiddlewareBuilder`]).
    ///
    /// # Panics
    ///
    /// When the keys cannot sign safely (an empty key, one shorter than 32 bytes, no key):
    /// see [`SessionMiddlewareBuilder::build`].
    pub fn new(store: impl SessionStore, keys: Keys) -> Self {
        Self::builder(store, keys).build()
    }

    /// Starts a builder for the options: cookie attributes, lifetimes, TTL policy, key
    /// prefix and signing.
    pub fn builder(store: impl SessionStore, keys: Keys) -> SessionMiddlewareBuilder {
        SessionMiddlewareBuilder::new(Arc::new(store), keys)
    }

    /// Starts a builder for the cookie store: no store on the server, the whole session
    /// in the cookie, encrypted and authenticated with AES-256-GCM under keys derived from
    /// `keys` (the first seals, every one opens, so keys rotate as signing keys do).
    /// `Session<T>`, `SessionWriter<T>` and the derive work as with a store, within what
    /// a cookie can do (see `docs/cookie-store.md`):
    ///
    /// - a copy of a cookie stays valid until its expiry (the [`ttl`](SessionMiddlewareBuilder::ttl),
    ///   checked on the server, and the [`absolute_timeout`](SessionMiddlewareBuilder::absolute_timeout)):
    ///   [`Session::purge`](crate::Session::purge) and [`Session::renew`](crate::Session::renew)
    ///   replace the client's cookie, but cannot revoke a copy someone took;
    /// - the cookie, with its name and attributes, must fit the 4096 bytes browsers keep:
    ///   a commit that would not fit fails ([`SessionError::CookieTooLarge`](crate::SessionError::CookieTooLarge)),
    ///   and the client keeps its previous cookie;
    /// - what needs server state is refused, never ignored: options of a store at build
    ///   ([`ConfigError::NotWithCookieStore`]), the [`admin`](SessionMiddleware::admin)
    ///   handle ([`ConfigError::AdminWithCookieStore`]), and in a request a struct with an
    ///   `#[session(index)]` field or a counter increment
    ///   ([`SessionError::Stateless`](crate::SessionError::Stateless)).
    ///
    /// With [`.compat(Compat::KoaSessionCookie)`](SessionMiddlewareBuilder::compat) the
    /// cookie is koa-session's instead (a Koa app without a store reads and writes the same
    /// sessions): base64 JSON signed with the Koa app's keys, which the client can read.
    ///
    /// ```
    /// # use actix_typed_session::{Keys, SessionMiddleware};
    /// let keys = Keys::new(["a cookie store key of at least 32 random bytes"]);
    /// let sessions = SessionMiddleware::builder_with_cookie_store(keys)
    ///     .max_age(std::time::Duration::from_secs(7 * 24 * 3600))
    ///     .build();
    /// ```
    pub fn builder_with_cookie_store(keys: Keys) -> SessionMiddlewareBuilder {
        let mut builder = SessionMiddlewareBuilder::new(Arc::new(NoStore), keys);
        builder.cookie_store = true;
        builder
    }
}

/// Builds a [`SessionMiddleware`]; start from [`SessionMiddleware::builder`].
#[must_use]
pub struct SessionMiddlewareBuilder {
    store: Arc<dyn SessionStore>,
    keys: Keys,
    algorithm: Algorithm,
    cookie_name: String,
    lifetime: Lifetime,
    path: String,
    domain: Option<String>,
    http_only: bool,
    secure: Secure,
    trust_forwarded: bool,
    same_site: SameSite,
    ttl: Option<Duration>,
    /// `ttl` was called after any preset: koa-session's cookie mode refuses it.
    ttl_called: bool,
    ttl_policy: TtlPolicy,
    key_prefix: String,
    index_secret: Option<Vec<u8>>,
    commit_on_server_error: bool,
    overwrite_handler_cookie: bool,
    absolute_timeout: Option<Duration>,
    save_uninitialized: bool,
    fail_open: bool,
    max_session_size: Option<usize>,
    max_sessions_per_index: usize,
    device: DeviceRecording,
    id_transport: IdTransport,
    id_header: HeaderName,
    compat: Option<Compat>,
    store_layout: Option<Layout>,
    hooks: Hooks,
    /// Sessions travel whole in the cookie (`cookie_store.rs`), and `store` is a
    /// placeholder.
    cookie_store: bool,
    /// The options called that only a server-side store honours, with why: the cookie
    /// store refuses them.
    store_only: Vec<(&'static str, &'static str)>,
}

/// The builder call of the signing hash, which the cookie store refuses but for
/// koa-session's signed cookie.
const SIGNING_ALGORITHM: &str = "signing_algorithm";

/// Why the cookie store refuses the options of the per-user index.
const NO_INDEX: &str = "the per-user index lives on the server, and the cookie store keeps none";

/// Idle lifetime in the store when neither a TTL nor a cookie max-age is given.
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

impl SessionMiddlewareBuilder {
    pub(crate) fn new(store: Arc<dyn SessionStore>, keys: Keys) -> Self {
        Self {
            store,
            keys,
            algorithm: Algorithm::default(),
            cookie_name: "session".to_owned(),
            lifetime: Lifetime::BrowserSession,
            path: "/".to_owned(),
            domain: None,
            http_only: true,
            secure: Secure::Always,
            trust_forwarded: false,
            same_site: SameSite::Lax,
            ttl: None,
            ttl_called: false,
            ttl_policy: TtlPolicy::default(),
            key_prefix: "session:".to_owned(),
            index_secret: None,
            commit_on_server_error: false,
            overwrite_handler_cookie: true,
            absolute_timeout: None,
            save_uninitialized: false,
            fail_open: false,
            max_session_size: None,
            max_sessions_per_index: DEFAULT_MAX_SESSIONS_PER_INDEX,
            device: DeviceRecording {
                user_agent: true,
                client_ip: false,
                trust_forwarded: false,
            },
            id_transport: IdTransport::default(),
            id_header: default_header(),
            compat: None,
            store_layout: None,
            hooks: Hooks::default(),
            cookie_store: false,
            store_only: Vec::new(),
        }
    }

    /// Notes a call of an option that only a server-side store honours.
    fn store_only(mut self, option: &'static str, reason: &'static str) -> Self {
        self.store_only.push((option, reason));
        self
    }

    /// Shares sessions with a Node app: the cookie, signature, id shape, Redis key and JSON
    /// document of the given package (see [`Compat`] and `docs/compat.md`), with any store;
    /// [`Compat::KoaSessionCookie`] (no store on the Node side) with the cookie store
    /// ([`SessionMiddleware::builder_with_cookie_store`]) only.
    /// Options set after this call override the preset's. Default: no preset, this
    /// library's own cookie, id and hash layout. [`Compat::ExpressSession`] needs the
    /// Express app's secret: with [`Keys::none`] the build is refused
    /// ([`ConfigError::ExpressSessionWithoutKeys`]).
    ///
    /// ```
    /// # use actix_typed_session::{store::MemoryStore, Compat, Keys, SessionMiddleware};
    /// // The Koa app's `app.keys`: short, so accepted by name.
    /// let keys = Keys::new(["koa app key"]).allow_short_keys();
    /// let sessions = SessionMiddleware::builder(MemoryStore::new(), keys)
    ///     .compat(Compat::KoaSession)
    ///     .build();
    /// ```
    pub fn compat(mut self, compat: Compat) -> Self {
        let preset = compat.preset();
        self.cookie_name = preset.cookie_name.to_owned();
        self.key_prefix = preset.key_prefix.to_owned();
        // keygrip's default, which Koa apps keep.
        self.algorithm = Algorithm::Sha1;
        self.lifetime = Lifetime::BrowserSession;
        self.ttl = preset.ttl;
        self.ttl_called = false;
        self.ttl_policy = preset.ttl_policy;
        self.compat = Some(compat);
        if compat.keeps_sessions_in_the_cookie() {
            return self;
        }
        self.store_only(
            "compat",
            "the Node presets share a server-side store's sessions with a Node app",
        )
    }

    /// How sessions are laid out in the store. Default: the preset's layout (the Node
    /// package's JSON document) with [`compat`](Self::compat), else [`Layout::Fields`].
    ///
    /// `store_layout(Layout::Fields)` after a preset keeps the preset's cookie, signing
    /// and id shape but stores sessions in this library's hash layout, without the Node
    /// envelope: for an app that takes over a Node app's users, reading its cookies while
    /// the sessions move to the hash layout (a
    /// [`MigratingStore`](crate::store::MigratingStore) with the old store's
    /// [`old_format`](crate::store::MigratingStoreBuilder::old_format); see
    /// `docs/migrating-stores.md`). The Node app can then no longer read the sessions, and
    /// [`absolute_timeout`](Self::absolute_timeout) is allowed again.
    ///
    /// A JSON layout other than the preset's own is refused
    /// ([`ConfigError::ForeignJsonLayout`]): each Node package reads only its own document.
    ///
    /// ```
    /// # use actix_typed_session::{store::{Layout, MemoryStore}, Compat, Keys, SessionMiddleware};
    /// let keys = Keys::new(["koa app key"]).allow_short_keys();
    /// let sessions = SessionMiddleware::builder(MemoryStore::new(), keys)
    ///     .compat(Compat::KoaSession)
    ///     .store_layout(Layout::Fields)
    ///     .key_prefix("session:")
    ///     .build();
    /// ```
    pub fn store_layout(mut self, layout: Layout) -> Self {
        self.store_layout = Some(layout);
        self.store_only(
            "store_layout",
            "the cookie store keeps sessions in no store",
        )
    }

    /// The cookie's name (Koa's `key`). Default: `session`. When cookies are signed, the
    /// signature travels in a second cookie named `<name>.sig`.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// A persistent cookie that lives `max_age` (Koa's `maxAge`). Unless [`Self::ttl`] is
    /// set, the session lives as long in the store. Default: a browser-session cookie.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.lifetime = Lifetime::MaxAge(max_age);
        self
    }

    /// A cookie that expires at a fixed moment (Koa's `expires`). Unless [`Self::ttl`] is
    /// set, the session lives 24 hours in the store. Default: none, a browser-session
    /// cookie.
    pub fn expires(mut self, at: OffsetDateTime) -> Self {
        self.lifetime = Lifetime::Expires(at);
        self
    }

    /// A cookie that the browser drops when it closes: the default.
    pub fn browser_session(mut self) -> Self {
        self.lifetime = Lifetime::BrowserSession;
        self
    }

    /// The cookie's `Path`. Default: `/`.
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie's `Domain`. Default: none (the cookie stays on the exact host).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `HttpOnly`, which keeps the id away from scripts. Default: on.
    pub fn cookie_http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `Secure`, which keeps browsers from sending the cookie over plain http, where the
    /// network could read the id. Default: on. `false` is for a site served over plain
    /// http only (an intranet without TLS); a browser then sends the cookie to anyone
    /// between it and the server.
    ///
    /// Browsers keep `Secure` cookies from `http://localhost` and `http://127.0.0.1`, so
    /// local development needs no change.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.secure = if secure {
            Secure::Always
        } else {
            Secure::Never
        };
        self
    }

    /// `Secure` only on requests that came over https, for a site served over both http
    /// and https. The scheme is the connection's own (TLS, or an https URI), unless
    /// [`trust_forwarded_headers`](Self::trust_forwarded_headers) says a proxy tells it.
    /// Default: off, the cookie is always `Secure` (see [`Self::cookie_secure`]).
    ///
    /// Behind a proxy that terminates TLS and forwards plain http, without trusted
    /// forwarded headers, every request looks like http: no cookie is `Secure`, and one
    /// `http://` request shows the id to the network.
    ///
    /// Refused with `SameSite=None` (see [`ConfigError::SameSiteNoneWithoutSecure`]):
    /// browsers drop the cookie of every http response, so it would do no more than the
    /// default, `Secure` always.
    pub fn cookie_secure_from_scheme(mut self) -> Self {
        self.secure = Secure::FromScheme {
            trust_forwarded: false,
        };
        self
    }

    /// Believe the proxy's forwarding headers (actix's `ConnectionInfo`) in the two options
    /// that read them: with [`cookie_secure_from_scheme`](Self::cookie_secure_from_scheme),
    /// the request's scheme is what `Forwarded` or `X-Forwarded-Proto` says; with
    /// [`record_client_ip(true)`](Self::record_client_ip), the recorded address is what
    /// `Forwarded` or `X-Forwarded-For` says. Turn it on only behind a proxy that sets
    /// these headers and overwrites what clients send, since any client can send them.
    /// Default: off, the headers are ignored.
    ///
    /// The headers decide nothing else, so `true` with neither option is refused rather
    /// than ignored (see [`ConfigError::TrustForwardedUnused`]).
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
        self
    }

    /// `SameSite`. Default: `Lax`.
    ///
    /// `SameSite::None`, which lets the cookie go with cross-site requests too, needs
    /// `Secure` on every cookie: browsers drop a `SameSite=None` cookie without it. It is
    /// refused with [`cookie_secure(false)`](Self::cookie_secure) and with
    /// [`cookie_secure_from_scheme()`](Self::cookie_secure_from_scheme) (see
    /// [`ConfigError::SameSiteNoneWithoutSecure`]).
    pub fn cookie_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The hash behind cookie signatures. Default: SHA-256; use SHA-1 to share cookies
    /// with a Koa app that keeps keygrip's default.
    pub fn signing_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self.store_only(
            SIGNING_ALGORITHM,
            "it encrypts and authenticates with AES-256-GCM, and signs no id",
        )
    }

    /// How long an unused session lives in the store. Default: the cookie's max-age when
    /// set, else 24 hours.
    ///
    /// Under the cookie store ([`SessionMiddleware::builder_with_cookie_store`]) it is an
    /// expiry sealed inside the cookie and checked on the server, whatever the browser was
    /// told: the only limit on a copy of the cookie, so keep it short.
    ///
    /// Refused with [`Compat::KoaSessionCookie`]: koa-session keeps the expiry in the
    /// cookie (`_expire`, from [`max_age`](Self::max_age)), where Koa reads it too.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self.ttl_called = true;
        self
    }

    /// When the time-to-live is pushed back. Default: [`TtlPolicy::OnEveryAccess`].
    pub fn ttl_policy(mut self, policy: TtlPolicy) -> Self {
        self.ttl_policy = policy;
        self
    }

    /// The prefix of every store key (Koa's `keySchema`). Default: `session:`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self.store_only("key_prefix", "it names store keys, and there is no store")
    }

    /// The secret that keys the hash in the names of per-user index keys
    /// (`#[session(index)]`): `{prefix}index:{field}:{hash}`, where the hash is
    /// HMAC-SHA-256 of the field name and the value under this secret (see
    /// [`IndexSecret`](crate::IndexSecret)). Without the secret, someone who reads Redis
    /// (a dump, a backup, a replica) cannot test guesses of user ids or e-mails against
    /// the key names. At least [`IndexSecret::MIN_LEN`](crate::IndexSecret::MIN_LEN) (32)
    /// bytes, or the build is refused ([`ConfigError::ShortIndexSecret`]); make it random
    /// (`openssl rand -base64 48`), keep it as you keep the signing keys, and give every
    /// instance of the app the same one.
    ///
    /// Default: a secret derived from the first of the [`Keys`] (an HMAC of that key over
    /// a fixed label), so apps that set none keep working; a warning is logged at the
    /// first index use. Index keys then change whenever that key is rotated. With
    /// [`Keys::none`] the default is a public constant, no better than an unkeyed hash.
    ///
    /// Changing it, or rotating the key it is derived from, orphans the existing index
    /// sets. Sessions stay valid and logged in, but [`sessions`](crate::Session::sessions),
    /// [`end_other_sessions`](crate::Session::end_other_sessions) and
    /// [`end_all_sessions`](crate::Session::end_all_sessions) no longer find a session
    /// indexed under the old secret until a write of its indexed field (a new login) puts
    /// it in the new index. The old sets expire as they would have (with
    /// [`absolute_timeout`](Self::absolute_timeout)) or can be deleted by the pattern
    /// `{prefix}index:*` (`redis-cli --scan --pattern 'session:index:*'`). To end every
    /// session of a user across the change, end them before it. The same holds for
    /// [`MemoryStore`](crate::store::MemoryStore), whose indexes die with the process
    /// anyway.
    ///
    /// ```
    /// # use actix_typed_session::{store::MemoryStore, Keys, SessionMiddleware};
    /// # let (signing_key, index_secret) = ("k".repeat(48), "i".repeat(48));
    /// // Read both from the environment or a secret store, never from the source.
    /// let sessions = SessionMiddleware::builder(MemoryStore::new(), Keys::new([signing_key]))
    ///     .index_secret(index_secret)
    ///     .build();
    /// ```
    pub fn index_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.index_secret = Some(secret.as_ref().to_vec());
        self.store_only("index_secret", NO_INDEX)
    }

    /// Whether changes are saved when the handler answered with a 5xx. Default: no, so a
    /// request that failed half-way leaves the session as it was.
    pub fn commit_on_server_error(mut self, commit: bool) -> Self {
        self.commit_on_server_error = commit;
        self
    }

    /// What goes out when the handler set a cookie of the session cookie's name itself
    /// (or of its `.sig` companion) on a response that also hands out or removes the
    /// session id (koa's `overwrite`). `true`, the default: the middleware's cookie replaces
    /// the handler's, so the client keeps the session it has. `false`: the handler's cookie
    /// is kept and the middleware sends none of its session cookies on that response, for
    /// a handler that manages the cookie itself (clearing it, say); one of each name goes
    /// out either way, never both. Cookies are matched by name, whatever their path and
    /// domain: a same-named cookie of another path would be sent by the browser beside
    /// ours, first. The id header of [`IdTransport::Header`] and `Both` is not affected,
    /// nor are responses that hand out nothing, where the handler's cookie goes out alone.
    pub fn overwrite_handler_cookie(mut self, overwrite: bool) -> Self {
        self.overwrite_handler_cookie = overwrite;
        self
    }

    /// The longest a session may live from its creation, however often it is used (the
    /// idle timeout is the [`ttl`](Self::ttl)). A session found past it is deleted and the
    /// request goes on with a fresh, empty session, never an error. Renewing keeps the
    /// creation time. A session whose record has no creation time (written by another
    /// program) is timed from the first write this library makes to it. Default: none.
    ///
    /// Refused with a Node preset's JSON layout ([`Self::compat`]): the Node packages keep
    /// no creation time in their documents, so the limit could not be kept (see
    /// [`ConfigError::AbsoluteTimeoutWithCompat`]). A preset with
    /// [`store_layout(Layout::Fields)`](Self::store_layout) keeps it.
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = Some(timeout);
        self
    }

    /// Guest sessions (express-session's `saveUninitialized`, the Koa seeds' behaviour):
    /// a request that carries no session id gets a stored, empty session and its id on
    /// any response, even when nothing was written and the handler never asked for the
    /// session; so does one whose id turns out to point at no live session when a handler
    /// loads it. Costs one store write per new visitor, bots included. Default: off, so a
    /// session is stored only once something is written to it.
    pub fn save_uninitialized(mut self, save: bool) -> Self {
        self.save_uninitialized = save;
        self
    }

    /// What a request gets when the store cannot be reached at load. Off (fail closed,
    /// the default): an empty 503. On (fail open): the request goes on with a fresh,
    /// empty session and a warning in the log; nothing it writes is saved, and no cookie
    /// is sent, so the client's existing session is untouched once the store is back. A
    /// new visitor whose first write cannot be saved gets the same. A stored session that
    /// loaded and then failed to save (a logout, an update, a renewal) gets the empty 503
    /// either way: its response would claim a change that was not made.
    pub fn fail_open(mut self, open: bool) -> Self {
        self.fail_open = open;
        self.store_only(
            "fail_open",
            "it says what to do when the store fails, and there is no store",
        )
    }

    /// The most a session may take in the store: the sum of the lengths of its field names
    /// and encoded values, as they would be after the commit. A commit that would leave
    /// the session over it, and larger than it was, writes nothing and the response becomes
    /// an empty 500. A session already over it (the limit was lowered, or another program
    /// wrote a large field) can still change without growing, shrink or end; a change that
    /// adds even one byte is refused. Default: no limit.
    ///
    /// Under the cookie store the cookie's own limit applies as well (4096 bytes with its
    /// name and attributes; [`SessionError::CookieTooLarge`](crate::SessionError::CookieTooLarge)),
    /// and a limit the cookie could never hold is refused at build
    /// ([`ConfigError::MaxSessionSizeOverCookie`]).
    pub fn max_session_size(mut self, bytes: usize) -> Self {
        self.max_session_size = Some(bytes);
        self
    }

    /// The most sessions one per-user index keeps (the sessions sharing one value of an
    /// `#[session(index)]` field, such as one user's). A login past it ends that user's
    /// sessions that joined the index longest ago (entries of sessions already gone are
    /// dropped first), so the newest login always succeeds and one account cannot grow
    /// the store, or the cost of listing it, without bound. Refusing the new login
    /// instead would let anyone who knows a password lock its owner out. At least 1.
    /// Default: [`DEFAULT_MAX_SESSIONS_PER_INDEX`](crate::store::DEFAULT_MAX_SESSIONS_PER_INDEX) (64).
    pub fn max_sessions_per_index(mut self, sessions: usize) -> Self {
        self.max_sessions_per_index = sessions;
        self.store_only("max_sessions_per_index", NO_INDEX)
    }

    /// Whether a login records the request's `User-Agent` (at most 256 bytes) with the
    /// session, for a list of a user's sessions ([`SessionInfo::user_agent`]). Recorded in
    /// the reserved field `__device` by the create that enters a per-user index (a login
    /// or a renewal of a logged-in session), never on other requests, and not in the JSON
    /// layout of the Node presets. Default: `true`.
    ///
    /// [`SessionInfo::user_agent`]: crate::SessionInfo::user_agent
    pub fn record_user_agent(mut self, record: bool) -> Self {
        self.device.user_agent = record;
        self.store_only("record_user_agent", NO_INDEX)
    }

    /// Whether a login also records the client's IP address ([`SessionInfo::client_ip`]),
    /// like the user agent. It is personal data: record it only with a reason and a
    /// retention the app's privacy notice covers. The address is the connection's peer,
    /// which behind a reverse proxy is the proxy; with
    /// [`trust_forwarded_headers(true)`](Self::trust_forwarded_headers), it is what the
    /// proxy's `Forwarded`/`X-Forwarded-For` say. Default: `false`.
    ///
    /// [`SessionInfo::client_ip`]: crate::SessionInfo::client_ip
    pub fn record_client_ip(mut self, record: bool) -> Self {
        self.device.client_ip = record;
        self.store_only("record_client_ip", NO_INDEX)
    }

    /// Where the session id travels: cookies, a header, or both. Default:
    /// [`IdTransport::Cookie`].
    ///
    /// With a header, a response that creates, renews or re-signs a session carries the
    /// new value in that header (the client sends it back as it is); a response that ends
    /// the session carries the header empty. Signed, the value is `<id>.<signature>`,
    /// the keygrip signature over `"<header-name>=<id>"`; unsigned, just the id.
    pub fn id_transport(mut self, transport: IdTransport) -> Self {
        self.id_transport = transport;
        self
    }

    /// The header that carries the id when the transport includes one. Default:
    /// `x-session-id`. Behind CORS, list it in `Access-Control-Expose-Headers`.
    pub fn id_header(mut self, name: HeaderName) -> Self {
        self.id_header = name;
        self.store_only(
            "id_header",
            "the session travels in its cookie, and no header carries an id",
        )
    }

    /// Registers a hook for the sessions' lifecycle events: created, renewed, logged out,
    /// signed out everywhere, ended by the admin handle, past the absolute timeout, and (with
    /// [`RedisStore::expiry_events`](crate::store::RedisStore::expiry_events)) expired.
    /// Each [`SessionEvent`] names the session by its id's fingerprint and carries its
    /// index values where known. May be called more than once; hooks run in the order
    /// registered. Default: none, and then no event is built and a request does no work
    /// for them.
    ///
    /// An event the app causes is delivered once its store change is made: a request's
    /// created, renewed and logged-out events after its commit succeeded (never for a
    /// failed commit), the endings of [`Session::end_other_sessions`](crate::Session::end_other_sessions)
    /// and of the admin handle once the store has ended them. Hooks run on the thread that
    /// caused the event, inside the request (or the admin call), so they should be quick
    /// (push to a channel for slow work). A hook that panics is caught and logged; the
    /// request goes on.
    ///
    /// ```
    /// # use actix_typed_session::{store::MemoryStore, Keys, SessionEvent, SessionMiddleware};
    /// let keys = Keys::new(["an events example key of at least 32 bytes"]);
    /// let sessions = SessionMiddleware::builder(MemoryStore::new(), keys)
    ///     .on_event(|event: &SessionEvent| {
    ///         tracing::info!(session = event.fingerprint(), event = %event.kind(), "audit");
    ///     })
    ///     .build();
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&SessionEvent) + Send + Sync + 'static) -> Self {
        self.hooks.add(hook);
        self
    }

    /// The middleware, ready to `wrap` an `App`.
    ///
    /// # Panics
    ///
    /// When [`try_build`](Self::try_build) refuses the configuration, with its
    /// [`ConfigError`]'s message: an empty key or one shorter than 32 bytes (see
    /// [`Keys`]), an [`index_secret`](Self::index_secret) shorter than 32 bytes, a
    /// `__Host-` or `__Secure-` cookie name with options the prefix forbids,
    /// `SameSite=None` on a cookie that is not always `Secure`,
    /// [`trust_forwarded_headers(true)`](Self::trust_forwarded_headers) without
    /// [`cookie_secure_from_scheme()`](Self::cookie_secure_from_scheme) or
    /// [`record_client_ip(true)`](Self::record_client_ip), the options that read the
    /// headers, an [`absolute_timeout`](Self::absolute_timeout) with a Node preset's JSON
    /// layout, a [`store_layout`](Self::store_layout) that is a JSON layout but not the
    /// preset's, or, under the cookie store, no keys, a short key, an option only a
    /// server-side store honours or a [`max_session_size`](Self::max_session_size) the
    /// cookie could never hold. These are mistakes in the code or its configuration, found
    /// once at start-up.
    pub fn build(self) -> SessionMiddleware {
        match self.try_build() {
            Ok(middleware) => middleware,
            // Refusing to start with an insecure configuration is the secure behaviour,
            // as actix-session's `Key::from` panics on a short key; `try_build` is there
            // for an app that would rather report it.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error}"),
        }
    }

    /// The middleware, or why the configuration is refused (see [`ConfigError`]).
    ///
    /// ```
    /// # use actix_typed_session::{store::MemoryStore, ConfigError, Keys, SessionMiddleware};
    /// let refused = SessionMiddleware::builder(MemoryStore::new(), Keys::new(["k", ""]))
    ///     .try_build();
    /// assert!(matches!(refused, Err(ConfigError::ShortKey { index: 0, len: 1 })));
    /// ```
    pub fn try_build(self) -> Result<SessionMiddleware, ConfigError> {
        self.check()?;
        let config = self.config();
        check_cookie_room(&config)?;
        Ok(SessionMiddleware::from_config(config))
    }

    /// Refuses the options that would make sessions forgeable or stealable, or that would
    /// be accepted and ignored.
    fn check(&self) -> Result<(), ConfigError> {
        if self.cookie_store {
            self.check_cookie_store()?;
        } else if let Some(compat) = self.koa_cookie() {
            return Err(ConfigError::CookiePresetWithStore { compat });
        }
        match self.keys.problem() {
            None => {}
            Some(KeyProblem::NoKeys) => return Err(ConfigError::NoKeys),
            Some(KeyProblem::Empty(index)) => return Err(ConfigError::EmptyKey { index }),
            Some(KeyProblem::Short(index, len)) => {
                return Err(ConfigError::ShortKey { index, len })
            }
        }
        // express-session signs every cookie and ignores one without a signature.
        if self.compat == Some(Compat::ExpressSession) && self.keys.is_empty() {
            return Err(ConfigError::ExpressSessionWithoutKeys);
        }
        if let Some(len) = self.index_secret.as_ref().map(Vec::len) {
            if len < IndexSecret::MIN_LEN {
                return Err(ConfigError::ShortIndexSecret { len });
            }
        }
        let name = &self.cookie_name;
        // Browsers refuse these cookies otherwise (RFC 6265bis, "cookie name prefixes"),
        // which match the prefixes without regard to case.
        if has_prefix(name, "__Host-") {
            let conflict = if self.secure != Secure::Always {
                Some("the Secure attribute on every response (no cookie_secure(false), no cookie_secure_from_scheme())")
            } else if self.path != "/" {
                Some("cookie_path(\"/\")")
            } else if self.domain.is_some() {
                Some("no cookie_domain")
            } else {
                None
            };
            if let Some(requirement) = conflict {
                return Err(ConfigError::HostPrefix {
                    name: name.clone(),
                    requirement,
                });
            }
        }
        if has_prefix(name, "__Secure-") && self.secure != Secure::Always {
            return Err(ConfigError::SecurePrefix { name: name.clone() });
        }
        if self.max_sessions_per_index == 0 {
            return Err(ConfigError::NoSessionsPerIndex);
        }
        if self.same_site == SameSite::None {
            // Following the scheme is refused too: it differs from `Secure` always only on
            // http responses, whose `SameSite=None` cookie browsers drop either way.
            let unsecured = match self.secure {
                Secure::Always => None,
                Secure::Never => Some("cookie_secure(false)"),
                Secure::FromScheme { .. } => Some("cookie_secure_from_scheme()"),
            };
            if let Some(option) = unsecured {
                return Err(ConfigError::SameSiteNoneWithoutSecure { option });
            }
        }
        // The forwarded headers tell a cookie that follows the scheme whether the request
        // came over https, and a login the client's address; nothing else reads them.
        let headers_read =
            matches!(self.secure, Secure::FromScheme { .. }) || self.device.client_ip;
        if self.trust_forwarded && !headers_read {
            return Err(ConfigError::TrustForwardedUnused);
        }
        let preset_layout = self.compat.map(|compat| compat.preset().layout);
        if let Some(layout @ Layout::Json(_)) = self.store_layout {
            if preset_layout != Some(layout) {
                return Err(ConfigError::ForeignJsonLayout {
                    layout,
                    compat: self.compat,
                });
            }
        }
        // A preset's JSON document of a Node package holds no creation time: `outlived`
        // would never see one.
        if let (Some(compat), Some(_), Layout::Json(_)) =
            (self.compat, self.absolute_timeout, self.layout())
        {
            return Err(ConfigError::AbsoluteTimeoutWithCompat { compat });
        }
        Ok(())
    }

    /// What the cookie store refuses: keys too weak to encrypt with, and the options that
    /// only a server-side store honours.
    fn check_cookie_store(&self) -> Result<(), ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError::CookieStoreWithoutKeys);
        }
        // koa-session's cookie mode signs with the Koa app's keys, as the Redis presets
        // do: short ones by name (`check` follows), and keygrip's hash of choice.
        let koa = self.koa_cookie().is_some();
        match self.keys.first_short() {
            _ if koa => {}
            Some((index, 0)) => return Err(ConfigError::EmptyKey { index }),
            Some((index, len)) => return Err(ConfigError::ShortCookieStoreKey { index, len }),
            None => {}
        }
        let refused = self
            .store_only
            .iter()
            .find(|(option, _)| !(koa && *option == SIGNING_ALGORITHM));
        if let Some(&(option, reason)) = refused {
            return Err(ConfigError::NotWithCookieStore { option, reason });
        }
        if koa && self.ttl_called {
            return Err(ConfigError::NotWithCookieStore {
                option: "ttl",
                reason: "koa-session's cookie mode keeps the session's expiry in the cookie \
                         (_expire, from max_age), where Koa reads it too: set max_age",
            });
        }
        if self.id_transport != IdTransport::Cookie {
            return Err(ConfigError::NotWithCookieStore {
                option: "id_transport",
                reason: "the session travels in its cookie, and no header carries an id",
            });
        }
        Ok(())
    }

    /// The preset that keeps sessions in the cookie, if it was chosen.
    fn koa_cookie(&self) -> Option<Compat> {
        self.compat
            .filter(|compat| compat.keeps_sessions_in_the_cookie())
    }

    /// The layout sessions are stored in: the one asked for, else the preset's, else the
    /// field layout.
    fn layout(&self) -> Layout {
        self.store_layout
            .or_else(|| self.compat.map(|compat| compat.preset().layout))
            .unwrap_or_default()
    }

    /// The options, resolved; also what `test::TestSession` runs with.
    pub(crate) fn config(self) -> Config {
        let koa_cookie = self.cookie_store && self.koa_cookie().is_some();
        // The sealed cookie is the session whole: no id, so no signature cookie. koa's
        // cookie mode signs its value in `.sig`, which the settings then clear and make
        // room for as they do for an id's.
        let keygrip =
            Keygrip::new(&self.keys, self.algorithm).filter(|_| !self.cookie_store || koa_cookie);
        let sealed = (self.cookie_store && !koa_cookie)
            .then(|| CookieStore::sealed(&self.keys))
            .flatten();
        if keygrip.is_none() && sealed.is_none() {
            tracing::warn!("session cookies are not signed: no keys were given");
        }
        let index_names = match &self.index_secret {
            Some(secret) => IndexNames::configured(IndexSecret::new(secret)),
            None => IndexNames::default_for(self.keys.signing_key()),
        };
        let preset = self.compat.map(Compat::preset);
        let layout = self.layout();
        let key_prefix = match self.compat {
            Some(compat) => compat.key_prefix(self.key_prefix),
            None => self.key_prefix,
        };
        let inline = preset
            .as_ref()
            .filter(|preset| preset.inline_signature)
            .and_then(|_| InlineSigner::new(&self.keys));
        let ttl = match (self.ttl, &self.lifetime) {
            (Some(ttl), _) => ttl,
            (None, Lifetime::MaxAge(max_age)) => *max_age,
            (None, _) => DEFAULT_TTL,
        };
        let cookie = CookieSettings {
            sig_name: format!("{}.sig", self.cookie_name),
            name: self.cookie_name,
            lifetime: self.lifetime,
            path: self.path,
            domain: self.domain,
            http_only: self.http_only,
            secure: match self.secure {
                Secure::FromScheme { .. } => Secure::FromScheme {
                    trust_forwarded: self.trust_forwarded,
                },
                fixed => fixed,
            },
            same_site: self.same_site,
            keygrip,
            inline,
            id_format: preset.as_ref().map_or(IdFormat::default(), |p| p.id_format),
            overwrite: self.overwrite_handler_cookie,
        };
        // The envelope belongs to the Node document: the field layout keeps none.
        let envelope = match (&preset, layout) {
            (Some(preset), Layout::Json(_)) => preset.envelope.with(&cookie),
            _ => Envelope::Plain,
        };
        let cookie_store = match &cookie.keygrip {
            Some(keygrip) if koa_cookie => Some(CookieStore::koa(
                keygrip.clone(),
                envelope.clone(),
                &cookie.sig_name,
            )),
            _ => sealed,
        };
        Config {
            store: self.store,
            transport: Transport::new(self.id_transport, self.id_header, cookie),
            envelope,
            layout,
            ttl,
            ttl_policy: self.ttl_policy,
            key_prefix,
            index_names,
            commit_on_server_error: self.commit_on_server_error,
            absolute_timeout: self.absolute_timeout,
            save_uninitialized: self.save_uninitialized,
            fail_open: self.fail_open,
            max_session_size: self.max_session_size,
            max_sessions_per_index: self.max_sessions_per_index,
            device: DeviceRecording {
                trust_forwarded: self.trust_forwarded,
                ..self.device
            },
            hooks: self.hooks,
            cookie_store,
        }
    }
}

/// Refuses a [`max_session_size`](SessionMiddlewareBuilder::max_session_size) that the
/// cookie store's cookie could never hold, with its name and attributes.
fn check_cookie_room(config: &Config) -> Result<(), ConfigError> {
    let (Some(cookies), Some(limit)) = (&config.cookie_store, config.max_session_size) else {
        return Ok(());
    };
    let room = cookies.field_room(config.transport.cookie(), config.transport.lifetime());
    if limit > room {
        return Err(ConfigError::MaxSessionSizeOverCookie { limit, room });
    }
    Ok(())
}

/// Whether the cookie `name` starts with `prefix`, in any case.
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}
