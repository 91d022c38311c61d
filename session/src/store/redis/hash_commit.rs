//! Writing a session hash: one call of `lua/commit.lua`, which refuses a late update of a
//! session that is gone and a create over a key that is taken, and writes only the fields
//! that changed. On one node the same call moves the session between its per-user indexes,
//! so the write and its index changes land together or not at all.

use redis::aio::ConnectionLike;

use super::script_call::ScriptCall;
use super::scripts::Scripts;
use crate::error::StoreError;
use crate::store::time::{epoch_millis, millis};
use crate::store::{ChangeSet, CommitOutcome, IndexKey, SessionKey, WriteMode};

/// Applies a change set to a session hash (see `lua/commit.lua`), with its index moves
/// when `inline`. Also says whether an index it joined is over its cap.
pub(super) async fn commit<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    changes: &ChangeSet,
    inline: bool,
) -> Result<(CommitOutcome, bool), StoreError> {
    let moves = &changes.index;
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
