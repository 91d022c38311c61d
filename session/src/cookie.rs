//! Reading the session id from a request's cookies and writing it back.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use actix_web::cookie::time::{self, OffsetDateTime};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use actix_web::web::Bytes;
use actix_web::HttpRequest;

use crate::id::{IdFormat, SessionId};
use crate::signing::{InlineSigner, Keygrip, Verified};

/// Longer cookie values are rejected before any work: far above any id or signature we
/// issue, far below what would make hashing them cost anything.
const MAX_VALUE_LEN: usize = 256;

/// How long the browser keeps the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    BrowserSession,
    MaxAge(Duration),
    Expires(OffsetDateTime),
}

/// When cookies get the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secure {
    /// Always: the default. Browsers also keep `Secure` cookies from `http://localhost`
    /// and `http://127.0.0.1`, so local development over plain http works.
    Always,
    /// Never: a deployment served over plain http.
    Never,
    /// When the request came over https. `trust_forwarded`: as the proxy's `Forwarded` or
    /// `X-Forwarded-Proto` says; otherwise as the connection itself (TLS, or an absolute
    /// https URI), since any client can send those headers.
    FromScheme { trust_forwarded: bool },
}

/// The cookie half of the configuration.
pub(crate) struct CookieSettings {
    pub(crate) name: String,
    pub(crate) sig_name: String,
    pub(crate) lifetime: Lifetime,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) http_only: bool,
    pub(crate) secure: Secure,
    pub(crate) same_site: SameSite,
    /// Signs with a `.sig` cookie (Koa), unless `inline` is set.
    pub(crate) keygrip: Option<Keygrip>,
    /// Signs inside the value, `s:<id>.<signature>` (express-session).
    pub(crate) inline: Option<InlineSigner>,
    /// What a valid id looks like.
    pub(crate) id_format: IdFormat,
    /// Whether the session cookies replace cookies of the same names that the handler set
    /// on the response (koa's `overwrite`), or give way to them.
    pub(crate) overwrite: bool,
}

/// The id a request carried, once it passed every check.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    pub(crate) id: SessionId,
    /// Verified by an older key: the response should carry a fresh signature.
    pub(crate) resign: bool,
}

impl Inbound {
    /// The id `value` that the cookie or header `name` carried, if it has the shape of
    /// `format` and, when ids are signed (`keygrip`), the keygrip signature that
    /// `signature` finds verifies `name=value`. The signature is looked up only for an id
    /// of the right shape.
    pub(crate) fn check<S: AsRef<str>>(
        name: &str,
        value: &str,
        signature: impl FnOnce() -> Option<S>,
        keygrip: Option<&Keygrip>,
        format: IdFormat,
    ) -> Option<Self> {
        let id = SessionId::parse_as(value, format)?;
        let resign = match keygrip {
            None => false,
            Some(keygrip) => {
                keygrip.verify_pair(name, value, signature()?.as_ref())? == Verified::Rotated
            }
        };
        Some(Self { id, resign })
    }
}

impl CookieSettings {
    /// The verified session id of `req`, or `None` for anything missing, oversized,
    /// malformed, unsigned or forged: all of them simply mean "no session".
    pub(crate) fn read(&self, req: &HttpRequest) -> Option<Inbound> {
        let value = cookie_value(req, &self.name)?;
        if let Some(inline) = &self.inline {
            let (id, verified) = inline.unsign(&value)?;
            return Some(Inbound {
                id: SessionId::parse_as(id, self.id_format)?,
                resign: verified == Verified::Rotated,
            });
        }
        let signature = || cookie_value(req, &self.sig_name);
        Inbound::check(
            &self.name,
            &value,
            signature,
            self.keygrip.as_ref(),
            self.id_format,
        )
    }

    /// The cookies that hand `id` to the client for `lifetime`: the id and, when signing
    /// with keygrip, its signature. They borrow the settings' names, path and domain.
    pub(crate) fn issue<'a>(
        &'a self,
        id: &'a SessionId,
        secure: bool,
        lifetime: Lifetime,
    ) -> Vec<Cookie<'a>> {
        if let Some(inline) = &self.inline {
            // As express writes it: encodeURIComponent, so `s:` goes out as `s%3A`.
            let value = encode_uri_component(&inline.sign(id.as_str()));
            return vec![self.build(&self.name, value.into(), secure, lifetime)];
        }
        let value = id.as_str();
        let mut cookies = Vec::with_capacity(2);
        cookies.push(self.build(&self.name, value.into(), secure, lifetime));
        if let Some(keygrip) = &self.keygrip {
            let signature = keygrip.sign_pair(&self.name, value);
            cookies.push(self.build(&self.sig_name, signature.into(), secure, lifetime));
        }
        cookies
    }

    /// The cookies of a cookie store's session (`cookie_store.rs`): each name and
    /// value as the codec made them, with this cookie's attributes.
    pub(crate) fn carry<'a>(
        &'a self,
        cookies: &'a [(String, String)],
        secure: bool,
        lifetime: Lifetime,
    ) -> Vec<Cookie<'a>> {
        cookies
            .iter()
            .map(|(name, value)| self.build(name, value.as_str().into(), secure, lifetime))
            .collect()
    }

    /// The length of the `Set-Cookie` line of cookie `name` holding `value` for
    /// `lifetime`, with every attribute (`Secure` counted, the longest case): what a
    /// browser must keep of it.
    pub(crate) fn set_cookie_len(&self, name: &str, value: &str, lifetime: Lifetime) -> usize {
        self.build(name, value.into(), true, lifetime)
            .to_string()
            .len()
    }

    /// Cookies that make the client forget the session, with the same path and domain
    /// as the ones that set it (browsers ignore a removal that does not match).
    pub(crate) fn removal(&self, secure: bool) -> Vec<Cookie<'_>> {
        let mut names = vec![self.name.as_str()];
        if self.keygrip.is_some() && self.inline.is_none() {
            names.push(self.sig_name.as_str());
        }
        names
            .into_iter()
            .map(|name| {
                let mut cookie = self.build(name, "".into(), secure, self.lifetime);
                cookie.make_removal();
                cookie
            })
            .collect()
    }

    /// Whether the signature travels in a cookie of its own, `<name>.sig`.
    fn has_sig_cookie(&self) -> bool {
        self.keygrip.is_some() && self.inline.is_none()
    }

    /// Settles a handler's own `Set-Cookie` for a name the session cookies use (the id's,
    /// or its `.sig`), before the session cookies are added to `headers`. With
    /// `overwrite` (the default) the handler's are removed and the session's go out; without
    /// it the handler's stay and the session's are not sent, so one cookie of each name
    /// goes out either way. Returns whether the session cookies go out. Matched by name
    /// alone, whatever the path and domain, as koa's `overwrite` does: a browser keeps a
    /// same-named cookie of another path beside ours and sends it first, so it would
    /// shadow the session all the same.
    pub(crate) fn make_room(&self, headers: &mut HeaderMap) -> bool {
        let ours = |value: &HeaderValue| {
            set_cookie_name(value).is_some_and(|name| {
                name == self.name.as_bytes()
                    || (self.has_sig_cookie() && name == self.sig_name.as_bytes())
            })
        };
        // Most responses set no cookie of their own: one look, nothing moved.
        if !headers.get_all(SET_COOKIE).any(ours) {
            return true;
        }
        if !self.overwrite {
            return false;
        }
        let kept: Vec<HeaderValue> = headers
            .get_all(SET_COOKIE)
            .filter(|value| !ours(value))
            .cloned()
            .collect();
        headers.remove(SET_COOKIE);
        for value in kept {
            headers.append(SET_COOKIE, value);
        }
        true
    }

    fn build<'a>(
        &'a self,
        name: &'a str,
        value: Cow<'a, str>,
        secure: bool,
        lifetime: Lifetime,
    ) -> Cookie<'a> {
        let mut builder = Cookie::build(name, value)
            .path(self.path.as_str())
            .http_only(self.http_only)
            .secure(secure)
            .same_site(self.same_site);
        if let Some(domain) = &self.domain {
            builder = builder.domain(domain.as_str());
        }
        builder = match lifetime {
            Lifetime::BrowserSession => builder,
            Lifetime::MaxAge(max_age) => builder.max_age(to_cookie_duration(max_age)),
            Lifetime::Expires(at) => builder.expires(at),
        };
        builder.finish()
    }

    /// Whether cookies for `req` get `Secure`.
    pub(crate) fn secure_for(&self, req: &HttpRequest) -> bool {
        match self.secure {
            Secure::Always => true,
            Secure::Never => false,
            Secure::FromScheme {
                trust_forwarded: true,
            } => req.connection_info().scheme() == "https",
            // What actix's `ConnectionInfo` falls back on when no header says otherwise.
            Secure::FromScheme {
                trust_forwarded: false,
            } => match req.uri().scheme_str() {
                Some(scheme) => scheme == "https",
                None => req.app_config().secure(),
            },
        }
    }
}

impl Lifetime {
    /// Whether the browser's copy expires on its own clock, so moving the store's expiry
    /// means re-sending the cookie.
    pub(crate) fn is_rolling(self) -> bool {
        matches!(self, Lifetime::MaxAge(_))
    }
}

/// JavaScript's `encodeURIComponent`: every byte but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as
/// `%XX`.
fn encode_uri_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() + 8);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The value of the first well-formed cookie called `name` (by its exact raw name) that
/// is not oversized: one too long or not UTF-8 is skipped.
///
/// Each `name=value` pair is read on its own, from bytes: actix's `HttpRequest::cookies()`
/// drops every cookie of a header that holds one non-UTF-8 byte, so a stray cookie set by
/// another app on the same domain would log everybody out.
fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    cookie_value_within(req, name, MAX_VALUE_LEN)
}

/// The value of the first well-formed cookie called `name` of at most `max_len` bytes
/// (see [`cookie_value`]).
pub(crate) fn cookie_value_within(req: &HttpRequest, name: &str, max_len: usize) -> Option<String> {
    let value = req
        .headers()
        .get_all(COOKIE)
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .filter(|pair| pair.len() <= name.len() + 1 + max_len + 2)
        .filter(|pair| is_named(pair, name))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| parse_pair(pair.trim_ascii()))
        .find(|cookie| cookie.name() == name)?;
    let value = value.value();
    (value.len() <= max_len).then(|| value.to_owned())
}

/// Whether the `name=value` pair is the cookie `name`, by its raw name, exactly (around
/// it only the spaces a `Cookie` header puts between pairs). Browsers apply the rules of
/// the `__Host-` and `__Secure-` prefixes to the raw name and send it as it was set, so a
/// name that only percent-decodes or trims to ours (`__Host%2Dsession`, a no-break space
/// in front) was set without that protection, by anyone on a sibling domain: not ours.
/// Deciding from the raw bytes also spares reading every other cookie of the site.
fn is_named(pair: &[u8], name: &str) -> bool {
    let raw_name = pair
        .iter()
        .position(|&b| b == b'=')
        .map_or(pair, |end| &pair[..end]);
    raw_name.trim_ascii() == name.as_bytes()
}

/// One `name=value` pair, its value percent-decoded only when it holds a `%` (an
/// express-session signed id, `s%3A...`): decoding is the costliest part of parsing, and
/// our own cookies never need it. The name is ours already ([`is_named`]).
fn parse_pair(pair: &str) -> Option<Cookie<'_>> {
    if pair.contains('%') {
        Cookie::parse_encoded(pair).ok()
    } else {
        Cookie::parse(pair).ok()
    }
}

/// `cookie` as a `Set-Cookie` value, written once into a buffer sized for it and handed to
/// the header without a copy (`HttpResponse::add_cookie` formats into a growing string,
/// then copies it). `None` for a cookie that is no valid header value; ours always are.
pub(crate) fn set_cookie_value(cookie: &Cookie<'_>) -> Option<HeaderValue> {
    let mut line = String::with_capacity(SET_COOKIE_CAPACITY);
    write!(line, "{cookie}").ok()?;
    HeaderValue::from_maybe_shared(Bytes::from(line)).ok()
}

/// Room for a whole `Set-Cookie` line of ours: name, id or signature, and attributes.
const SET_COOKIE_CAPACITY: usize = 192;

/// The cookie name a `Set-Cookie` value sets: what comes before its first `=`, without
/// surrounding whitespace. `None` for a value with no `=`, which browsers ignore.
fn set_cookie_name(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes();
    let end = bytes.iter().position(|&b| b == b'=')?;
    Some(bytes[..end].trim_ascii())
}

fn to_cookie_duration(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}
