//! Driving an app in-process (`actix_web::test`) as a browser would: a cookie jar and
//! helpers to read responses.

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::test::{self, TestRequest};

/// The cookies a response set, in order.
pub fn set_cookies<B>(res: &ServiceResponse<B>) -> Vec<Cookie<'static>> {
    res.headers()
        .get_all(SET_COOKIE)
        .map(|v| {
            let text = v.to_str().expect("Set-Cookie is ASCII").to_owned();
            Cookie::parse_encoded(text).expect("Set-Cookie parses")
        })
        .collect()
}

/// The response body as text.
pub async fn body<B: MessageBody>(res: ServiceResponse<B>) -> String
where
    B::Error: std::fmt::Debug,
{
    String::from_utf8(test::read_body(res).await.to_vec()).expect("UTF-8 body")
}

/// A minimal cookie jar: what a response sets replaces what the client held, and an
/// empty value (a removal) drops the cookie.
#[derive(Default, Clone, Debug)]
pub struct Jar(pub Vec<Cookie<'static>>);

impl Jar {
    /// Takes in the cookies `res` set.
    pub fn absorb<B>(&mut self, res: &ServiceResponse<B>) {
        for cookie in set_cookies(res) {
            self.0.retain(|c| c.name() != cookie.name());
            if !cookie.value().is_empty() {
                self.0.push(cookie);
            }
        }
    }

    /// The cookie called `name`, if the jar holds one.
    pub fn get(&self, name: &str) -> Option<&Cookie<'static>> {
        self.0.iter().find(|c| c.name() == name)
    }

    /// Replaces (or adds) a cookie, as a client that tampers with its jar would.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|c| c.name() != name);
        self.0.push(Cookie::new(name.to_owned(), value.to_owned()));
    }

    /// A request carrying the jar's cookies. `method` is `GET` or `POST`.
    pub fn request(&self, method: &str, path: &str) -> TestRequest {
        let req = match method {
            "POST" => TestRequest::post(),
            _ => TestRequest::get(),
        }
        .uri(path);
        if self.0.is_empty() {
            return req;
        }
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        req.insert_header((COOKIE, pairs.join("; ")))
    }
}
