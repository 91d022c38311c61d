//! A browser for apps running as separate processes (Node apps, the counter example): one
//! cookie jar shared by every port on 127.0.0.1, as one domain behind a proxy would share
//! it, and each answer's `Set-Cookie` headers kept verbatim for checks of the wire format.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::Method;

/// A client with a cookie jar that it keeps itself, so tests can read, copy and tamper
/// with cookies.
#[derive(Default)]
pub struct Browser {
    client: reqwest::Client,
    jar: Vec<(String, String)>,
}

/// One answer: status, body and the `Set-Cookie` headers, in order and as sent.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
    /// Every `Set-Cookie` header, verbatim.
    pub set_cookies: Vec<String>,
}

impl Reply {
    /// The `Set-Cookie` header for the cookie called `name`, if the answer set it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|header| cookie_pair(header).0 == name)
    }

    /// The names of the cookies the answer set, in order.
    pub fn cookie_names(&self) -> Vec<&str> {
        self.set_cookies.iter().map(|h| cookie_pair(h).0).collect()
    }
}

impl Browser {
    /// A browser with an empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// `GET url` with the jar's cookies; the answer's cookies go into the jar.
    pub async fn get(&mut self, url: &str) -> Reply {
        self.send(Method::GET, url).await
    }

    /// `POST url` (empty body) with the jar's cookies; the answer's cookies go into the jar.
    pub async fn post(&mut self, url: &str) -> Reply {
        self.send(Method::POST, url).await
    }

    /// The raw value of the cookie called `name`, as the jar holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(held, _)| held == name)
            .map(|(_, value)| value.as_str())
    }

    /// Puts a cookie in the jar (replacing one of the same name), as a tampering client or
    /// a copied login would.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.remove_cookie(name);
        self.jar.push((name.to_owned(), value.to_owned()));
    }

    /// Drops the cookie called `name` from the jar.
    pub fn remove_cookie(&mut self, name: &str) {
        self.jar.retain(|(held, _)| held != name);
    }

    async fn send(&mut self, method: Method, url: &str) -> Reply {
        let mut request = self.client.request(method.clone(), url);
        if !self.jar.is_empty() {
            let pairs: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request = request.header(COOKIE, pairs.join("; "));
        }
        let res = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = res.status().as_u16();
        let set_cookies: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("Set-Cookie is ASCII").to_owned())
            .collect();
        let body = res.text().await.expect("a text body");
        for header in &set_cookies {
            self.absorb(header);
        }
        Reply {
            status,
            body,
            set_cookies,
        }
    }

    /// What a browser does with one `Set-Cookie`: an empty value, `Max-Age=0` or an expiry
    /// in 1970 (how koa and express clear cookies) removes it; anything else replaces it.
    fn absorb(&mut self, header: &str) {
        let (name, value) = cookie_pair(header);
        let lower = header.to_ascii_lowercase();
        let removal = value.is_empty()
            || lower.contains("max-age=0")
            || lower.contains("expires=thu, 01 jan 1970");
        if removal {
            self.remove_cookie(name);
        } else {
            self.set_cookie(name, value);
        }
    }
}

/// The `name=value` pair at the start of a `Set-Cookie` header.
fn cookie_pair(header: &str) -> (&str, &str) {
    let pair = header.split(';').next().unwrap_or_default();
    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
    (name.trim(), value.trim())
}
