//! How the session id travels: in cookies (the default), in a request and response
//! header for front ends that keep no cookies, or both.
//!
//! A header carries `<id>` when cookies are unsigned, else `<id>.<signature>`, where the
//! signature is the keygrip signature (base64url, no padding) over `"<header-name>=<id>"`
//! with the header name in lower case: the same scheme as the `.sig` cookie, bound to the
//! header's name so a signature cannot be moved between a cookie and a header.
//!
//! Every response that hands out an id, or its removal, goes through [`Transport::hand_out`],
//! which also keeps it out of shared caches.

use std::sync::Once;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse};

use crate::cookie::{set_cookie_value, CookieSettings, Inbound, Lifetime};
use crate::id::{IdFormat, SessionId};

/// Longer header values are rejected before any work: an id, a dot and a SHA-256
/// signature take 76 bytes.
const MAX_HEADER_LEN: usize = 256;

/// Where the session id travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdTransport {
    /// In the session cookie (and its `.sig` companion): the default.
    #[default]
    Cookie,
    /// In a header of the request and the response (see
    /// [`id_header`](crate::SessionMiddlewareBuilder::id_header)); no cookie is read or set.
    Header,
    /// Both: a request may carry either (the cookie is looked at first), and every
    /// response that hands out an id sets both.
    Both,
}

impl IdTransport {
    fn cookie(self) -> bool {
        matches!(self, IdTransport::Cookie | IdTransport::Both)
    }

    fn header(self) -> bool {
        matches!(self, IdTransport::Header | IdTransport::Both)
    }
}

/// What the response must tell the client about its session id: the commit's answer,
/// which the transport puts on the response.
#[derive(Debug)]
pub(crate) enum Handout {
    /// Nothing: the client's id (if any) stays as it is.
    Nothing,
    /// This id, freshly signed, in a cookie living `lifetime`: a new session, a renewal, a
    /// rotated key or a moved expiry.
    Issue { id: SessionId, lifetime: Lifetime },
    /// A cookie store's session, carried whole (`sealed_commit.rs`): these cookies, by
    /// name and value, as its codec made them (sealed, or a value and its signature),
    /// living `lifetime`.
    Sealed {
        cookies: Vec<(String, String)>,
        lifetime: Lifetime,
    },
    /// Forget the id: the session ended or never existed.
    Remove,
}

/// The resolved transport: where ids are read from and handed out, with the cookie and
/// header settings.
pub(crate) struct Transport {
    mode: IdTransport,
    header: HeaderName,
    cookie: CookieSettings,
}

impl Transport {
    pub(crate) fn new(mode: IdTransport, header: HeaderName, cookie: CookieSettings) -> Self {
        Self {
            mode,
            header,
            cookie,
        }
    }

    /// Whether cookies for `req` get `Secure`.
    pub(crate) fn secure_for(&self, req: &HttpRequest) -> bool {
        self.cookie.secure_for(req)
    }

    /// The shape of the ids read and made.
    pub(crate) fn id_format(&self) -> IdFormat {
        self.cookie.id_format
    }

    /// The cookie settings: names, attributes and lifetime.
    pub(crate) fn cookie(&self) -> &CookieSettings {
        &self.cookie
    }

    /// The configured cookie lifetime, for a session whose document states none.
    pub(crate) fn lifetime(&self) -> Lifetime {
        self.cookie.lifetime
    }

    /// The verified id the request carried, by any enabled transport; `None` for anything
    /// missing, oversized, malformed, unsigned or forged.
    pub(crate) fn read_id(&self, req: &HttpRequest) -> Option<Inbound> {
        let from_cookie = || self.mode.cookie().then(|| self.cookie.read(req)).flatten();
        let from_header = || self.mode.header().then(|| self.read_header(req)).flatten();
        from_cookie().or_else(from_header)
    }

    fn read_header(&self, req: &HttpRequest) -> Option<Inbound> {
        let raw = req.headers().get(&self.header)?.as_bytes();
        if raw.len() > MAX_HEADER_LEN {
            return None;
        }
        let raw = std::str::from_utf8(raw).ok()?;
        let keygrip = self.cookie.keygrip.as_ref();
        // Signed, the value is `<id>.<signature>`.
        let (id, signature) = match keygrip {
            None => (raw, None),
            Some(_) => raw.split_once('.').map(|(id, sig)| (id, Some(sig)))?,
        };
        let name = self.header.as_str();
        Inbound::check(name, id, || signature, keygrip, self.cookie.id_format)
    }

    /// The header value that hands `id` to the client.
    fn header_value(&self, id: &SessionId) -> String {
        match &self.cookie.keygrip {
            None => id.as_str().to_owned(),
            Some(keygrip) => {
                let signature = keygrip.sign_pair(self.header.as_str(), id.as_str());
                format!("{}.{signature}", id.as_str())
            }
        }
    }

    /// Puts `handout` on `res`, the response to `req`, by every enabled transport, and
    /// keeps `res` out of shared caches. The only way an id or its removal reaches a
    /// response, so no such response can miss the cache rule: an error response included.
    pub(crate) fn hand_out<B>(
        &self,
        handout: &Handout,
        req: &HttpRequest,
        res: &mut HttpResponse<B>,
    ) {
        let issued = match handout {
            Handout::Nothing => return,
            Handout::Issue { id, lifetime } => Some((id, *lifetime)),
            // An empty header and a removal cookie both say "forget the id". A sealed
            // session has no id to put in a header: the builder refuses a header with
            // the cookie store.
            Handout::Remove | Handout::Sealed { .. } => None,
        };
        // A handler's own cookie of one of our names gives way, or ours does.
        if self.mode.cookie() && self.cookie.make_room(res.headers_mut()) {
            // Only now: reading the scheme parses the forwarding headers, and most
            // responses set no cookie.
            let secure = self.cookie.secure_for(req);
            let cookies = match (handout, issued) {
                (Handout::Sealed { cookies, lifetime }, _) => {
                    self.cookie.carry(cookies, secure, *lifetime)
                }
                (_, Some((id, lifetime))) => self.cookie.issue(id, secure, lifetime),
                (_, None) => self.cookie.removal(secure),
            };
            for value in cookies.iter().filter_map(set_cookie_value) {
                res.headers_mut().append(SET_COOKIE, value);
            }
        }
        if self.mode.header() && !matches!(handout, Handout::Sealed { .. }) {
            let value = issued.map_or_else(String::new, |(id, _)| self.header_value(id));
            if let Ok(value) = HeaderValue::try_from(value) {
                res.headers_mut().insert(self.header.clone(), value);
            }
        }
        keep_out_of_shared_caches(res.headers_mut());
    }
}

/// Cache-Control for CDNs alone: RFC 9213's `CDN-Cache-Control`, and the older
/// `Surrogate-Control` (Akamai, Fastly). A CDN that reads one obeys it instead of
/// `Cache-Control`.
const CDN_CACHE_CONTROLS: [&str; 2] = ["cdn-cache-control", "surrogate-control"];

/// A response that hands out (or removes) a session id must not be stored by a shared
/// cache, which would give that session to the next visitor. A handler's own
/// `Cache-Control` is kept only when it says `private` or `no-store`; anything else
/// (`public`, `s-maxage`, or a bare `max-age`, which lets a shared cache store the response
/// too) is replaced. A `CDN-Cache-Control` or `Surrogate-Control` is removed, whatever it
/// says, so a CDN falls back on the `Cache-Control` settled here. Each correction is
/// logged once.
fn keep_out_of_shared_caches(headers: &mut HeaderMap) {
    let mut removed_cdn_header = false;
    for name in CDN_CACHE_CONTROLS {
        // Even a `no-store`: what each CDN makes of a directive there is its own reading.
        removed_cdn_header |= headers.remove(name).next().is_some();
    }
    if removed_cdn_header {
        static WARNED: Once = Once::new();
        warn_once(
            &WARNED,
            "a response that hands out a session id had a CDN-Cache-Control or \
             Surrogate-Control header, which CDNs obey before Cache-Control: removed",
        );
    }

    let mut directives = headers
        .get_all(CACHE_CONTROL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    let had_own = headers.contains_key(CACHE_CONTROL);
    // `private="set-cookie"` names fields and still lets the rest be stored: not enough
    // for an id that may travel in a header.
    if directives.any(|directive| {
        directive.eq_ignore_ascii_case("private") || directive.eq_ignore_ascii_case("no-store")
    }) {
        return;
    }
    if had_own {
        static WARNED: Once = Once::new();
        warn_once(
            &WARNED,
            "a response that hands out a session id had a Cache-Control that lets shared \
             caches store it: replaced with `private, no-store`",
        );
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

/// Logs `message` the first time `once` is reached: a handler that sets such a header
/// sets it on every response, and one line says all there is to say.
fn warn_once(once: &'static Once, message: &'static str) {
    once.call_once(|| tracing::warn!("{message} (warned once)"));
}

/// The default header name.
pub(crate) fn default_header() -> HeaderName {
    HeaderName::from_static("x-session-id")
}
