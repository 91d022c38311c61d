//! Presets that share sessions with Node apps: the cookie, its signature, the id's shape,
//! the Redis key and the JSON document of each Node session package, so an actix app and
//! a Koa or Express app behind one domain can use the very same sessions.
//!
//! A preset sets builder options (cookie name, signing, key prefix, TTL policy) and two
//! things no option reaches: the [`Layout`] passed to the store with every call, and the
//! envelope, what the Node package keeps in the document beside the app's own keys
//! (koa-session's `_expire` and `_maxAge`, express-session's `cookie` object).

use std::time::{Duration, SystemTime};

use actix_web::cookie::time::OffsetDateTime;
use actix_web::cookie::SameSite;
use serde_json::{json, Map, Value};

use crate::config::{Config, TtlPolicy};
use crate::cookie::Lifetime;
use crate::id::IdFormat;
use crate::store::time::{epoch_millis, millis, MAX_TTL};
use crate::store::{ChangeSet, IndexMoves, JsonWrite, Layout, Record, WriteMode};

/// A Node session package to share sessions with; pass it to
/// [`SessionMiddlewareBuilder::compat`](crate::SessionMiddlewareBuilder::compat).
///
/// Every preset stores the session as one JSON object in one Redis string, with the typed
/// fields as top-level keys (by their storage names, so `rename` picks the Node name), and
/// keeps the keys the struct does not know. See `docs/compat.md` for the exact wire
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

/// What a Node package keeps in the session document beside the app's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Envelope {
    /// Nothing: the document is the app's keys.
    #[default]
    Plain,
    /// koa-session: `_expire` (ms since the epoch) and `_maxAge` (ms).
    Koa,
    /// express-session: the `cookie` object.
    Express,
}

/// The options a preset sets.
pub(crate) struct Preset {
    pub(crate) cookie_name: &'static str,
    pub(crate) key_prefix: &'static str,
    /// express-session's `s:` signature inside the cookie, instead of a `.sig` cookie.
    pub(crate) inline_signature: bool,
    pub(crate) id_format: IdFormat,
    pub(crate) layout: Layout,
    pub(crate) envelope: Envelope,
    pub(crate) ttl_policy: TtlPolicy,
    pub(crate) ttl: Option<Duration>,
}

/// koa-session's lifetime when none is configured, and what it then stores as `_maxAge`.
const KOA_DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// koa-session keeps the store's copy this much longer than the cookie.
const KOA_STORE_MARGIN: Duration = Duration::from_secs(10);

impl Compat {
    pub(crate) fn preset(self) -> Preset {
        let koa = |cookie_name| Preset {
            cookie_name,
            key_prefix: "",
            inline_signature: false,
            id_format: IdFormat::Uuid,
            layout: Layout::Json(JsonWrite::Setex),
            envelope: Envelope::Koa,
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
                envelope: Envelope::Plain,
                ttl_policy: TtlPolicy::OnChange,
                ttl: Some(Duration::from_secs(1000)),
            },
            Compat::KoaSessionRedis3 => Preset {
                cookie_name: "koa:sess",
                key_prefix: "",
                inline_signature: false,
                id_format: IdFormat::Puid,
                layout: Layout::Json(JsonWrite::SetEx),
                envelope: Envelope::Plain,
                ttl_policy: TtlPolicy::OnChange,
                ttl: None,
            },
            Compat::ExpressSession => Preset {
                cookie_name: "connect.sid",
                key_prefix: "sess:",
                inline_signature: true,
                id_format: IdFormat::Base64Url,
                layout: Layout::Json(JsonWrite::SetEx),
                envelope: Envelope::Express,
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

impl Config {
    /// The change set for one write: the typed fields' `set`, what the envelope adds, the
    /// time-to-live it asks for, and the layout. `stored` is the session as loaded (for an
    /// update or a renewal), `None` for a new one.
    pub(crate) fn change_set(
        &self,
        mode: WriteMode,
        mut set: Vec<(String, Vec<u8>)>,
        stored: Option<&Record>,
    ) -> ChangeSet {
        let mut remove = Vec::new();
        let now = SystemTime::now();
        // A renewal carries the stored envelope among its fields: the fresh one replaces it.
        let envelope_keys: &[&str] = match self.envelope {
            Envelope::Plain => &[],
            Envelope::Koa => &["_expire", "_maxAge"],
            Envelope::Express => &["cookie"],
        };
        set.retain(|(name, _)| !envelope_keys.contains(&name.as_str()));
        let ttl = match self.envelope {
            Envelope::Plain => self.ttl,
            Envelope::Koa => {
                let max_age = koa_max_age(stored).unwrap_or(match self.cookie.lifetime {
                    Lifetime::MaxAge(max_age) => max_age,
                    _ => KOA_DEFAULT_MAX_AGE,
                });
                let expire = epoch_millis(now).saturating_add(millis(max_age));
                set.push(("_expire".to_owned(), expire.to_string().into_bytes()));
                set.push((
                    "_maxAge".to_owned(),
                    millis(max_age).to_string().into_bytes(),
                ));
                // koa-session's own markers: never stored by koa-redis sessions.
                remove.extend(["isNew".to_owned(), "_session".to_owned()]);
                max_age + KOA_STORE_MARGIN
            }
            Envelope::Express => {
                let cookie = self.express_cookie(stored, now);
                let ttl = match cookie.get("expires") {
                    // connect-redis: the time left until `cookie.expires`, else its `ttl`.
                    Some(_) => cookie
                        .get("originalMaxAge")
                        .and_then(Value::as_f64)
                        .and_then(positive_millis)
                        .unwrap_or(self.ttl),
                    None => self.ttl,
                };
                let encoded = Value::Object(cookie).to_string().into_bytes();
                // First, where express-session puts it in a session it creates.
                set.insert(0, ("cookie".to_owned(), encoded));
                ttl
            }
        };
        // Under `OnEveryAccess` a load that found the session always set the configured
        // time-to-live, and an update that keeps it owes no more. Not under `WhenLessThan`,
        // where `refreshed` also stands for "may have refreshed" after a retried load
        // (`redis_hash_load.rs`), and the write's own refresh is the one that counts.
        let ttl_current = matches!(mode, WriteMode::Update { .. })
            && self.ttl_policy == TtlPolicy::OnEveryAccess
            && stored.is_some_and(|record| record.refreshed)
            && ttl == self.ttl;
        ChangeSet {
            mode,
            set,
            remove,
            ttl,
            ttl_current,
            layout: self.layout,
            base: stored.and_then(|record| record.snapshot.clone()),
            index: IndexMoves::default(),
        }
    }

    /// Whether a loaded session is over by its own account: koa-session's `_expire` in the
    /// past. The request then goes on with a fresh session, as on Node.
    pub(crate) fn has_expired(&self, record: &Record) -> bool {
        self.envelope == Envelope::Koa
            && stored_number(record, "_expire")
                .is_some_and(|expire| expire < epoch_millis(SystemTime::now()) as f64)
    }

    /// The cookie lifetime of a session: what its document says (koa-session's `_maxAge`
    /// or `_session`, express's `cookie.originalMaxAge`), else the configured one.
    pub(crate) fn lifetime_for(&self, record: Option<&Record>) -> Lifetime {
        let stored = record.and_then(|record| match self.envelope {
            Envelope::Plain => None,
            Envelope::Koa if record.fields.contains_key("_session") => {
                Some(Lifetime::BrowserSession)
            }
            Envelope::Koa => koa_max_age(Some(record)).map(Lifetime::MaxAge),
            Envelope::Express => {
                let cookie = stored_cookie(record)?;
                match cookie.get("originalMaxAge")? {
                    Value::Null => Some(Lifetime::BrowserSession),
                    value => value
                        .as_f64()
                        .and_then(positive_millis)
                        .map(Lifetime::MaxAge),
                }
            }
        });
        stored.unwrap_or(self.cookie.lifetime)
    }

    /// express-session's `cookie` object: the stored one with `expires` moved to now plus
    /// `originalMaxAge` (what express's `touch()` does), or a new one from the cookie
    /// settings, with the keys in express's order.
    fn express_cookie(&self, stored: Option<&Record>, now: SystemTime) -> Map<String, Value> {
        let mut cookie = stored
            .and_then(stored_cookie)
            .unwrap_or_else(|| self.new_express_cookie(now));
        let max_age = cookie
            .get("originalMaxAge")
            .and_then(Value::as_f64)
            .and_then(positive_millis);
        match max_age {
            Some(max_age) => {
                cookie.insert("expires".to_owned(), json!(iso_8601(now + max_age)));
            }
            None => {
                cookie.shift_remove("expires");
            }
        }
        cookie
    }

    fn new_express_cookie(&self, now: SystemTime) -> Map<String, Value> {
        let settings = &self.cookie;
        let max_age = match settings.lifetime {
            Lifetime::BrowserSession => None,
            Lifetime::MaxAge(max_age) => Some(max_age),
            Lifetime::Expires(at) => {
                Some(Duration::try_from(at - OffsetDateTime::from(now)).unwrap_or(Duration::ZERO))
            }
        };
        let mut cookie = Map::new();
        cookie.insert(
            "originalMaxAge".to_owned(),
            max_age.map_or(Value::Null, |max_age| json!(millis(max_age))),
        );
        // `expires` goes here, filled in by `express_cookie`.
        cookie.insert("expires".to_owned(), Value::Null);
        if settings.secure == Some(true) {
            cookie.insert("secure".to_owned(), json!(true));
        }
        cookie.insert("httpOnly".to_owned(), json!(settings.http_only));
        if let Some(domain) = &settings.domain {
            cookie.insert("domain".to_owned(), json!(domain));
        }
        cookie.insert("path".to_owned(), json!(settings.path));
        let same_site = match settings.same_site {
            SameSite::Strict => "strict",
            SameSite::Lax => "lax",
            SameSite::None => "none",
        };
        cookie.insert("sameSite".to_owned(), json!(same_site));
        cookie
    }
}

/// The stored `_maxAge`, when it is a usable number of milliseconds.
fn koa_max_age(record: Option<&Record>) -> Option<Duration> {
    stored_number(record?, "_maxAge").and_then(positive_millis)
}

/// express-session's stored `cookie` object, when it is one.
fn stored_cookie(record: &Record) -> Option<Map<String, Value>> {
    serde_json::from_slice(record.fields.get("cookie")?).ok()
}

fn stored_number(record: &Record, name: &str) -> Option<f64> {
    serde_json::from_slice::<f64>(record.fields.get(name)?).ok()
}

fn positive_millis(ms: f64) -> Option<Duration> {
    // A stored lifetime past what a Duration holds (`1e300`) is as good as forever; the
    // panicking `from_secs_f64` would take the worker down with it (found by fuzzing).
    (ms.is_finite() && ms > 0.0).then(|| {
        Duration::try_from_secs_f64(ms / 1000.0).map_or(MAX_TTL, |lifetime| lifetime.min(MAX_TTL))
    })
}

/// `Date.prototype.toISOString()`: `2026-11-22T09:30:00.000Z`.
fn iso_8601(time: SystemTime) -> String {
    let at = OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn iso_dates_look_like_javascripts() {
        let at = UNIX_EPOCH + Duration::from_millis(1_795_339_800_123);
        assert_eq!(iso_8601(at), "2026-11-22T09:30:00.123Z");
        assert_eq!(iso_8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_key_schema_gains_a_colon_only_for_koa_session_redis3() {
        let redis3 = Compat::KoaSessionRedis3;
        assert_eq!(redis3.key_prefix("app".into()), "app:");
        assert_eq!(redis3.key_prefix("app:".into()), "app:");
        assert_eq!(redis3.key_prefix(String::new()), "");
        assert_eq!(Compat::ExpressSession.key_prefix("app".into()), "app");
    }

    #[test]
    fn stored_lifetimes_of_any_size_are_read_without_a_panic() {
        assert_eq!(positive_millis(1500.0), Some(Duration::from_millis(1500)));
        assert_eq!(positive_millis(1e300), Some(MAX_TTL));
        assert_eq!(positive_millis(f64::MAX), Some(MAX_TTL));
        for nothing in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(positive_millis(nothing), None, "{nothing}");
        }
    }
}
