//! What every example does the same way on start-up: logging, the signing keys from
//! `SESSION_KEYS`, and the address from `BIND`.

use std::env;

use actix_typed_session::Keys;

/// Used only when `SESSION_KEYS` is unset; anyone can forge cookies signed with it.
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

/// The keys in `SESSION_KEYS` (comma-separated, the first signs), else a fixed
/// development key, with a warning.
pub fn keys() -> Keys {
    match env::var("SESSION_KEYS") {
        Ok(keys) if !keys.trim().is_empty() => Keys::new(keys.split(',').map(str::trim)),
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
