//! What a Node package keeps in the session document beside the app's keys, chosen once
//! when the middleware is built: nothing (this library's own format and the plain Node
//! presets), koa-session's `_expire` and `_maxAge`, or express-session's `cookie` object.
//! The load asks it whether a document says it has expired; the commit asks it what a
//! write adds and how long a document says its cookie lives. A store that moves Node
//! documents into the field layout (`MigratingStore`'s old format) asks it what is left
//! of a document without it.

use std::time::{Duration, SystemTime};

use actix_web::cookie::time::OffsetDateTime;
use actix_web::cookie::SameSite;
use serde_json::{json, Map, Value};

use crate::cookie::{CookieSettings, Lifetime, Secure};
use crate::store::time::{clamp_ttl, epoch_millis, millis, MAX_TTL};
use crate::store::Record;

/// koa-session's lifetime when none is configured, and what it then stores as `_maxAge`.
const KOA_DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// koa-session keeps the store's copy this much longer than the cookie.
const KOA_STORE_MARGIN: Duration = Duration::from_secs(10);
/// koa-session's flag on a session object, which it never stores.
const KOA_NEW_FLAG: &str = "isNew";

/// Which Node package's envelope a document carries, before the cookie settings a write
/// needs are known: what a preset names, and all a reader of documents needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrapping {
    /// Nothing beside the app's keys.
    Plain,
    /// koa-session's `_expire` and `_maxAge`.
    Koa,
    /// express-session's `cookie`.
    Express,
}

impl Wrapping {
    /// The envelope of documents written with cookies set as `cookie` says.
    pub(crate) fn with(self, cookie: &CookieSettings) -> Envelope {
        match self {
            Wrapping::Plain => Envelope::Plain,
            Wrapping::Koa => Envelope::koa(cookie),
            Wrapping::Express => Envelope::express(cookie),
        }
    }

    /// The keys the envelope owns in a document: the ones it keeps there, and koa's
    /// `isNew`, which every write removes.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Wrapping::Plain => &[],
            // `_session`: koa-session's `maxAge: 'session'`, in place of the other two.
            Wrapping::Koa => &["_expire", "_maxAge", "_session", KOA_NEW_FLAG],
            Wrapping::Express => &["cookie"],
        }
    }

    /// Whether a document is over by its own account: koa-session's `_expire` in the
    /// past.
    fn has_expired(self, record: &Record) -> bool {
        self == Wrapping::Koa && koa_expired(record, SystemTime::now())
    }

    /// A document loaded from a Node package's store as a session of the field layout:
    /// the app's keys (and keys nobody here knows) as fields, without the envelope, living
    /// as long as the document had left (koa-session's `_expire`, else the store's
    /// time-to-live), with no creation time and no snapshot. `None` for a document that
    /// has expired by its own account.
    pub(crate) fn unwrapped(self, mut record: Record) -> Option<Record> {
        if self.has_expired(&record) {
            return None;
        }
        let stated = match self {
            Wrapping::Koa => koa_time_left(&record, SystemTime::now()),
            Wrapping::Plain | Wrapping::Express => None,
        };
        record.ttl = match (record.ttl, stated) {
            (Some(store), Some(stated)) => Some(store.min(stated)),
            (store, stated) => store.or(stated),
        };
        record
            .fields
            .retain(|name, _| !self.keys().contains(&name.as_str()));
        record.created_at = None;
        record.refreshed = false;
        record.snapshot = None;
        Some(record)
    }
}

/// The document envelope, resolved with the cookie settings it depends on.
#[derive(Debug, Clone)]
pub(crate) enum Envelope {
    /// Nothing: the document is the app's keys.
    Plain,
    /// koa-session: `_expire` (ms since the epoch) and `_maxAge` (ms); `max_age` is what a
    /// new session stores, the configured max-age or koa-session's default.
    Koa { max_age: Duration },
    /// express-session: the `cookie` object.
    Express(ExpressCookie),
}

/// What the keys and time-to-live of one write gain from the envelope.
pub(crate) struct Wrapped {
    /// Keys the write removes from the document.
    pub(crate) remove: Vec<String>,
    /// The time-to-live the write asks for.
    pub(crate) ttl: Duration,
}

impl Envelope {
    /// koa-session's envelope for cookies set as `cookie` says.
    fn koa(cookie: &CookieSettings) -> Self {
        let max_age = match cookie.lifetime {
            Lifetime::MaxAge(max_age) => max_age,
            _ => KOA_DEFAULT_MAX_AGE,
        };
        Envelope::Koa { max_age }
    }

    /// express-session's envelope for cookies set as `cookie` says.
    fn express(cookie: &CookieSettings) -> Self {
        Envelope::Express(ExpressCookie::new(cookie))
    }

    /// Whether a new document states whether the request that created it gets `Secure`
    /// cookies: express's under a cookie that follows the scheme.
    pub(crate) fn states_secure(&self) -> bool {
        matches!(self, Envelope::Express(cookie) if cookie.follows_scheme)
    }

    fn wrapping(&self) -> Wrapping {
        match self {
            Envelope::Plain => Wrapping::Plain,
            Envelope::Koa { .. } => Wrapping::Koa,
            Envelope::Express(_) => Wrapping::Express,
        }
    }

    /// Whether `field` is a key the Node package keeps for itself beside the app's data
    /// (`cookie` for express-session; `_expire`, `_maxAge`, `_session`, `isNew` for
    /// koa-session): every write puts the envelope there or removes the key, so a session
    /// field of that name would never keep what the app set.
    pub(crate) fn keeps_key(&self, field: &str) -> bool {
        self.wrapping().keys().contains(&field)
    }

    /// Puts the envelope into the fields `set` of one write and says what else the write
    /// does: the keys it removes and its time-to-live (`ttl` for a plain document).
    /// `stored` is the session as loaded (for an update or a renewal), `None` for a new
    /// one. `secure`: whether the request behind the write gets `Secure` cookies, when
    /// there is one; a new express document under a cookie that follows the scheme states
    /// it, as express's `secure: 'auto'` does.
    pub(crate) fn wrap(
        &self,
        set: &mut Vec<(String, Vec<u8>)>,
        stored: Option<&Record>,
        ttl: Duration,
        secure: Option<bool>,
    ) -> Wrapped {
        let mut remove = Vec::new();
        if let Envelope::Plain = self {
            return Wrapped { remove, ttl };
        }
        // A renewal carries the stored envelope among its fields: the fresh one replaces it.
        let envelope_keys = self.wrapping().keys();
        set.retain(|(name, _)| !envelope_keys.contains(&name.as_str()));
        let now = SystemTime::now();
        let ttl = match self {
            Envelope::Plain => ttl,
            Envelope::Koa { max_age } => {
                let max_age = koa_max_age(stored).unwrap_or(*max_age);
                if stored.is_some_and(koa_browser_session) {
                    // koa-session's `maxAge: 'session'`: it restores that from the marker and
                    // writes the marker back, with no `_expire` (koa-session's cookie mode;
                    // koa-redis cannot store such sessions at all).
                    set.push(("_session".to_owned(), b"true".to_vec()));
                    remove.extend(["_expire".to_owned(), "_maxAge".to_owned()]);
                } else {
                    let expire = epoch_millis(now).saturating_add(millis(max_age));
                    set.push(("_expire".to_owned(), expire.to_string().into_bytes()));
                    set.push((
                        "_maxAge".to_owned(),
                        millis(max_age).to_string().into_bytes(),
                    ));
                    remove.push("_session".to_owned());
                }
                remove.push(KOA_NEW_FLAG.to_owned());
                // Clamped as `_maxAge` is: `Duration::MAX` plus the margin would overflow.
                clamp_ttl(max_age) + KOA_STORE_MARGIN
            }
            Envelope::Express(express) => {
                let cookie = express.touched(stored, now, secure);
                let stored_ttl = match cookie.get("expires") {
                    // connect-redis: the time left until `cookie.expires`, else its `ttl`.
                    Some(_) => cookie
                        .get("originalMaxAge")
                        .and_then(Value::as_f64)
                        .and_then(positive_millis)
                        .unwrap_or(ttl),
                    None => ttl,
                };
                let encoded = Value::Object(cookie).to_string().into_bytes();
                // First, where express-session puts it in a session it creates.
                set.insert(0, ("cookie".to_owned(), encoded));
                stored_ttl
            }
        };
        Wrapped { remove, ttl }
    }

    /// Whether a loaded session is over by its own account: koa-session's `_expire` in the
    /// past. The request then goes on with a fresh session, as on Node.
    pub(crate) fn has_expired(&self, record: &Record) -> bool {
        self.wrapping().has_expired(record)
    }

    /// The cookie lifetime a session's document states (koa-session's `_maxAge` or
    /// `_session`, express's `cookie.originalMaxAge`); `None` when it states none.
    pub(crate) fn stored_lifetime(&self, record: &Record) -> Option<Lifetime> {
        match self {
            Envelope::Plain => None,
            Envelope::Koa { .. } if koa_browser_session(record) => Some(Lifetime::BrowserSession),
            Envelope::Koa { .. } => koa_max_age(Some(record)).map(Lifetime::MaxAge),
            Envelope::Express(_) => {
                let cookie = stored_cookie(record)?;
                match cookie.get("originalMaxAge")? {
                    Value::Null => Some(Lifetime::BrowserSession),
                    value => value
                        .as_f64()
                        .and_then(positive_millis)
                        .map(Lifetime::MaxAge),
                }
            }
        }
    }
}

/// express-session's `cookie` object for a new session, worked out from the cookie
/// settings once: only `originalMaxAge` of a fixed expiry moves with the clock.
#[derive(Debug, Clone)]
pub(crate) struct ExpressCookie {
    lifetime: Lifetime,
    /// `Secure` follows the request's scheme: a new document states the scheme of the
    /// request that created it.
    follows_scheme: bool,
    /// The keys after `originalMaxAge` and `expires`, in express's order.
    attributes: Map<String, Value>,
}

impl ExpressCookie {
    fn new(settings: &CookieSettings) -> Self {
        let mut attributes = Map::new();
        // `secure: true` for cookies that are always `Secure`, as express stores it; a
        // cookie that follows the scheme gets the creating request's (`fresh`).
        if settings.secure == Secure::Always {
            attributes.insert("secure".to_owned(), json!(true));
        }
        attributes.insert("httpOnly".to_owned(), json!(settings.http_only));
        if let Some(domain) = &settings.domain {
            attributes.insert("domain".to_owned(), json!(domain));
        }
        attributes.insert("path".to_owned(), json!(settings.path));
        let same_site = match settings.same_site {
            SameSite::Strict => "strict",
            SameSite::Lax => "lax",
            SameSite::None => "none",
        };
        attributes.insert("sameSite".to_owned(), json!(same_site));
        Self {
            lifetime: settings.lifetime,
            follows_scheme: matches!(settings.secure, Secure::FromScheme { .. }),
            attributes,
        }
    }

    /// The stored object with `expires` moved to now plus `originalMaxAge` (what
    /// express's `touch()` does), or a new one, with the keys in express's order.
    fn touched(
        &self,
        stored: Option<&Record>,
        now: SystemTime,
        secure: Option<bool>,
    ) -> Map<String, Value> {
        let mut cookie = stored
            .and_then(stored_cookie)
            .unwrap_or_else(|| self.fresh(now, secure));
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

    /// A new object; `secure` is the creating request's, stated when the cookie follows
    /// the scheme (express's `secure: 'auto'` keeps it for the session's life).
    fn fresh(&self, now: SystemTime, secure: Option<bool>) -> Map<String, Value> {
        let max_age = match self.lifetime {
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
        // `expires` goes here, filled in by `touched`.
        cookie.insert("expires".to_owned(), Value::Null);
        if let Some(secure) = secure.filter(|_| self.follows_scheme) {
            cookie.insert("secure".to_owned(), json!(secure));
        }
        cookie.extend(self.attributes.clone());
        cookie
    }
}

/// The stored `_maxAge`, when it is a usable number of milliseconds.
fn koa_max_age(record: Option<&Record>) -> Option<Duration> {
    stored_number(record?, "_maxAge").and_then(positive_millis)
}

/// Whether a koa-session document is marked `_session` (`maxAge: 'session'`): koa-session
/// looks for the key, whatever its value.
fn koa_browser_session(record: &Record) -> bool {
    record.fields.contains_key("_session")
}

/// Whether a koa-session document's `_expire` has passed at `now`. Only a number counts,
/// as koa-session checks `typeof _expire === 'number'`.
pub(crate) fn koa_expired(record: &Record, now: SystemTime) -> bool {
    stored_number(record, "_expire").is_some_and(|expire| expire < epoch_millis(now) as f64)
}

/// How long a koa-session document has left by its `_expire`; `None` when it states no
/// such moment or the moment has come.
pub(crate) fn koa_time_left(record: &Record, now: SystemTime) -> Option<Duration> {
    let expire = stored_number(record, "_expire")?;
    positive_millis(expire - epoch_millis(now) as f64)
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
    fn stored_lifetimes_of_any_size_are_read_without_a_panic() {
        assert_eq!(positive_millis(1500.0), Some(Duration::from_millis(1500)));
        assert_eq!(positive_millis(1e300), Some(MAX_TTL));
        assert_eq!(positive_millis(f64::MAX), Some(MAX_TTL));
        for nothing in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(positive_millis(nothing), None, "{nothing}");
        }
    }

    fn settings(secure: Secure) -> CookieSettings {
        CookieSettings {
            name: "connect.sid".to_owned(),
            sig_name: "connect.sid.sig".to_owned(),
            lifetime: Lifetime::BrowserSession,
            path: "/".to_owned(),
            domain: None,
            http_only: true,
            secure,
            same_site: SameSite::Lax,
            keygrip: None,
            inline: None,
            id_format: crate::id::IdFormat::default(),
            overwrite: true,
        }
    }

    #[test]
    fn the_express_cookie_states_secure_as_express_does() {
        let stored_secure = |secure, request: Option<bool>| {
            let mut set = Vec::new();
            let envelope = Envelope::express(&settings(secure));
            envelope.wrap(&mut set, None, Duration::from_secs(60), request);
            let cookie: Map<String, Value> = serde_json::from_slice(&set[0].1).unwrap();
            let keys: Vec<String> = cookie.keys().cloned().collect();
            (cookie.get("secure").cloned(), keys)
        };
        for request in [None, Some(false), Some(true)] {
            assert_eq!(stored_secure(Secure::Always, request).0, Some(json!(true)));
            assert_eq!(stored_secure(Secure::Never, request).0, None);
        }
        for trust_forwarded in [false, true] {
            let follows = Secure::FromScheme { trust_forwarded };
            // As `secure: 'auto'`: the scheme of the request that created the session.
            assert_eq!(stored_secure(follows, Some(true)).0, Some(json!(true)));
            assert_eq!(stored_secure(follows, Some(false)).0, Some(json!(false)));
            assert_eq!(
                stored_secure(follows, None).0,
                None,
                "no request, nothing stated"
            );
            assert_eq!(
                stored_secure(follows, Some(true)).1[..3],
                ["originalMaxAge", "secure", "httpOnly"],
                "express's order (a browser-session cookie has no `expires`)"
            );
        }
    }

    fn document(pairs: &[(&str, &str)], ttl: Option<Duration>) -> Record {
        Record {
            fields: pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
                .collect(),
            created_at: None,
            ttl,
            refreshed: true,
            snapshot: Some(crate::store::Snapshot::new(b"{}".to_vec())),
        }
    }

    fn names(record: &Record) -> Vec<&str> {
        let mut names: Vec<&str> = record.fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn a_koa_document_unwrapped_keeps_the_apps_keys_and_the_time_its_expire_leaves() {
        let expire = (epoch_millis(SystemTime::now()) + 30_000).to_string();
        let doc = document(
            &[
                ("user", "\"ann\""),
                ("_expire", &expire),
                ("_maxAge", "86400000"),
                ("_session", "true"),
                ("cookie", "{}"),
            ],
            Some(Duration::from_secs(86_410)),
        );
        let record = Wrapping::Koa.unwrapped(doc).unwrap();
        assert_eq!(
            names(&record),
            ["cookie", "user"],
            "an app key named cookie stays"
        );
        let ttl = record.ttl.unwrap();
        assert!(
            ttl <= Duration::from_secs(30) && ttl > Duration::from_secs(25),
            "{ttl:?}"
        );
        assert_eq!((record.refreshed, record.snapshot), (false, None));

        let past = (epoch_millis(SystemTime::now()) - 1).to_string();
        let expired = document(&[("_expire", &past)], Some(Duration::from_secs(10)));
        assert!(Wrapping::Koa.unwrapped(expired).is_none());
        // A stated expiry past the store's keeps the store's; a broken one states none.
        let later = (epoch_millis(SystemTime::now()) + 3_600_000).to_string();
        let short = document(&[("_expire", &later)], Some(Duration::from_secs(5)));
        assert_eq!(
            Wrapping::Koa.unwrapped(short).unwrap().ttl,
            Some(Duration::from_secs(5))
        );
        for broken in ["\"x\"", "1e999", "null", "{"] {
            let doc = document(&[("_expire", broken)], None);
            assert_eq!(Wrapping::Koa.unwrapped(doc).unwrap().ttl, None, "{broken}");
        }
    }

    #[test]
    fn an_express_document_unwrapped_loses_its_cookie_and_keeps_the_stores_ttl() {
        let ttl = Some(Duration::from_secs(99));
        let doc = document(
            &[("cookie", "{\"originalMaxAge\":1}"), ("_expire", "1")],
            ttl,
        );
        let record = Wrapping::Express.unwrapped(doc).unwrap();
        assert_eq!(names(&record), ["_expire"]);
        assert_eq!(record.ttl, ttl);
    }

    #[test]
    fn a_koa_max_age_of_any_size_is_written_without_a_panic() {
        let koa = Envelope::Koa {
            max_age: Duration::MAX,
        };
        let mut set = Vec::new();
        let wrapped = koa.wrap(&mut set, None, Duration::from_secs(60), None);
        assert_eq!(wrapped.ttl, MAX_TTL + KOA_STORE_MARGIN);
        let max_age = set
            .iter()
            .find(|(name, _)| name == "_maxAge")
            .map(|(_, v)| v);
        assert_eq!(max_age, Some(&millis(MAX_TTL).to_string().into_bytes()));
    }
}
