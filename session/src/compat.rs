//! Presets that share sessions with Node apps: the cookie, its signature, the id's shape,
//! the Redis key and the JSON document of each Node session package, so an actix app and
//! a Koa or Express app behind one domain can use the very same sessions.
//!
//! A preset sets builder options (cookie name, signing, key prefix, TTL policy) and two
//! things no option reaches: the [`Layout`] passed to the store with every call, and the
//! envelope, what the Node package keeps in the document beside the app's own keys
//! (koa-session's `_expire` and `_maxAge`, express-session's `cookie` object). The builder
//! resolves both once (see `envelope.rs`); no request looks at the preset.

use std::time::Duration;

use crate::config::TtlPolicy;
use crate::envelope::Wrapping;
use crate::id::IdFormat;
use crate::store::{JsonWrite, Layout};

/// A Node session package to share sessions with; pass it to
/// [`SessionMiddlewareBuilder::compat`](crate::SessionMiddlewareBuilder::compat).
///
/// Every preset stores the session as one JSON object, with the typed fields as top-level
/// keys (by their storage names, so `rename` picks the Node name), and keeps the keys the
/// struct does not know: in one Redis string (or another store's key), or, for
/// [`Compat::KoaSessionCookie`], in the cookie itself; unless
/// [`store_layout(Layout::Fields)`](crate::SessionMiddlewareBuilder::store_layout) keeps
/// only the preset's cookie, for an app that takes the Node app's users over. See
/// `docs/compat.md` for the exact wire formats and each package's traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compat {
    /// koa-session 6 or 7 with koa-redis 4: cookie `koa.sess` with a keygrip (SHA-1)
    /// `koa.sess.sig`, the id (a UUID) as the Redis key, `_expire` and `_maxAge` in the
    /// JSON, `SETEX` for the cookie's max-age plus 10 s. Writes only on change.
    KoaSession,
    /// koa-session before 6 with koa-redis: the same with the cookie named `koa:sess`.
    KoaSessionLegacy,
    /// koa2-session2-redis: cookie `koa:sid` (keygrip-signed when keys are given), key
    /// `SESSION:<id>` with an id of 48 hex characters, plain JSON, `SET ... EX`, a
    /// time-to-live of 1000 s (its default `maxAge` of 1 000 000 ms).
    Koa2Session2Redis,
    /// koa-session-redis3: cookie `koa:sess` (keygrip-signed), key `<keySchema>:<id>`
    /// (set the key schema with [`key_prefix`](crate::SessionMiddlewareBuilder::key_prefix);
    /// a `:` is added when it lacks one), plain compact JSON, `SET ... EX`.
    KoaSessionRedis3,
    /// express-session with connect-redis: cookie `connect.sid` holding
    /// `s:<id>.<HMAC-SHA256>` (percent-encoded), key `sess:<id>`, JSON with express's
    /// `cookie` object, `SET ... EX`, and `EXPIRE` when a read refreshes the session.
    ExpressSession,
    /// koa-session 6 or 7 without a store (its cookie mode), for the cookie store
    /// ([`builder_with_cookie_store`](crate::SessionMiddleware::builder_with_cookie_store)
    /// only): the whole session in the cookie `koa.sess` as base64 of its JSON, `_expire`
    /// and `_maxAge` included, signed by keygrip (SHA-1) in `koa.sess.sig`. Signed, not
    /// encrypted: the client can read its session.
    KoaSessionCookie,
}

/// The options a preset sets.
pub(crate) struct Preset {
    pub(crate) cookie_name: &'static str,
    pub(crate) key_prefix: &'static str,
    /// express-session's `s:` signature inside the cookie, instead of a `.sig` cookie.
    pub(crate) inline_signature: bool,
    pub(crate) id_format: IdFormat,
    pub(crate) layout: Layout,
    /// The document envelope, made with the cookie settings the builder ends up with.
    pub(crate) envelope: Wrapping,
    pub(crate) ttl_policy: TtlPolicy,
    pub(crate) ttl: Option<Duration>,
}

impl Compat {
    pub(crate) fn preset(self) -> Preset {
        let koa = |cookie_name| Preset {
            cookie_name,
            key_prefix: "",
            inline_signature: false,
            id_format: IdFormat::Uuid,
            layout: Layout::Json(JsonWrite::Setex),
            envelope: Wrapping::Koa,
            // koa-session saves only a changed session (no `rolling`, no `renew`), and
            // koa-redis' `get` leaves the time-to-live alone.
            ttl_policy: TtlPolicy::OnChange,
            ttl: None,
        };
        match self {
            // The layout and id shape go unused: the cookie store keeps no document and
            // koa-session's cookie mode no id.
            Compat::KoaSession | Compat::KoaSessionCookie => koa("koa.sess"),
            Compat::KoaSessionLegacy => koa("koa:sess"),
            Compat::Koa2Session2Redis => Preset {
                cookie_name: "koa:sid",
                key_prefix: "SESSION:",
                inline_signature: false,
                id_format: IdFormat::Hex48,
                layout: Layout::Json(JsonWrite::SetEx),
                envelope: Wrapping::Plain,
                ttl_policy: TtlPolicy::OnChange,
                ttl: Some(Duration::from_secs(1000)),
            },
            Compat::KoaSessionRedis3 => Preset {
                cookie_name: "koa:sess",
                key_prefix: "",
                inline_signature: false,
                id_format: IdFormat::Puid,
                layout: Layout::Json(JsonWrite::SetEx),
                envelope: Wrapping::Plain,
                ttl_policy: TtlPolicy::OnChange,
                ttl: None,
            },
            Compat::ExpressSession => Preset {
                cookie_name: "connect.sid",
                key_prefix: "sess:",
                inline_signature: true,
                id_format: IdFormat::Base64Url,
                layout: Layout::Json(JsonWrite::SetEx),
                envelope: Wrapping::Express,
                // express-session touches every session it loads: connect-redis `EXPIRE`s it.
                ttl_policy: TtlPolicy::OnEveryAccess,
                ttl: None,
            },
        }
    }

    /// Whether the preset keeps the whole session in the cookie, so it goes with the
    /// cookie store, and every other preset with a store on the server.
    pub(crate) fn keeps_sessions_in_the_cookie(self) -> bool {
        self == Compat::KoaSessionCookie
    }

    /// koa-session-redis3 adds a `:` to a key schema that lacks one.
    pub(crate) fn key_prefix(self, prefix: String) -> String {
        match self {
            Compat::KoaSessionRedis3 if !prefix.is_empty() && !prefix.ends_with(':') => {
                prefix + ":"
            }
            _ => prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_schema_gains_a_colon_only_for_koa_session_redis3() {
        let redis3 = Compat::KoaSessionRedis3;
        assert_eq!(redis3.key_prefix("app".into()), "app:");
        assert_eq!(redis3.key_prefix("app:".into()), "app:");
        assert_eq!(redis3.key_prefix(String::new()), "");
        assert_eq!(Compat::ExpressSession.key_prefix("app".into()), "app");
    }

    #[test]
    fn the_cookie_preset_goes_with_the_cookie_store_and_only_there() {
        use std::time::Duration;

        use crate::store::MemoryStore;
        use crate::{Algorithm, ConfigError, Keys, SessionMiddleware};

        let keys = || Keys::new(["koa app key"]).allow_short_keys();
        let cookie = Compat::KoaSessionCookie;
        let with_store = SessionMiddleware::builder(MemoryStore::new(), keys()).compat(cookie);
        assert_eq!(
            with_store.try_build().err(),
            Some(ConfigError::CookiePresetWithStore { compat: cookie })
        );
        let in_cookies = || SessionMiddleware::builder_with_cookie_store(keys()).compat(cookie);
        // The Koa app's keys, short by name, and its keygrip hash of choice.
        assert!(in_cookies().try_build().is_ok());
        assert!(in_cookies()
            .signing_algorithm(Algorithm::Sha256)
            .try_build()
            .is_ok());
        let unallowed = SessionMiddleware::builder_with_cookie_store(Keys::new(["koa app key"]))
            .compat(cookie)
            .try_build();
        assert!(
            matches!(
                unallowed.err(),
                Some(ConfigError::ShortKey { index: 0, .. })
            ),
            "short keys only by name"
        );
        let absolute = in_cookies().absolute_timeout(Duration::from_secs(60));
        assert_eq!(
            absolute.try_build().err(),
            Some(ConfigError::AbsoluteTimeoutWithCompat { compat: cookie })
        );
        let long = || Keys::new(["a cookie store key of at least 32 bytes"]);
        let store_preset =
            SessionMiddleware::builder_with_cookie_store(long()).compat(Compat::KoaSession);
        assert!(matches!(
            store_preset.try_build().err(),
            Some(ConfigError::NotWithCookieStore {
                option: "compat",
                ..
            })
        ));
        let still_sealed = SessionMiddleware::builder_with_cookie_store(long())
            .signing_algorithm(Algorithm::Sha1)
            .try_build();
        assert!(matches!(
            still_sealed.err(),
            Some(ConfigError::NotWithCookieStore { .. })
        ));
    }
}
