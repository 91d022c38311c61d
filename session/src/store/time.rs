//! How stores and the Node packages count time: time-to-live in milliseconds or whole
//! seconds, moments in milliseconds since the epoch. Every conversion is here, so every
//! store clamps the same way.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest time-to-live a store keeps (about 100 years): longer ones overflow Redis'
/// clock and `Instant` arithmetic.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `ttl`, at most [`MAX_TTL`].
pub(crate) fn clamp_ttl(ttl: Duration) -> Duration {
    ttl.min(MAX_TTL)
}

/// `ttl` in milliseconds, at most [`MAX_TTL`]'s.
pub(crate) fn millis(ttl: Duration) -> u64 {
    // MAX_TTL fits in u64 milliseconds many times over.
    u64::try_from(clamp_ttl(ttl).as_millis()).unwrap_or(u64::MAX)
}

/// `ttl` in seconds, rounded up, at least 1 (Redis refuses an expiry of 0) and at most
/// [`MAX_TTL`]'s.
pub(crate) fn whole_seconds(ttl: Duration) -> u64 {
    // Clamped first: rounding `Duration::MAX` up overflows, to 1 s in a release build.
    let ttl = clamp_ttl(ttl);
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    secs.max(1)
}

/// `time` in milliseconds since the epoch, as JavaScript's `Date.now()` counts; 0 before it.
pub(crate) fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// The moment that `raw`, decimal milliseconds since the epoch, names.
// Only the Redis hash layout reads a stored moment; without Redis this is left unused.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn parse_epoch_millis(raw: &[u8]) -> Option<SystemTime> {
    let ms: u64 = std::str::from_utf8(raw).ok()?.parse().ok()?;
    from_epoch_millis(ms)
}

/// The moment `ms` milliseconds after the epoch; `None` past what `SystemTime` holds.
pub(crate) fn from_epoch_millis(ms: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_clamped_and_moments_are_not() {
        assert_eq!(millis(Duration::MAX), millis(MAX_TTL));
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::MAX), MAX_TTL.as_secs());
        // A moment past MAX_TTL after the epoch is not a time-to-live: no clamp.
        let far = UNIX_EPOCH + MAX_TTL + Duration::from_secs(1);
        assert_eq!(epoch_millis(far), millis(MAX_TTL) + 1000);
        assert_eq!(
            parse_epoch_millis(epoch_millis(far).to_string().as_bytes()),
            Some(far)
        );
        assert_eq!(parse_epoch_millis(b"soon"), None);
    }
}
