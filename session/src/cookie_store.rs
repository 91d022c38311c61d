//! The cookie store: the whole session travels in the cookie, and the server keeps
//! nothing (`SessionMiddleware::builder_with_cookie_store`). This file reads a session
//! out of a request's cookies and turns one into the cookies that carry it, within the
//! size browsers keep, through a [`CookieCodec`].
//!
//! The codec is what a cookie's value is made of: [`CookieCodec::Sealed`]
//! (`sealed_cookie.rs`: encrypted and authenticated, with the session's JSON form of
//! `cookie_payload.rs`), or [`CookieCodec::KoaSession`] (`koa_cookie.rs`: koa-session's
//! signed base64 JSON, for `Compat::KoaSessionCookie`). What surrounds it (reading the
//! request, the size limit, the commit in `sealed_commit.rs`, the transport) is the same
//! for both.

use actix_web::HttpRequest;

use crate::cookie::{cookie_value_within, CookieSettings, Lifetime};
use crate::cookie_payload::{CookieSession, EMPTY_JSON_LEN};
use crate::envelope::Envelope;
use crate::error::SessionError;
use crate::koa_cookie::KoaCookie;
use crate::sealed_cookie::{plaintext_room, SealError, Sealer};
use crate::signing::{Keygrip, Keys, Verified};

/// The most bytes a browser keeps of one cookie: its whole `Set-Cookie` line, name, value
/// and every attribute (RFC 6265 section 6.1 asks for at least 4096; browsers keep no
/// more).
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// What a cookie store's cookie values are made of.
#[derive(Clone)]
pub(crate) enum CookieCodec {
    /// AES-256-GCM over the session's JSON form (`sealed_cookie.rs`): clients can neither
    /// read nor change it.
    Sealed(Sealer),
    /// koa-session's cookie mode (`koa_cookie.rs`): base64 of the session's JSON, signed
    /// in a second cookie. Clients can read it, not change it.
    KoaSession(KoaCookie),
}

/// The session a request's cookie carried.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) session: CookieSession,
    /// Opened by an older key: the response seals it again with the first.
    pub(crate) verified: Verified,
}

/// The cookie store's half of the configuration: how sessions become cookies.
#[derive(Clone)]
pub(crate) struct CookieStore {
    codec: CookieCodec,
}

impl CookieStore {
    /// The sealed store over `keys`; `None` for an empty ring (nothing to seal with).
    pub(crate) fn sealed(keys: &Keys) -> Option<Self> {
        Sealer::new(keys).map(|sealer| Self {
            codec: CookieCodec::Sealed(sealer),
        })
    }

    /// koa-session's cookie mode: values signed by `keygrip` in the cookie `sig_name`, and
    /// `envelope` (koa-session's) for what each write adds.
    pub(crate) fn koa(keygrip: Keygrip, envelope: Envelope, sig_name: &str) -> Self {
        Self {
            codec: CookieCodec::KoaSession(KoaCookie::new(keygrip, envelope, sig_name)),
        }
    }

    /// The session `req` carries in the cookie of `cookie`; `None` for no cookie, or one
    /// that is oversized, malformed, tampered with, sealed by no key of the ring or for
    /// another cookie name: all of them mean "no session", never an error.
    pub(crate) fn read(&self, cookie: &CookieSettings, req: &HttpRequest) -> Option<Opened> {
        let cookies = |name: &str| cookie_value_within(req, name, MAX_COOKIE_BYTES);
        let (session, verified) = self.codec.decode(&cookie.name, &cookies)?;
        Some(Opened { session, verified })
    }

    /// The cookies (name and value) that carry `session`, each checked to fit a browser
    /// with every attribute of `cookie` and `lifetime`: a session too large for that is
    /// [`SessionError::CookieTooLarge`], and nothing is handed out.
    pub(crate) fn write(
        &self,
        cookie: &CookieSettings,
        session: &CookieSession,
        lifetime: Lifetime,
    ) -> Result<Vec<(String, String)>, SessionError> {
        let cookies = self.codec.encode(&cookie.name, session)?;
        for (name, value) in &cookies {
            let size = cookie.set_cookie_len(name, value, lifetime);
            if size > MAX_COOKIE_BYTES {
                return Err(SessionError::CookieTooLarge {
                    size,
                    limit: MAX_COOKIE_BYTES,
                });
            }
        }
        Ok(cookies)
    }

    /// The most bytes of fields (names and encoded values, as
    /// [`max_session_size`](crate::SessionMiddlewareBuilder::max_session_size) counts
    /// them) that could ever fit the cookie of `cookie` living `lifetime`: an upper bound,
    /// since each field also costs a little JSON around it.
    pub(crate) fn field_room(&self, cookie: &CookieSettings, lifetime: Lifetime) -> usize {
        let attributes = cookie.set_cookie_len(&cookie.name, "", lifetime);
        let value_room = MAX_COOKIE_BYTES.saturating_sub(attributes);
        match &self.codec {
            CookieCodec::Sealed(_) => plaintext_room(value_room).saturating_sub(EMPTY_JSON_LEN),
            CookieCodec::KoaSession(_) => KoaCookie::field_room(value_room),
        }
    }
}

impl CookieCodec {
    /// The session the cookie `name` carries, and which key vouched for it. `cookies`
    /// finds the value of a request's cookie by name: the session's own, and any
    /// companion a codec keeps (a signature cookie, say).
    fn decode(
        &self,
        name: &str,
        cookies: &dyn Fn(&str) -> Option<String>,
    ) -> Option<(CookieSession, Verified)> {
        match self {
            CookieCodec::Sealed(sealer) => {
                let (json, verified) = sealer.open(name, &cookies(name)?)?;
                Some((CookieSession::from_json(&json)?, verified))
            }
            CookieCodec::KoaSession(koa) => koa.open(name, cookies),
        }
    }

    /// The cookies that carry `session` under the cookie name `name`: one for the sealed
    /// codec, the value and its signature for koa-session's.
    fn encode(
        &self,
        name: &str,
        session: &CookieSession,
    ) -> Result<Vec<(String, String)>, SessionError> {
        match self {
            CookieCodec::Sealed(sealer) => {
                let json = session.to_json().map_err(|source| SessionError::Encode {
                    field: "(the cookie session)",
                    source,
                })?;
                let value = sealer.seal(name, &json).map_err(|error| match error {
                    SealError::NoRandomness | SealError::Refused => SessionError::NoId,
                })?;
                Ok(vec![(name.to_owned(), value)])
            }
            CookieCodec::KoaSession(koa) => koa.write(name, session),
        }
    }
}
