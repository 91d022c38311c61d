//! What every example does the same way on start-up: logging, the signing keys from
//! `SESSION_KEYS` (and `SESSION_ALLOW_SHORT_KEYS`), and the address from `BIND`.

use std::env;

use actix_typed_session::Keys;

/// Used only when `SESSION_KEYS` is unset; anyone can forge cookies signed with it. At
/// least 32 bytes, as the middleware requires of every key.
const DEVELOPMENT_KEY: &str = "development key: set SESSION_KEYS in production";

/// Logs to stderr, filtered by `RUST_LOG` (default: info, and actix's server at warn).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
}

/// The keys in `SESSION_KEYS` (comma-separated, the first signs; each at least 32 bytes),
/// else a fixed development key, with a warning. `SESSION_ALLOW_SHORT_KEYS=1` accepts
/// shorter keys, to share sessions with a Node app whose secrets are short (weaker: see
/// `Keys::allow_short_keys`). An empty or short key stops the example at start-up.
pub fn keys() -> Keys {
    match env::var("SESSION_KEYS") {
        Ok(keys) if !keys.trim().is_empty() => {
            let keys = Keys::new(keys.split(',').map(str::trim));
            if env::var("SESSION_ALLOW_SHORT_KEYS").as_deref() == Ok("1") {
                tracing::warn!("SESSION_ALLOW_SHORT_KEYS=1: accepting signing keys under 32 bytes");
                keys.allow_short_keys()
            } else {
                keys
            }
        }
        _ => {
            tracing::warn!("SESSION_KEYS is unset: signing cookies with a fixed development key");
            Keys::new([DEVELOPMENT_KEY])
        }
    }
}

/// `BIND`, default `127.0.0.1:8080`.
pub fn bind_address() -> String {
    env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
}

/// `WORKERS`, when set to a number.
pub fn workers() -> Option<usize> {
    env::var("WORKERS").ok().and_then(|w| w.parse().ok())
}
