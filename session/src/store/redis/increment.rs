//! Increments: one integer field of a live session changed on the server, so concurrent
//! increments all count. On the hash layout one call of `lua/increment.lua` (`HINCRBY`,
//! guarded by the session's `__created` field, with the time-to-live refresh); on the
//! JSON layout a compare-and-swap through `lua/json_commit.lua`, retried when another
//! writer got in between, since a Node app's document must be edited in the client to
//! keep its text (see `json.rs`).

use redis::aio::ConnectionLike;
use redis::Value;
use sha1::{Digest, Sha1};

use super::json::{self, Reply, Write};
use super::script_call::ScriptCall;
use super::scripts::Scripts;
use crate::error::StoreError;
use crate::id::hex;
use crate::store::document::Document;
use crate::store::time::millis;
use crate::store::{Increment, JsonWrite, SessionKey};

/// How many times a JSON increment reads and tries again after another writer changed the
/// document under it. Each retry means another writer succeeded, so up to this many
/// requests changing one session at once all land; only a storm of more runs out (an
/// empty 503, nothing written). At 32, one of 64 concurrent increments (tests/increments.rs)
/// ran out in two runs of three: the unlucky one can lose to every other.
const SWAP_ATTEMPTS: usize = 128;

/// Adds to a field of a session hash in one round trip (see `lua/increment.lua`).
pub(super) async fn hash<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    change: &Increment,
) -> Result<Option<i64>, StoreError> {
    let mut call = ScriptCall::new(&scripts.increment, &[key.as_str()]);
    call.arg(&change.field)
        .arg(change.by)
        .arg(change.absent)
        .arg(change.min)
        .arg(change.max)
        .arg(millis(change.ttl));
    for (name, value) in &change.set {
        call.arg(name).arg(value);
    }
    let reply: Value = call.invoke(conn).await?;
    match reply {
        Value::Nil => Ok(None),
        Value::Array(parts) => match parts.as_slice() {
            [Value::Int(0), Value::BulkString(text)] => std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.parse().ok())
                .map(Some)
                .ok_or_else(unexpected),
            [Value::Int(2)] => Err(change.out_of_range()),
            _ => Err(unexpected()),
        },
        _ => Err(unexpected()),
    }
}

/// Adds to a field of a JSON session: the document is read (or taken from the load's
/// snapshot, which saves the read), changed in the client and written only if the key
/// still holds what was read; otherwise again, from what it holds now.
pub(super) async fn json<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    change: &Increment,
    write: JsonWrite,
) -> Result<Option<i64>, StoreError> {
    let mut base = change.base.as_ref().map(|s| s.as_bytes().to_vec());
    let written = Write {
        mode: "update",
        ttl: change.ttl,
        write,
    };
    for _ in 0..SWAP_ATTEMPTS {
        let raw = match base.take() {
            Some(raw) => raw,
            None => match get(conn, key).await? {
                Some(raw) => raw,
                None => return Ok(None),
            },
        };
        let Some(mut document) = Document::parse(&raw) else {
            return Ok(None);
        };
        let stored = document.fields().remove(&change.field);
        let value = change.apply(stored.as_deref())?;
        let mut set = change.set.clone();
        set.push((change.field.clone(), value.to_string().into_bytes()));
        document.apply(&set, &[])?;
        let expected = hex(&Sha1::digest(&raw));
        let document = document.to_bytes();
        match json::run_commit(scripts, conn, key, &written, &document, &expected).await? {
            Reply::Written => return Ok(Some(value)),
            Reply::Missing => return Ok(None),
            Reply::Changed(current) => base = Some(current),
            Reply::Taken => return Err(json::unexpected_commit()),
        }
    }
    Err(StoreError::Unavailable(
        "the session kept changing under this increment".into(),
    ))
}

/// The session's document, if the key holds a string; another program's key of another
/// type is no session.
async fn get<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
) -> Result<Option<Vec<u8>>, StoreError> {
    match redis::cmd("GET")
        .arg(key.as_str())
        .query_async::<Option<Vec<u8>>>(conn)
        .await
    {
        Err(err) if err.code() == Some("WRONGTYPE") => Ok(None),
        result => Ok(result?),
    }
}

fn unexpected() -> StoreError {
    StoreError::Protocol("unexpected reply from the increment script".into())
}
