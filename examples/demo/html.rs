//! The demo's HTML: one page layout, escaping, and the answers every handler builds from.

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// `text` with the five characters that HTML gives meaning escaped, so a user name like
/// `<script>` shows as typed and never runs.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: the navigation (which depends on who is signed in) around `body`.
/// `user` is escaped here; `body` must already be safe HTML.
pub fn page(status: StatusCode, title: &str, user: Option<&str>, body: &str) -> HttpResponse {
    let account = match user {
        Some(user) => format!(
            r#"<a href="/sessions">Your sessions</a>
      <span>Signed in as <strong id="user">{}</strong></span>
      <form method="post" action="/logout"><button id="logout">Log out</button></form>"#,
            escape(user)
        ),
        None => r#"<span id="guest">Not signed in</span>"#.to_owned(),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} · actix-typed-session demo</title>
  <style>
    body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }}
    nav {{ display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #ccc; padding-bottom: .5rem; }}
    nav form {{ margin: 0; }}
    .current {{ font-weight: bold; }}
    .note {{ background: #eef6ee; padding: .5rem; }}
    .error {{ background: #fbeaea; padding: .5rem; }}
  </style>
</head>
<body>
  <nav>
    <a href="/">Home</a>
    <a href="/cart">Cart</a>
    {account}
  </nav>
  <h1>{title}</h1>
{body}
</body>
</html>
"#
    );
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(html)
}

/// `303 See Other` to `to`: after a form post, the browser loads `to` with a GET, so a
/// reload does not post the form again.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .finish()
}
