//! Per-user indexes in Redis: one sorted set of session ids per indexed value, scored with
//! the time each joined, shared by the single-node, Sentinel and cluster stores. Deleting
//! and retiring a session are here too: they are the other calls that change an index.
//!
//! An index is never trusted to be current: sessions expire without telling it. Listing,
//! ending and making room check ids against their session keys and drop the ones that are
//! gone (once past [`INDEX_GRACE`]). On a cluster an index and its sessions live in
//! different slots, so these are single-key commands, sent concurrently over the
//! multiplexed connection rather than as one script. Every read of an index is bounded.

use std::time::{Duration, SystemTime};

use futures_util::future::{join_all, try_join_all};
use redis::aio::ConnectionLike;
use redis::Value;

use super::load_reply::found_session;
use super::script_call::ScriptCall;
use super::scripts::Scripts;
use super::topology::Topology;
use super::{hash_load, json};
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::time::{epoch_millis, millis, parse_epoch_millis};
use crate::store::{IndexKey, IndexMoves, Listed, Record, SessionKey, INDEX_GRACE};

/// How many ids one call of `index_end.lua`, or one read past an index's cap, handles.
const BATCH: usize = 256;

/// What joining the indexes of a commit came to (cluster and JSON layout only: on one
/// node the hash layout's commit script joins them itself).
pub(super) enum Joined {
    /// In every index; `full` when one holds more ids than its cap.
    Yes { full: bool },
    /// A renewal found the session it renews gone from an index it takes over: it was
    /// ended meanwhile. Nothing is left joined.
    Refused,
}

/// Puts the session into the indexes it joins and takes over, one script call each.
pub(super) async fn join<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    moves: &IndexMoves,
) -> Result<Joined, StoreError> {
    let ttl = moves
        .ttl
        .map(|ttl| millis(ttl).to_string())
        .unwrap_or_default();
    let mut steps: Vec<(&IndexKey, &str)> = moves.join.iter().map(|index| (index, "")).collect();
    if let Some(take) = &moves.take_over {
        steps.extend(take.indexes.iter().map(|index| (index, take.from.as_str())));
    }
    let mut full = false;
    let mut entered = Vec::new();
    for (index, replaces) in steps {
        let held: i64 = ScriptCall::new(&scripts.index_join, &[index.as_str()])
            .arg(key.id())
            .arg(replaces)
            .arg(&ttl)
            .invoke(conn)
            .await?;
        if held < 0 {
            leave(conn, key, &entered).await?;
            return Ok(Joined::Refused);
        }
        full |= usize::try_from(held).unwrap_or(usize::MAX) > moves.cap;
        entered.push(index.clone());
    }
    Ok(Joined::Yes { full })
}

/// Whether the session is still in every index of `indexes`: an ending may have taken it
/// out between its join and its write.
pub(super) async fn still_in<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    indexes: &[IndexKey],
) -> Result<bool, StoreError> {
    for index in indexes {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(index.as_str())
            .arg(key.id())
            .query_async(conn)
            .await?;
        if score.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Takes the session out of `indexes`, one `ZREM` each.
pub(super) async fn leave<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    indexes: &[IndexKey],
) -> Result<(), StoreError> {
    for index in indexes {
        let _: i64 = redis::cmd("ZREM")
            .arg(index.as_str())
            .arg(key.id())
            .query_async(conn)
            .await?;
    }
    Ok(())
}

/// Deletes a session and takes it out of `indexes`: one `MULTI` round trip on one node.
pub(super) async fn delete<C: ConnectionLike + Send>(
    topology: Topology,
    conn: &mut C,
    key: &SessionKey,
    indexes: &[IndexKey],
) -> Result<bool, StoreError> {
    if topology == Topology::Cluster || indexes.is_empty() {
        let removed: i64 = redis::cmd("DEL")
            .arg(key.as_str())
            .query_async(conn)
            .await?;
        leave(conn, key, indexes).await?;
        return Ok(removed > 0);
    }
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("DEL").arg(key.as_str());
    for index in indexes {
        pipe.cmd("ZREM").arg(index.as_str()).arg(key.id()).ignore();
    }
    let (removed,): (i64,) = pipe.query_async(conn).await?;
    Ok(removed > 0)
}

/// Deletes a session a renewal replaces, holding its entries in `hold`, and reads it in
/// the same step (see `lua/retire.lua`): one call on one node; on a cluster the holds go
/// first, so the entries are fresh before the session is gone. Returns the session as it
/// was, in the layout it was stored in.
pub(super) async fn retire<C: ConnectionLike + Send>(
    scripts: &Scripts,
    topology: Topology,
    conn: &mut C,
    key: &SessionKey,
    hold: &[IndexKey],
) -> Result<Option<Record>, StoreError> {
    let mut keys = vec![key.as_str()];
    if topology == Topology::Cluster {
        for index in hold {
            let _: i64 = ScriptCall::new(&scripts.index_hold, &[index.as_str()])
                .arg(key.id())
                .invoke(conn)
                .await?;
        }
    } else {
        keys.extend(hold.iter().map(IndexKey::as_str));
    }
    let reply: Value = ScriptCall::new(&scripts.retire, &keys)
        .arg(key.id())
        .invoke(conn)
        .await?;
    let Some(found) = found_session(reply, key)? else {
        return Ok(None);
    };
    match found.stored {
        Value::BulkString(_) => json::record_of(found, key),
        _ => hash_load::record_of(found),
    }
}

/// Up to `limit` live sessions of an index, the ones that joined last first, described;
/// entries of sessions that are gone (or that are not ids at all) are pruned.
pub(super) async fn list<C: ConnectionLike + Clone + Send>(
    scripts: &Scripts,
    conn: &C,
    index: &IndexKey,
    limit: usize,
) -> Result<Vec<Listed>, StoreError> {
    let (live, stale) = newest_members(scripts, conn, index, limit).await?;
    prune(scripts, conn, index, &stale).await?;
    Ok(live)
}

/// Ends every session of an index but `keep`: each batch is taken out of the index in one
/// step (`lua/index_end.lua`), then its sessions are deleted.
pub(super) async fn end<C: ConnectionLike + Clone + Send>(
    scripts: &Scripts,
    conn: &C,
    index: &IndexKey,
    keep: Option<&SessionId>,
) -> Result<Vec<SessionId>, StoreError> {
    let keep = keep.map(SessionId::as_str).unwrap_or_default();
    let mut ended = Vec::new();
    loop {
        let taken: Vec<String> = ScriptCall::new(&scripts.index_end, &[index.as_str()])
            .arg(keep)
            .arg(BATCH)
            .invoke(&mut conn.clone())
            .await?;
        ended.extend(delete_sessions(conn, index, &taken).await?);
        if taken.len() < BATCH {
            return Ok(ended);
        }
    }
}

/// Brings an index back to `cap` ids after a join went past it: stale entries go first,
/// then the live sessions that joined longest ago end. Reads at most `cap` + [`BATCH`]
/// ids, so an index far over a lowered cap shrinks over several joins. Returns the
/// sessions it ended.
pub(super) async fn make_room<C: ConnectionLike + Clone + Send>(
    scripts: &Scripts,
    conn: &C,
    index: &IndexKey,
    cap: usize,
) -> Result<Vec<SessionId>, StoreError> {
    let (live, stale) = newest_members(scripts, conn, index, cap.saturating_add(BATCH)).await?;
    prune(scripts, conn, index, &stale).await?;
    let Some(oldest) = live.get(cap..).filter(|ids| !ids.is_empty()) else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = oldest
        .iter()
        .map(|listed| listed.id.as_str().to_owned())
        .collect();
    let _: i64 = redis::cmd("ZREM")
        .arg(index.as_str())
        .arg(&ids)
        .query_async(&mut conn.clone())
        .await?;
    let ended = delete_sessions(conn, index, &ids).await?;
    tracing::info!(
        ended = ended.len(),
        cap,
        "a per-user index was full: its oldest sessions ended"
    );
    Ok(ended)
}

/// Deletes the sessions of `ids` (members of `index`, just taken out of it), concurrently.
/// Returns the ones that existed. When a delete fails (a dropped connection, a timeout),
/// the ids whose delete did not go through are put back into the index before the error
/// comes back: their sessions may be live, and out of the index no later ending (nor
/// "sign out everywhere" retried) could find them.
async fn delete_sessions<C: ConnectionLike + Clone + Send>(
    conn: &C,
    index: &IndexKey,
    ids: &[String],
) -> Result<Vec<SessionId>, StoreError> {
    let deletes = ids.iter().filter_map(|member| {
        let id = SessionId::parse_any(member)?;
        let mut conn = conn.clone();
        let key = index.session_key(&id);
        Some(async move {
            let removed: Result<i64, _> = redis::cmd("DEL")
                .arg(key.as_str())
                .query_async(&mut conn)
                .await;
            (member, id, removed)
        })
    });
    let mut ended = Vec::new();
    let mut undone = Vec::new();
    let mut failure = None;
    for (member, id, removed) in join_all(deletes).await {
        match removed {
            Ok(removed) if removed > 0 => ended.push(id),
            Ok(_) => {}
            Err(error) => {
                undone.push(member.as_str());
                failure.get_or_insert(error);
            }
        }
    }
    let Some(error) = failure else {
        return Ok(ended);
    };
    let now = epoch_millis(SystemTime::now());
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(index.as_str()).arg("NX");
    for member in &undone {
        zadd.arg(now).arg(*member);
    }
    if let Err(put_back) = zadd.query_async::<i64>(&mut conn.clone()).await {
        tracing::error!(
            sessions = undone.len(),
            error = %put_back,
            "ending sessions of a per-user index failed, and putting them back into it too: \
             they stay live, unlisted, until they expire"
        );
    }
    Err(error.into())
}

/// What `lua/index_describe.lua` answers for a live session: its time-to-live in ms (-1:
/// none), its `__created` and its `__device`.
type Described = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// The `limit` newest members of an index, split into the live sessions (newest first,
/// each described by `lua/index_describe.lua`, one call per member, sent together) and the
/// rest.
async fn newest_members<C: ConnectionLike + Clone + Send>(
    scripts: &Scripts,
    conn: &C,
    index: &IndexKey,
    limit: usize,
) -> Result<(Vec<Listed>, Vec<String>), StoreError> {
    if limit == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let last = i64::try_from(limit - 1).unwrap_or(i64::MAX);
    let members: Vec<String> = redis::cmd("ZREVRANGE")
        .arg(index.as_str())
        .arg(0)
        .arg(last)
        .query_async(&mut conn.clone())
        .await?;
    let checks = members.into_iter().map(|member| {
        let mut conn = conn.clone();
        async move {
            let Some(id) = SessionId::parse_any(&member) else {
                return Ok::<_, StoreError>(Err(member));
            };
            let key = index.session_key(&id);
            let described: Option<Described> =
                ScriptCall::new(&scripts.index_describe, &[key.as_str()])
                    .invoke(&mut conn)
                    .await?;
            let Some((ttl, created, device)) = described else {
                return Ok(Err(member));
            };
            Ok(Ok(Listed {
                id,
                created_at: created.as_deref().and_then(parse_epoch_millis),
                ttl: u64::try_from(ttl).ok().map(Duration::from_millis),
                device,
            }))
        }
    });
    let mut live = Vec::new();
    let mut stale = Vec::new();
    for checked in try_join_all(checks).await? {
        match checked {
            Ok(listed) => live.push(listed),
            Err(member) => stale.push(member),
        }
    }
    Ok((live, stale))
}

/// Drops `members` whose sessions were found gone, each once past [`INDEX_GRACE`].
async fn prune<C: ConnectionLike + Clone + Send>(
    scripts: &Scripts,
    conn: &C,
    index: &IndexKey,
    members: &[String],
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let _: i64 = ScriptCall::new(&scripts.index_prune, &[index.as_str()])
        .arg(millis(INDEX_GRACE))
        .arg(members)
        .invoke(&mut conn.clone())
        .await?;
    Ok(())
}
