//! Per-user indexes in Redis: one set of session ids per indexed value, shared by the
//! single-node, Sentinel and cluster stores. A delete is here too: it is the one other call
//! that changes them, taking the session out of its indexes.
//!
//! A set is never trusted to be current: sessions expire without telling it. Listing and
//! ending check each id against its session key and drop the ones that are gone. On a
//! cluster the set and its sessions live in different slots, so these are single-key
//! commands, sent concurrently over the multiplexed connection rather than as one script.

use futures_util::future::try_join_all;
use redis::aio::ConnectionLike;

use super::script_call::ScriptCall;
use super::scripts::Scripts;
use super::topology::Topology;
use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::time::millis;
use crate::store::{IndexKey, IndexMoves, SessionKey};

/// Puts the session into the indexes it joins, one script call per index (cluster
/// only: on one node the commit script does it).
pub(super) async fn join<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    moves: &IndexMoves,
) -> Result<(), StoreError> {
    let ttl = moves
        .ttl
        .map(|ttl| millis(ttl).to_string())
        .unwrap_or_default();
    for index in &moves.join {
        let _: i64 = ScriptCall::new(&scripts.index_join, &[index.as_str()])
            .arg(key.id())
            .arg(&ttl)
            .invoke(conn)
            .await?;
    }
    Ok(())
}

/// Takes the session out of `indexes`, one `SREM` each.
pub(super) async fn leave<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    indexes: &[IndexKey],
) -> Result<(), StoreError> {
    for index in indexes {
        let _: i64 = redis::cmd("SREM")
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
        pipe.cmd("SREM").arg(index.as_str()).arg(key.id()).ignore();
    }
    let (removed,): (i64,) = pipe.query_async(conn).await?;
    Ok(removed > 0)
}

/// The live sessions of an index; ids of sessions that are gone (or that are not ids
/// at all) are removed from it.
pub(super) async fn list<C: ConnectionLike + Clone + Send>(
    conn: &C,
    index: &IndexKey,
) -> Result<Vec<SessionId>, StoreError> {
    let (live, stale) = members(conn, index).await?;
    remove_members(conn, index, &stale).await?;
    Ok(live)
}

/// Ends every live session of an index but `keep`. Only the ids ended (and the stale
/// ones) leave the set, so a session that joins meanwhile stays listed.
pub(super) async fn end<C: ConnectionLike + Clone + Send>(
    conn: &C,
    index: &IndexKey,
    keep: Option<&SessionId>,
) -> Result<usize, StoreError> {
    let (live, mut gone) = members(conn, index).await?;
    let ending: Vec<SessionId> = live.into_iter().filter(|id| Some(id) != keep).collect();
    let deleted = try_join_all(ending.iter().map(|id| {
        let mut conn = conn.clone();
        let key = index.session_key(id);
        async move {
            let removed: i64 = redis::cmd("DEL")
                .arg(key.as_str())
                .query_async(&mut conn)
                .await?;
            Ok::<_, StoreError>(removed > 0)
        }
    }))
    .await?;
    gone.extend(ending.iter().map(|id| id.as_str().to_owned()));
    remove_members(conn, index, &gone).await?;
    Ok(deleted.into_iter().filter(|removed| *removed).count())
}

/// The members of an index, split into the ids of live sessions and the rest.
async fn members<C: ConnectionLike + Clone + Send>(
    conn: &C,
    index: &IndexKey,
) -> Result<(Vec<SessionId>, Vec<String>), StoreError> {
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(index.as_str())
        .query_async(&mut conn.clone())
        .await?;
    let checks = members.into_iter().map(|member| {
        let mut conn = conn.clone();
        async move {
            let Some(id) = SessionId::parse_any(&member) else {
                return Ok::<_, StoreError>(Err(member));
            };
            let exists: bool = redis::cmd("EXISTS")
                .arg(index.session_key(&id).as_str())
                .query_async(&mut conn)
                .await?;
            Ok(if exists { Ok(id) } else { Err(member) })
        }
    });
    let mut live = Vec::new();
    let mut stale = Vec::new();
    for checked in try_join_all(checks).await? {
        match checked {
            Ok(id) => live.push(id),
            Err(member) => stale.push(member),
        }
    }
    Ok((live, stale))
}

async fn remove_members<C: ConnectionLike + Clone + Send>(
    conn: &C,
    index: &IndexKey,
    members: &[String],
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let _: i64 = redis::cmd("SREM")
        .arg(index.as_str())
        .arg(members)
        .query_async(&mut conn.clone())
        .await?;
    Ok(())
}
