//! How the session id travels: in cookies (the default), in a request and response
//! header for front ends that keep no cookies, or both.
//!
//! A header carries `<id>` when cookies are unsigned, else `<id>.<signature>`, where the
//! signature is the keygrip signature (base64url, no padding) over `"<header-name>=<id>"`
//! with the header name in lower case: the same scheme as the `.sig` cookie, bound to the
//! header's name so a signature cannot be moved between a cookie and a header.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::commit::Handout;
use crate::config::Config;
use crate::cookie::{Inbound, Lifetime};
use crate::id::SessionId;
use crate::signing::Verified;

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

impl Config {
    /// The verified id the request carried, by any enabled transport; `None` for anything
    /// missing, oversized, malformed, unsigned or forged.
    pub(crate) fn read_id(&self, req: &HttpRequest) -> Option<Inbound> {
        let from_cookie = || {
            self.id_transport
                .cookie()
                .then(|| self.cookie.read(req))
                .flatten()
        };
        let from_header = || {
            self.id_transport
                .header()
                .then(|| self.read_header(req))
                .flatten()
        };
        from_cookie().or_else(from_header)
    }

    fn read_header(&self, req: &HttpRequest) -> Option<Inbound> {
        let raw = req.headers().get(&self.id_header)?.as_bytes();
        if raw.len() > MAX_HEADER_LEN {
            return None;
        }
        let raw = std::str::from_utf8(raw).ok()?;
        let Some(keygrip) = &self.cookie.keygrip else {
            return Some(Inbound {
                id: SessionId::parse_as(raw, self.cookie.id_format)?,
                resign: false,
            });
        };
        let (id, signature) = raw.split_once('.')?;
        let id = SessionId::parse_as(id, self.cookie.id_format)?;
        let verified = keygrip.verify(self.header_signed_data(&id).as_bytes(), signature)?;
        Some(Inbound {
            id,
            resign: verified == Verified::Rotated,
        })
    }

    fn header_signed_data(&self, id: &SessionId) -> String {
        format!("{}={}", self.id_header.as_str(), id.as_str())
    }

    /// The header value that hands `id` to the client.
    fn header_value(&self, id: &SessionId) -> String {
        match &self.cookie.keygrip {
            None => id.as_str().to_owned(),
            Some(keygrip) => {
                let signature = keygrip.sign(self.header_signed_data(id).as_bytes());
                format!("{}.{signature}", id.as_str())
            }
        }
    }

    /// Puts `handout` on the response by every enabled transport, a cookie living
    /// `lifetime`. Returns whether the response now hands out (or takes back) an id.
    pub(crate) fn hand_out<B>(
        &self,
        handout: &Handout,
        lifetime: Lifetime,
        secure: bool,
        res: &mut HttpResponse<B>,
    ) -> bool {
        let (cookies, header) = match handout {
            Handout::Nothing => return false,
            Handout::Issue(id) => (
                self.cookie.issue(id, secure, lifetime),
                self.header_value(id),
            ),
            // An empty header says "forget the id", as a removal cookie does.
            Handout::Remove => (self.cookie.removal(secure), String::new()),
        };
        if self.id_transport.cookie() {
            for cookie in &cookies {
                // Only fails for a value that is not a valid header; ours are base64url.
                let _ = res.add_cookie(cookie);
            }
        }
        if self.id_transport.header() {
            if let Ok(value) = HeaderValue::try_from(header) {
                res.headers_mut().insert(self.id_header.clone(), value);
            }
        }
        true
    }
}

/// The default header name.
pub(crate) fn default_header() -> HeaderName {
    HeaderName::from_static("x-session-id")
}
