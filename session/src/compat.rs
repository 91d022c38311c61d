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
/// Every preset stores the session as one JSON object in one Redis string, with the typed
/// fields as top-level keys (by their storage names, so `rename` picks the Node name), and
/// keeps the keys the struct does not know; unless
/// [`store_layout(Layout::Fields)`](crate::SessionMiddlewareBuilder::store_layout) keeps
/// only the preset's cookie, for an app that takes the Node app's users over. See `docs/compat.md` for the exact wire
/// formats and each package's traps.
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
            Compat::KoaSession => koa("koa.sess"),
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
}
