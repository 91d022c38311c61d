//! The demo's HTML: one page layout, escaping, the answers every handler builds from, and
//! how the sessions page names a browser and a time.

use std::time::SystemTime;

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

/// A short name for the browser a `User-Agent` describes ("Firefox on Android"): enough for
/// a person to recognise their own devices. The order matters: Edge says Chrome, and
/// Chrome says Safari.
pub fn browser(user_agent: &str) -> String {
    let has = |token: &str| user_agent.contains(token);
    let name = if has("Edg/") {
        "Edge"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        "A browser"
    };
    let system = if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") {
        "macOS"
    } else if has("Linux") {
        "Linux"
    } else {
        return name.to_owned();
    };
    format!("{name} on {system}")
}

/// How long ago `time` was, roughly: "just now", "5 minutes ago", "3 hours ago".
pub fn ago(time: SystemTime) -> String {
    let seconds = SystemTime::now()
        .duration_since(time)
        .map_or(0, |since| since.as_secs());
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3599 => plural(seconds / 60, "minute"),
        3600..=86399 => plural(seconds / 3600, "hour"),
        _ => plural(seconds / 86400, "day"),
    }
}

fn plural(count: u64, unit: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{s} ago")
}
