//! What the bench apps share: how they are configured from the environment, and the
//! 10 KB value of the big-session case.

/// Where an app listens: `BIND`, default `127.0.0.1:8080`.
pub fn bind() -> String {
    std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
}

/// Worker threads: `WORKERS`, default 1, so every app gets the same single core's worth.
pub fn workers() -> usize {
    std::env::var("WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .unwrap_or(1)
}

/// The big field of the 10 KB case.
pub fn big_value() -> String {
    "x".repeat(10 * 1024)
}
