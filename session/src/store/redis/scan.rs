//! Counting the sessions a server holds under a key prefix, for an operator who wants to
//! know whether a store still holds any (the old store of a
//! [`MigratingStore`](crate::store::MigratingStore)): `SCAN` with a bounded `COUNT`, so no
//! single call blocks Redis however many keys it holds, as `KEYS` would.

use redis::aio::ConnectionLike;

use crate::error::StoreError;

/// How many keys one `SCAN` call looks at, at most about.
const SCAN_COUNT: usize = 1000;

/// How many keys start with `prefix` and are sessions: index keys
/// (`{prefix}index:...`) hold a `:` after the prefix, which no session id does.
pub(super) async fn count_sessions<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
) -> Result<u64, StoreError> {
    let pattern = format!("{}*", glob_escaped(prefix));
    let mut cursor = 0_u64;
    let mut count = 0_u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await?;
        let sessions = keys
            .iter()
            .filter(|key| {
                key.get(prefix.len()..)
                    .is_some_and(|id| !id.is_empty() && !id.contains(&b':'))
            })
            .count();
        count += u64::try_from(sessions).unwrap_or(u64::MAX);
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}

/// `prefix` with the characters `MATCH` reads as a pattern escaped.
fn glob_escaped(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::glob_escaped;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escaped("session:"), "session:");
        assert_eq!(glob_escaped("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
