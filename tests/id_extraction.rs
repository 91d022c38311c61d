//! Property tests of the one place where untrusted input meets the library: reading the
//! session id from the `Cookie` header and from the id header. Whatever a client sends
//! (forged, truncated, oversized, non-UTF-8 or duplicated), the request gets an answer
//! that is not a 5xx, and nothing that does not verify reaches the store.
//!
//! `PROPTEST_CASES` sets the cases per property (default below).

use actix_typed_session::{IdTransport, Keys, SessionMiddleware};
use actix_typed_session_tests::counter_app;
use actix_typed_session_tests::counting_store::CountingStore;
use actix_typed_session_tests::http::{body, Jar};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, COOKIE};
use actix_web::test::{self, TestRequest};
use actix_web::{App, Error};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const DEFAULT_CASES: u32 = 2000;

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The id header of the apps under test, which take the id from a cookie or from it.
const ID_HEADER: HeaderName = HeaderName::from_static("x-session-id");

/// A runtime, an app on a counting store, and a real session to forge around.
struct Harness<S> {
    rt: actix_rt::Runtime,
    app: S,
    store: CountingStore,
    id: String,
    sig: String,
    /// The session as the id header carries it: `<id>.<signature>`.
    header: String,
}

fn harness() -> Harness<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody<Error: std::fmt::Debug>>,
        Error = Error,
    >,
> {
    let rt = actix_rt::Runtime::new().expect("runtime");
    let store = CountingStore::default();
    let app = rt.block_on(test::init_service(
        App::new()
            .wrap(
                SessionMiddleware::builder(
                    store.clone(),
                    Keys::new(["property test key, long enough to sign"]),
                )
                .id_transport(IdTransport::Both)
                .build(),
            )
            .configure(counter_app::routes),
    ));
    let mut jar = Jar::default();
    let res = rt.block_on(test::call_service(
        &app,
        jar.request("GET", "/").to_request(),
    ));
    jar.absorb(&res);
    let header = res.headers().get(&ID_HEADER).expect("issued").to_str();
    let header = header.expect("ASCII").to_owned();
    let id = jar.get("session").expect("issued").value().to_owned();
    let sig = jar.get("session.sig").expect("signed").value().to_owned();
    Harness {
        rt,
        app,
        store,
        id,
        sig,
        header,
    }
}

impl<S, B> Harness<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = Error>,
    B: actix_web::body::MessageBody<Error: std::fmt::Debug>,
{
    /// Status, body and the number of store calls of `GET /peek` with `cookie` as the
    /// raw `Cookie` header; `None` when those bytes cannot be a header at all.
    fn peek(&self, cookie: &[u8]) -> Option<(u16, String, usize)> {
        self.peek_with(&[(COOKIE, cookie)])
    }

    /// The same with `headers` (a name may repeat); `None` when one value cannot be a
    /// header.
    fn peek_with(&self, headers: &[(HeaderName, &[u8])]) -> Option<(u16, String, usize)> {
        let mut req = TestRequest::get().uri("/peek");
        for (name, value) in headers {
            req = req.append_header((name.clone(), HeaderValue::from_bytes(value).ok()?));
        }
        let req = req.to_request();
        let before = self.store.total_calls();
        let res = self.rt.block_on(test::call_service(&self.app, req));
        let status = res.status().as_u16();
        let text = self.rt.block_on(body(res));
        Some((status, text, self.store.total_calls() - before))
    }
}

/// Bytes a header value may hold: visible ASCII, tab, and obs-text (0x80 to 0xFF, which
/// is not UTF-8 on its own), so every case reaches the middleware.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        0x20u8..0x7f,
        0x80u8..=0xff,
        Just(b'\t'),
        Just(b';'),
        Just(b'=')
    ];
    prop::collection::vec(byte, 0..600)
}

/// Cookie-ish text: pairs of printable names and values, with the separators and escapes
/// a parser could trip on.
fn cookieish() -> impl Strategy<Value = String> {
    let token = "[ -~]{0,40}";
    prop::collection::vec((token, prop::option::of(token)), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={value}"),
                None => name,
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[test]
fn arbitrary_header_bytes_never_fail_the_request_nor_reach_the_store() {
    let h = harness();
    let tried = std::cell::Cell::new(0);
    runner()
        .run(&header_bytes(), |bytes| {
            // The same bytes as the cookie header, then as the id header.
            for name in [COOKIE, ID_HEADER] {
                if let Some((status, text, calls)) = h.peek_with(&[(name, &bytes)]) {
                    tried.set(tried.get() + 1);
                    prop_assert_eq!(status, 200);
                    prop_assert_eq!(text, "0 views");
                    prop_assert_eq!(calls, 0);
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!("{} raw headers were valid header values", tried.get());
}

#[test]
fn arbitrary_cookie_text_with_our_names_never_reaches_the_store() {
    let h = harness();
    let strategy = (cookieish(), "[ -~]{0,80}", "[ -~]{0,80}", cookieish());
    runner()
        .run(&strategy, |(before, id, sig, after)| {
            let header = format!("{before}; session={id}; session.sig={sig}; {after}");
            let (status, text, calls) = h.peek(header.as_bytes()).expect("printable is a header");
            prop_assert_eq!(status, 200);
            prop_assert_eq!(text, "0 views");
            prop_assert_eq!(calls, 0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_well_formed_id_with_any_other_signature_is_rejected_without_a_store_call() {
    let h = harness();
    let strategy = "[A-Za-z0-9_-]{43}".prop_filter("not the real signature", {
        let sig = h.sig.clone();
        move |candidate| *candidate != sig
    });
    runner()
        .run(&strategy, |forged| {
            let header = format!("session={}; session.sig={forged}", h.id);
            let (status, text, calls) = h.peek(header.as_bytes()).expect("a header");
            prop_assert_eq!(status, 200);
            prop_assert_eq!(text, "0 views");
            prop_assert_eq!(calls, 0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn junk_around_a_real_session_never_hides_it() {
    let h = harness();
    let junk = || {
        cookieish().prop_filter("does not itself name our cookies", |text| {
            !text
                .split(';')
                .any(|pair| pair.trim().starts_with("session"))
        })
    };
    runner()
        .run(&(junk(), junk()), |(before, after)| {
            let header = format!("{before}; session={}; session.sig={}; {after}", h.id, h.sig);
            let (status, text, calls) = h.peek(header.as_bytes()).expect("a header");
            prop_assert_eq!(status, 200);
            prop_assert_eq!(text, "1 views");
            prop_assert_eq!(calls, 1, "exactly the one load");
            Ok(())
        })
        .unwrap();
}

/// Only pairs whose raw name can be ours are parsed (`may_be_named` in cookie.rs); a name
/// padded with spaces or written with percent escapes is still ours, as the cookie parser
/// reads it.
#[test]
fn our_cookies_are_found_among_others_and_between_spaces() {
    let h = harness();
    let (id, sig) = (h.id.as_str(), h.sig.as_str());
    for header in [
        format!("a=1; session={id}; b=2; session.sig={sig}; c=3"),
        format!("  session  ={id};session.sig =  {sig}"),
    ] {
        let (status, text, calls) = h.peek(header.as_bytes()).expect("a header");
        assert_eq!(
            (status, text.as_str(), calls),
            (200, "1 views", 1),
            "{header}"
        );
    }
}

/// A browser applies the `__Host-` and `__Secure-` rules to a cookie's raw name, so a
/// name that only decodes or trims to ours was set without them (by a sibling domain,
/// say): it is not our cookie, and hides nothing.
#[test]
fn cookies_whose_names_only_decode_or_trim_to_ours_are_not_ours() {
    let h = harness();
    let (id, sig) = (h.id.as_str(), h.sig.as_str());
    for header in [
        format!("sess%69on={id}; session%2Esig={sig}"),
        format!("session={id}; %73ession.sig={sig}"),
        format!("\u{a0}session={id}; \u{a0}session.sig={sig}"),
    ] {
        let (status, text, calls) = h.peek(header.as_bytes()).expect("a header");
        assert_eq!(
            (status, text.as_str(), calls),
            (200, "0 views", 0),
            "{header}"
        );
    }
    // In front of the real cookies, they change nothing.
    let header = format!("sess%69on=x; session%2Esig=y; session={id}; session.sig={sig}");
    let (status, text, _) = h.peek(header.as_bytes()).expect("a header");
    assert_eq!((status, text.as_str()), (200, "1 views"), "{header}");
}

#[test]
fn truncated_oversized_and_duplicated_ids_are_no_session_and_no_store_call() {
    let h = harness();
    let (id, sig, header) = (h.id.as_str(), h.sig.as_str(), h.header.as_str());
    let cookie = |id: &str, sig: &str| format!("session={id}; session.sig={sig}");
    let mut cookies = Vec::new();
    let mut headers = Vec::new();
    for cut in 0..id.len() {
        cookies.push(cookie(&id[..cut], sig));
        headers.push(format!("{}.{sig}", &id[..cut]));
    }
    for cut in 0..sig.len() {
        cookies.push(cookie(id, &sig[..cut]));
    }
    for cut in 0..header.len() {
        headers.push(header[..cut].to_owned());
    }
    for extra in [1, 300, 5000] {
        let padding = "A".repeat(extra);
        cookies.push(cookie(&format!("{id}{padding}"), sig));
        cookies.push(cookie(id, &format!("{sig}{padding}")));
        headers.push(format!("{header}{padding}"));
        headers.push(format!("{padding}{header}"));
    }
    // Of two cookies of one name the first counts, as browsers send the most specific
    // first: a forged one in front hides the real one.
    cookies.push(format!("session=forged; {}", cookie(id, sig)));
    cookies.push(format!(
        "session.sig={}; {}",
        "A".repeat(43),
        cookie(id, sig)
    ));
    cookies.push(format!(
        "{}; session.sig=forged",
        cookie(id, &format!("{sig}="))
    ));
    for value in &cookies {
        let (status, text, calls) = h.peek(value.as_bytes()).expect("a header");
        assert_eq!(
            (status, text.as_str(), calls),
            (200, "0 views", 0),
            "{value}"
        );
    }
    for value in &headers {
        let (status, text, calls) = h
            .peek_with(&[(ID_HEADER, value.as_bytes())])
            .expect("a header");
        assert_eq!(
            (status, text.as_str(), calls),
            (200, "0 views", 0),
            "{value}"
        );
    }
    // Two id headers: the first counts, so a forged one in front hides the real one.
    let forged = format!("{id}.{}", "A".repeat(43));
    let twice = [
        (ID_HEADER, forged.as_bytes()),
        (ID_HEADER, header.as_bytes()),
    ];
    assert_eq!(h.peek_with(&twice), Some((200, "0 views".into(), 0)));
    // The real id, split over two Cookie headers or after junk, is still found.
    let split = [
        (COOKIE, format!("session={id}").into_bytes()),
        (
            COOKIE,
            [
                &b"other=\xff; "[..],
                format!("session.sig={sig}").as_bytes(),
            ]
            .concat(),
        ),
    ];
    let split: Vec<_> = split
        .iter()
        .map(|(n, v)| (n.clone(), v.as_slice()))
        .collect();
    assert_eq!(h.peek_with(&split), Some((200, "1 views".into(), 1)));
    let real = [
        (ID_HEADER, header.as_bytes()),
        (ID_HEADER, forged.as_bytes()),
    ];
    assert_eq!(h.peek_with(&real), Some((200, "1 views".into(), 1)));
}
