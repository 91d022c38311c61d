//! The middleware's options and their builder.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::time::OffsetDateTime;

use crate::cookie::{CookieSettings, Lifetime};
use crate::middleware::SessionMiddleware;
use crate::signing::{Algorithm, Keygrip, Keys};
use crate::store::SessionStore;

pub use actix_web::cookie::SameSite;

/// When a session's time-to-live in the store is pushed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TtlPolicy {
    /// On every request that loads the session, inside the load's own round trip: an idle
    /// timeout. A persistent cookie is re-sent so the browser's expiry moves too.
    #[default]
    OnEveryAccess,
    /// Only when the session is written: reading never extends it.
    OnChange,
}

/// Everything the middleware needs, shared by every worker.
pub(crate) struct Config {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) cookie: CookieSettings,
    pub(crate) ttl: Duration,
    pub(crate) ttl_policy: TtlPolicy,
    pub(crate) key_prefix: String,
    pub(crate) commit_on_server_error: bool,
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
    secure: Option<bool>,
    same_site: SameSite,
    ttl: Option<Duration>,
    ttl_policy: TtlPolicy,
    key_prefix: String,
    commit_on_server_error: bool,
}

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
            secure: None,
            same_site: SameSite::Lax,
            ttl: None,
            ttl_policy: TtlPolicy::default(),
            key_prefix: "session:".to_owned(),
            commit_on_server_error: false,
        }
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

    /// A cookie that expires at a fixed moment (Koa's `expires`).
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

    /// Forces `Secure` on or off. Default: follow the request's scheme, so the cookie is
    /// `Secure` on https (as seen by actix, including `Forwarded` headers).
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.secure = Some(secure);
        self
    }

    /// `SameSite`. Default: `Lax`.
    pub fn cookie_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The hash behind cookie signatures. Default: SHA-256; use SHA-1 to share cookies
    /// with a Koa app that keeps keygrip's default.
    pub fn signing_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How long an unused session lives in the store. Default: the cookie's max-age when
    /// set, else 24 hours.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
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
        self
    }

    /// Whether changes are saved when the handler answered with a 5xx. Default: no, so a
    /// request that failed half-way leaves the session as it was.
    pub fn commit_on_server_error(mut self, commit: bool) -> Self {
        self.commit_on_server_error = commit;
        self
    }

    /// The middleware, ready to `wrap` an `App`.
    pub fn build(self) -> SessionMiddleware {
        SessionMiddleware::from_config(self.config())
    }

    /// The options, resolved; also what `test::TestSession` runs with.
    pub(crate) fn config(self) -> Config {
        let keygrip = Keygrip::new(&self.keys, self.algorithm);
        if keygrip.is_none() {
            tracing::warn!("session cookies are not signed: no keys were given");
        }
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
            secure: self.secure,
            same_site: self.same_site,
            keygrip,
        };
        Config {
            store: self.store,
            cookie,
            ttl,
            ttl_policy: self.ttl_policy,
            key_prefix: self.key_prefix,
            commit_on_server_error: self.commit_on_server_error,
        }
    }
}
