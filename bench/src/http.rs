//! Just enough HTTP/1.1 to make a session before a run and keep its cookies.

use std::io::{Read, Write};
use std::net::TcpStream;

/// Sends `GET path` with `cookie` (a `Cookie` header value, may be empty) and returns the
/// cookies the response set, as a `Cookie` header value.
pub fn session_cookie(port: u16, path: &str, cookie: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect {port}: {e}"))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        request.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send to {port}: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read from {port}: {e}"))?;
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path} on port {port}: {head}"));
    }
    let cookies: Vec<&str> = head
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or_default())
        })
        .collect();
    if cookies.is_empty() {
        return Err(format!("GET {path} on port {port} set no cookie"));
    }
    Ok(cookies.join("; "))
}
