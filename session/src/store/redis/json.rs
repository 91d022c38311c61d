//! The JSON layout on Redis: one string key per session holding the whole session as a JSON
//! object, read with `GET` and written with `SETEX` or `SET ... EX` as the Node stores do.
//!
//! A commit merges its changes into the document the load returned and sends the result
//! with the SHA-1 of that document; the script writes only if the key still holds exactly
//! it, and otherwise answers with what it holds now, to merge into and try again. So a
//! commit costs one round trip unless another writer got in between, and no writer's
//! change is lost.

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::Value;
use sha1::{Digest, Sha1};

use super::load_reply::{found_session, unexpected_load_reply, Found};
use super::script_call::ScriptCall;
use super::scripts::Scripts;
use crate::error::StoreError;
use crate::id::hex;
use crate::store::document::Document;
use crate::store::time::{millis, whole_seconds, MAX_TTL};
use crate::store::{
    ChangeSet, CommitOutcome, JsonWrite, LoadOptions, Record, SessionKey, Snapshot, WriteMode,
};

/// How many times an update merges again after finding the document changed under it.
/// Each retry means another writer succeeded, so up to this many requests writing to one
/// session at once all land; only a storm of more runs out (an empty 503).
const MERGE_ATTEMPTS: usize = 16;

/// Loads a JSON session in one round trip (see `lua/json_load.lua`). A key that does
/// not hold a JSON object (another type, broken JSON) is no session this library can
/// read: `None`, with a warning.
pub(super) async fn load<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    options: LoadOptions,
) -> Result<Option<Record>, StoreError> {
    let refresh = options.refresh_ttl.map(whole_seconds);
    let below = options.refresh_below.map(millis);
    let reply: Value = ScriptCall::new(&scripts.json_load, &[key.as_str()])
        .arg(refresh.map(|s| s.to_string()).unwrap_or_default())
        .arg(below.map(|ms| ms.to_string()).unwrap_or_default())
        // The clamp for a lifetime the stored document states (the script's comment).
        .arg(whole_seconds(MAX_TTL))
        .invoke(conn)
        .await?;
    match found_session(reply, key)? {
        Some(found) => record_of(found, key),
        None => Ok(None),
    }
}

/// A found JSON session as a record: `found.stored` is the document's text. `None` for
/// a text that is not a JSON object, which this library cannot read.
pub(super) fn record_of(found: Found, key: &SessionKey) -> Result<Option<Record>, StoreError> {
    let Value::BulkString(raw) = found.stored else {
        return Err(unexpected_load_reply());
    };
    let Some(document) = Document::parse(&raw) else {
        tracing::warn!(session = ?key, "stored session is not a JSON object; treated as absent");
        return Ok(None);
    };
    Ok(Some(Record {
        fields: document.fields(),
        created_at: None,
        ttl: found.ttl,
        refreshed: found.refreshed,
        snapshot: Some(Snapshot::new(raw)),
    }))
}

/// Writes a JSON session (see `lua/json_commit.lua` and the module's comment).
pub(super) async fn commit<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    changes: &ChangeSet,
    write: JsonWrite,
) -> Result<CommitOutcome, StoreError> {
    let mut base = changes.base.as_ref().map(|s| s.as_bytes().to_vec());
    if let WriteMode::Create { .. } = changes.mode {
        let document = merged(base.as_deref(), changes)?;
        let written = Write {
            mode: "create",
            ttl: changes.ttl,
            write,
        };
        return match run_commit(scripts, conn, key, &written, &document, "").await? {
            Reply::Written => Ok(CommitOutcome::Written),
            Reply::Taken => Ok(CommitOutcome::Collision),
            Reply::Missing | Reply::Changed(_) => Err(unexpected_commit()),
        };
    }
    for _ in 0..MERGE_ATTEMPTS {
        // Without a base, the script answers with the stored document to merge into.
        let (document, expected) = match &base {
            Some(raw) => (merged(Some(raw), changes)?, hex(&Sha1::digest(raw))),
            None => (Vec::new(), String::new()),
        };
        let written = Write {
            mode: "update",
            ttl: changes.ttl,
            write,
        };
        match run_commit(scripts, conn, key, &written, &document, &expected).await? {
            Reply::Written => return Ok(CommitOutcome::Written),
            Reply::Missing => return Ok(CommitOutcome::Missing),
            Reply::Changed(current) => {
                if Document::parse(&current).is_none() {
                    // No longer a session we can read: as good as gone.
                    return Ok(CommitOutcome::Missing);
                }
                base = Some(current);
            }
            Reply::Taken => return Err(unexpected_commit()),
        }
    }
    Err(StoreError::Unavailable(
        "the session kept changing under this write".into(),
    ))
}

/// How `lua/json_commit.lua` writes a document: as a create or an update, with which
/// time-to-live and command.
pub(super) struct Write {
    pub(super) mode: &'static str,
    pub(super) ttl: Duration,
    pub(super) write: JsonWrite,
}

/// One call of `lua/json_commit.lua`: writes `document` if the key holds the document
/// whose SHA-1 is `expected` (an update), or nothing (a create).
pub(super) async fn run_commit<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    written: &Write,
    document: &[u8],
    expected: &str,
) -> Result<Reply, StoreError> {
    let command = match written.write {
        JsonWrite::Setex => "SETEX",
        JsonWrite::SetEx => "SET",
    };
    let reply: Value = ScriptCall::new(&scripts.json_commit, &[key.as_str()])
        .arg(written.mode)
        .arg(document)
        .arg(whole_seconds(written.ttl))
        .arg(command)
        .arg(expected)
        .invoke(conn)
        .await?;
    match reply {
        Value::Int(0) => Ok(Reply::Written),
        Value::Int(1) => Ok(Reply::Missing),
        Value::Int(2) => Ok(Reply::Taken),
        Value::Array(parts) => match <[Value; 2]>::try_from(parts) {
            Ok([Value::Int(3), Value::BulkString(current)]) => Ok(Reply::Changed(current)),
            _ => Err(unexpected_commit()),
        },
        _ => Err(unexpected_commit()),
    }
}

/// What the commit script answered.
pub(super) enum Reply {
    Written,
    Missing,
    Taken,
    Changed(Vec<u8>),
}

pub(super) fn unexpected_commit() -> StoreError {
    StoreError::Protocol("unexpected reply from the commit script".into())
}

/// The document after `changes`, starting from `base` (or an empty object).
fn merged(base: Option<&[u8]>, changes: &ChangeSet) -> Result<Vec<u8>, StoreError> {
    let mut document = base.and_then(Document::parse).unwrap_or_default();
    document.apply(&changes.set, &changes.remove)?;
    Ok(document.to_bytes())
}
