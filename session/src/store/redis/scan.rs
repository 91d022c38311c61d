//! Counting the sessions a server holds under a key prefix, for an operator who wants to
//! know whether a store still holds any (the old store of a
//! [`MigratingStore`](crate::store::MigratingStore)): `SCAN` with a bounded `COUNT`, so no
//! single call blocks Redis however many keys it holds, as `KEYS` would. A cluster is
//! walked master by master, each with its own cursor.

use redis::aio::ConnectionLike;
#[cfg(feature = "cluster")]
use redis::cluster_async::ClusterConnection;
#[cfg(feature = "cluster")]
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
#[cfg(feature = "cluster")]
use redis::Value;

use crate::error::StoreError;

/// How many keys one `SCAN` call looks at, at most about.
const SCAN_COUNT: usize = 1000;

/// How many keys start with `prefix` and are sessions: index keys
/// (`{prefix}index:...`) hold a `:` after the prefix, which no session id does.
pub(super) async fn count_sessions<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
) -> Result<u64, StoreError> {
    let mut cursor = 0_u64;
    let mut count = 0_u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = scan_step(cursor, prefix).query_async(conn).await?;
        count = count.saturating_add(sessions_among(&keys, prefix));
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}

/// The same on every master of a cluster (the slot map the client holds names them),
/// one after the other: each holds its own keys, under its own cursor. A master added
/// or a slot migrated during the count may make it off by the keys that moved.
#[cfg(feature = "cluster")]
pub(super) async fn count_cluster_sessions(
    conn: &mut ClusterConnection,
    prefix: &str,
) -> Result<u64, StoreError> {
    let masters = conn
        .route_command(
            redis::cmd("PING"),
            RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
        )
        .await?;
    let Value::Map(masters) = masters else {
        return Err(StoreError::Protocol(
            "the cluster did not name its masters".into(),
        ));
    };
    let mut count = 0_u64;
    for (address, _) in masters {
        let address: String = redis::from_redis_value(address).map_err(unexpected)?;
        let (host, port) = address
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
            .ok_or_else(|| StoreError::Protocol("a cluster node's address has no port".into()))?;
        let node = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
        let mut cursor = 0_u64;
        loop {
            let reply = conn
                .route_command(scan_step(cursor, prefix), node.clone())
                .await?;
            let (next, keys): (u64, Vec<Vec<u8>>) =
                redis::from_redis_value(reply).map_err(unexpected)?;
            count = count.saturating_add(sessions_among(&keys, prefix));
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(count)
}

#[cfg(feature = "cluster")]
fn unexpected(err: redis::ParsingError) -> StoreError {
    StoreError::Protocol(err.to_string())
}

/// One `SCAN` call from `cursor` over the keys that start with `prefix`.
fn scan_step(cursor: u64, prefix: &str) -> redis::Cmd {
    let mut step = redis::cmd("SCAN");
    step.arg(cursor)
        .arg("MATCH")
        .arg(format!("{}*", glob_escaped(prefix)))
        .arg("COUNT")
        .arg(SCAN_COUNT);
    step
}

/// How many of `keys` (all starting with `prefix`) are sessions.
fn sessions_among(keys: &[Vec<u8>], prefix: &str) -> u64 {
    let sessions = keys
        .iter()
        .filter(|key| {
            key.get(prefix.len()..)
                .is_some_and(|id| !id.is_empty() && !id.contains(&b':'))
        })
        .count();
    u64::try_from(sessions).unwrap_or(u64::MAX)
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
