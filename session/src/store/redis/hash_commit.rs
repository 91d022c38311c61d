//! Writing a session hash, only the fields that changed, never bringing back a session that
//! is gone and never creating over a key that is taken.
//!
//! A hash is a session of ours only while it holds the reserved field `__created`
//! (`hash_load.rs` reads one without it as no session). That makes the common write, an
//! update that moves no index, a pipeline of plain commands on one node: `HSET`/`HDEL`
//! (and `PEXPIRE` when owed), then `HEXISTS __created`. Should the session have ended
//! before the write, the write made a hash without the marker, which no load takes for a
//! session; `HEXISTS` says so, and the hash is deleted. Redis runs those commands for a
//! fraction of the fixed cost of a script call (bench/PROFILE.md).
//!
//! A create under an id the middleware just generated is `HSET` and `PEXPIRE` sent together,
//! with no check that the key is free: the id has at least 122 random bits. No `MULTI`
//! around them: it would double the commands Redis runs for the most common write of all,
//! and buys nothing a client could see (see [`create_fresh`]).
//!
//! Everything else is one call of `lua/commit.lua`: creates under ids that were not
//! generated fresh (refused on a taken key), and on one node the writes that move the
//! session between its per-user indexes, so the write and its index changes land together
//! or not at all.

use redis::aio::ConnectionLike;
use redis::{Pipeline, Value};

use super::script_call::ScriptCall;
use super::scripts::Scripts;
use super::sized_command::{on_key, pairs_len};
use crate::error::StoreError;
use crate::store::time::{epoch_millis, millis};
use crate::store::{ChangeSet, CommitOutcome, IndexKey, IndexMoves, SessionKey, WriteMode};

/// The reserved field that marks a hash as a live session (see `hash_load.rs`).
pub(super) const CREATED_FIELD: &str = "__created";

/// Applies a change set to a session hash, with its index moves when `inline` (one node):
/// a plain update as a pipeline (see the module docs), the rest through `lua/commit.lua`.
/// Also says whether an index it joined is over its cap.
pub(super) async fn commit<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    changes: &ChangeSet,
    inline: bool,
) -> Result<(CommitOutcome, bool), StoreError> {
    let moves = &changes.index;
    let plain = matches!(changes.mode, WriteMode::Update { created_at: None }) && !moves_any(moves);
    if inline && plain {
        return Ok((update_pipelined(conn, key, changes).await?, false));
    }
    if let (true, true, WriteMode::Create { created_at }) =
        (inline, changes.fresh_id && !moves_any(moves), changes.mode)
    {
        create_fresh(conn, key, changes, epoch_millis(created_at)).await?;
        return Ok((CommitOutcome::Written, false));
    }
    let (from, taken) = match (&moves.take_over, inline) {
        (Some(take), true) => (take.from.as_str(), take.indexes.as_slice()),
        _ => ("", &[][..]),
    };
    let mut keys = vec![key.as_str()];
    if inline {
        keys.extend(
            moves
                .join
                .iter()
                .chain(taken)
                .chain(&moves.leave)
                .map(IndexKey::as_str),
        );
    }
    let mut call = ScriptCall::new(&scripts.commit, &keys);
    match changes.mode {
        WriteMode::Create { created_at } => {
            call.arg("create").arg(millis(changes.ttl));
            call.arg(epoch_millis(created_at));
        }
        WriteMode::Update { created_at } => {
            // An empty argument leaves the time-to-live, or the creation time, as it is.
            let ttl = (!changes.ttl_current).then(|| millis(changes.ttl).to_string());
            let created_at = created_at.map(|at| epoch_millis(at).to_string());
            call.arg("update")
                .arg(ttl.unwrap_or_default())
                .arg(created_at.unwrap_or_default());
        }
    }
    call.arg(changes.set.len());
    // Only a write that names an index says how; most writes send nothing for it.
    if keys.len() > 1 {
        let ttl = moves.ttl.map(|ttl| millis(ttl).to_string());
        call.arg(format!(
            "{}|{}|{}|{}|{}|{from}",
            moves.join.len(),
            taken.len(),
            moves.cap,
            ttl.unwrap_or_default(),
            key.id(),
        ));
    } else {
        call.arg("");
    }
    for (name, value) in &changes.set {
        call.arg(name).arg(value);
    }
    call.arg(&changes.remove);
    let status: i64 = call.invoke(conn).await?;
    match status {
        0 => Ok((CommitOutcome::Written, false)),
        1 => Ok((CommitOutcome::Missing, false)),
        2 => Ok((CommitOutcome::Collision, false)),
        3 => Ok((CommitOutcome::Written, true)),
        other => Err(StoreError::Protocol(format!(
            "commit script returned {other}"
        ))),
    }
}

/// Whether a commit moves its session in or out of any index.
fn moves_any(moves: &IndexMoves) -> bool {
    !moves.join.is_empty() || !moves.leave.is_empty() || moves.take_over.is_some()
}

/// An update as plain commands: the writes, then `HEXISTS` of the marker. A session that
/// ended before the write leaves a hash without the marker behind, which is deleted.
async fn update_pipelined<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    changes: &ChangeSet,
) -> Result<CommitOutcome, StoreError> {
    let mut pipe = Pipeline::with_capacity(4);
    // A key of another type answers the writes with `WRONGTYPE`: nothing is written, and
    // `HEXISTS` then says there is no session.
    pipe.ignore_errors();
    if !changes.set.is_empty() {
        let set = &changes.set;
        let mut hset = on_key("HSET", key, 2 * set.len(), pairs_len(set));
        for (name, value) in set {
            hset.arg(name).arg(value);
        }
        pipe.add_command(hset);
    }
    if !changes.remove.is_empty() {
        pipe.cmd("HDEL").arg(key.as_str()).arg(&changes.remove);
    }
    let mut pexpire = on_key("PEXPIRE", key, 2, 22);
    pexpire.arg(millis(changes.ttl));
    if changes.ttl_current {
        // The load just set the time-to-live. `NX` leaves a live session's alone, and
        // gives what a late write made an expiry, should the deletion below never come
        // (the connection lost just then).
        pexpire.arg("NX");
    }
    pipe.add_command(pexpire);
    let mut hexists = on_key("HEXISTS", key, 1, CREATED_FIELD.len());
    hexists.arg(CREATED_FIELD);
    pipe.add_command(hexists);
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    match replies.last() {
        Some(Value::Int(1)) => Ok(CommitOutcome::Written),
        Some(Value::Int(0)) => {
            // The session ended before the write, which made a hash of its own: gone
            // with it. No one else writes under an ended id.
            let _: i64 = redis::cmd("DEL")
                .arg(key.as_str())
                .query_async(conn)
                .await?;
            Ok(CommitOutcome::Missing)
        }
        Some(Value::ServerError(error)) if error.code() == "WRONGTYPE" => {
            Ok(CommitOutcome::Missing)
        }
        Some(Value::ServerError(error)) => Err(error.clone().into()),
        _ => Err(StoreError::Protocol(format!(
            "unexpected reply to a session update: {replies:?}"
        ))),
    }
}

/// A create under a freshly generated id ([`ChangeSet::fresh_id`]): `HSET` with the
/// creation time, then `PEXPIRE`, in one write. No check that the key is free: a collision
/// is as likely as a guessed id.
///
/// Not wrapped in `MULTI`: Redis runs one client's commands in order, and until the
/// response goes out nobody else knows the id, so nothing that comes between the two can
/// matter. Only a write cut off between them (the connection lost mid-write, the app
/// dying) leaves a hash without a time-to-live, and then the commit failed: no client was
/// handed that id, and no load ever asks for it.
async fn create_fresh<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    changes: &ChangeSet,
    created_at: u64,
) -> Result<(), StoreError> {
    let set = &changes.set;
    let mut hset = on_key(
        "HSET",
        key,
        2 + 2 * set.len(),
        CREATED_FIELD.len() + 20 + pairs_len(set),
    );
    hset.arg(CREATED_FIELD).arg(created_at);
    for (name, value) in set {
        hset.arg(name).arg(value);
    }
    let mut pexpire = on_key("PEXPIRE", key, 1, 20);
    pexpire.arg(millis(changes.ttl));
    let mut pipe = Pipeline::with_capacity(2);
    pipe.add_command(hset)
        .ignore()
        .add_command(pexpire)
        .ignore();
    pipe.query_async::<()>(conn).await?;
    Ok(())
}
