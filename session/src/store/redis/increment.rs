//! Increments: one integer field of a live session changed on the server, so concurrent
//! increments all count. On the hash layout of one node, most are a pipeline of plain
//! commands around `HINCRBY` (see [`hash_pipelined`]); the rest, and every one on a cluster,
//! one call of `lua/increment.lua` (`HINCRBY` guarded by the session's `__created` field,
//! with the time-to-live refresh). On the JSON layout a compare-and-swap through
//! `lua/json_commit.lua`, retried when another writer got in between, since a Node app's
//! document must be edited in the client to keep its text (see `json.rs`).

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, Value};
use sha1::{Digest, Sha1};

use super::hash_commit::CREATED_FIELD;
use super::json::{self, Reply, Write};
use super::load_reply::warn_foreign_key;
use super::script_call::ScriptCall;
use super::scripts::Scripts;
use super::sized_command::on_key;
use super::topology::Topology;
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

/// Adds to a field of a session hash in one round trip: as plain commands where they give
/// the script's answer ([`pipelined_is_exact`]), else through `lua/increment.lua`.
pub(super) async fn hash<C: ConnectionLike + Send>(
    scripts: &Scripts,
    topology: Topology,
    conn: &mut C,
    key: &SessionKey,
    change: &Increment,
) -> Result<Option<i64>, StoreError> {
    if topology == Topology::OneNode && pipelined_is_exact(change) {
        if let Pipelined::Done(result) = hash_pipelined(scripts, conn, key, change).await? {
            return Ok(result);
        }
    }
    hash_scripted(scripts, conn, key, change).await
}

/// Whether [`hash_pipelined`] answers as the script would: when the result can leave the
/// field's range only on the side `HINCRBY` itself refuses (past `i64`, writing nothing).
/// The counter of a `u64` or `i64` field counting up qualifies; a narrower type, or a
/// count down towards an unsigned field's zero, could pass its bound, and a value a load
/// cannot decode must never be seen, even for a moment: those go through the script.
/// So do increments that set other fields with them (a Node package's envelope), and those
/// of a field whose default is not 0, which `HINCRBY` cannot start from in one command.
fn pipelined_is_exact(change: &Increment) -> bool {
    let up = change.by >= 0 && change.max >= i64::MAX.into();
    let down = change.by <= 0 && change.by != i64::MIN && change.min <= i64::MIN.into();
    change.set.is_empty() && change.absent == 0 && (up || down)
}

/// What [`hash_pipelined`] made of the increment.
enum Pipelined {
    Done(Option<i64>),
    /// The field held a value the field's type does not decode, or one `HINCRBY` does not
    /// read: nothing is changed, and the script, which reads it as a load would, decides.
    ToScript,
}

/// An increment as plain commands in one round trip: `PTTL` and `HEXISTS` of the field
/// (what the key was, for the rare case below), `HINCRBY`, `PEXPIRE`, then `HEXISTS
/// __created`. Redis runs them for less than the fixed cost of a script call
/// (bench/PROFILE.md, seventh pass).
///
/// As for an update (`hash_commit.rs`), the guard is in the data: a hash is a session only
/// with its `__created` field, and that is checked after the write. A session ended before
/// the increment leaves a hash of the one field behind, which no load takes for a session
/// and which is deleted. A key that held something else (another program's, or a late
/// write's leftover not yet deleted) is put back as it was, by `lua/increment_undo.lua`.
///
/// What that costs, where the script cost nothing: another program's key is changed for
/// one round trip (its field by the amount, its time-to-live to the session's) before it
/// is put back, and stays changed should the put-back never run (the request dropped just
/// then). Only a key under a session's name that is no session gets there: a setup that
/// shares the prefix with another program, or an unsigned cookie naming such a key. And a
/// logout whose `DEL` lands between this pipeline's commands (Redis runs a pipeline it
/// read whole without another client's commands in between, so only one split across
/// reads) can leave the one field, 0, behind with the session's time left: no session,
/// and gone when that runs out.
///
/// `HINCRBY` counts from any `i64`, where a load reads only what the field's type holds:
/// a stored value the type does not decode (a negative in a `u64`) is taken back, and one
/// `HINCRBY` does not read (a `u64` above `i64::MAX`) left alone; the script then counts
/// as a load reads it ([`Pipelined::ToScript`]). Neither is ever counted from, or reset.
async fn hash_pipelined<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    change: &Increment,
) -> Result<Pipelined, StoreError> {
    let field = change.field.as_str();
    let mut pipe = Pipeline::with_capacity(5);
    pipe.ignore_errors();
    pipe.add_command(on_key("PTTL", key, 0, 0));
    pipe.add_command(on_field("HEXISTS", key, field, 0));
    let mut hincrby = on_field("HINCRBY", key, field, 1);
    hincrby.arg(change.by);
    pipe.add_command(hincrby);
    let mut pexpire = on_key("PEXPIRE", key, 1, 20);
    pexpire.arg(millis(change.ttl));
    pipe.add_command(pexpire);
    pipe.add_command(on_field("HEXISTS", key, CREATED_FIELD, 0));
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    let [Value::Int(pttl), had_field, added, _, live] = replies.as_slice() else {
        return Err(unexpected());
    };
    match live {
        Value::Int(1) => {}
        Value::Int(0) if *pttl == -2 => {
            // Ended before the increment: what it wrote goes with the session. No one
            // else writes under an ended id.
            let _: i64 = redis::cmd("DEL")
                .arg(key.as_str())
                .query_async(conn)
                .await?;
            return Ok(Pipelined::Done(None));
        }
        Value::ServerError(error) if error.code() != "WRONGTYPE" => {
            return Err(error.clone().into());
        }
        Value::Int(0) | Value::ServerError(_) => {
            put_back(scripts, conn, key, change, *pttl, had_field, added).await?;
            return Ok(Pipelined::Done(None));
        }
        _ => return Err(unexpected()),
    }
    match added {
        // What the field held, as `HINCRBY` read it: an `i64`, which the field's type
        // holds but for a negative in a `u64` (counting up; counting down is an `i64`'s).
        Value::Int(value) if change.holds(value - change.by) => Ok(Pipelined::Done(Some(*value))),
        Value::Int(_) => {
            // A load reads that value as absent, and shows the default: the amount is taken
            // back through the script, without a range, so that a session ended meanwhile
            // is not written again, and the script counts from the default. A concurrent
            // increment may have counted from the value in between; only a value no load
            // decodes gets here.
            let mut back = change.clone();
            back.by = -change.by;
            (back.min, back.max) = (i64::MIN.into(), i64::MAX.into());
            hash_scripted(scripts, conn, key, &back).await?;
            Ok(Pipelined::ToScript)
        }
        Value::ServerError(error) if error.details().is_some_and(|d| d.contains("overflow")) => {
            Err(change.out_of_range())
        }
        // "hash value is not an integer": not one `HINCRBY` reads, though a load may (a
        // `u64` above `i64::MAX`, an integer with spaces around it). Nothing was written.
        Value::ServerError(error) if error.details().is_some_and(|d| d.contains("integer")) => {
            Ok(Pipelined::ToScript)
        }
        Value::ServerError(error) => Err(error.clone().into()),
        _ => Err(unexpected()),
    }
}

/// Puts back a key the pipeline wrote to and found no session in, as it was before:
/// `pttl` and `had_field` are what the pipeline saw of it, `added` what `HINCRBY` answered.
async fn put_back<C: ConnectionLike + Send>(
    scripts: &Scripts,
    conn: &mut C,
    key: &SessionKey,
    change: &Increment,
    pttl: i64,
    had_field: &Value,
    added: &Value,
) -> Result<(), StoreError> {
    let take_back = match added {
        Value::Int(_) => (-change.by).to_string(),
        _ => String::new(),
    };
    let was_absent = matches!(had_field, Value::Int(0));
    let mut undo = ScriptCall::new(&scripts.increment_undo, &[key.as_str()]);
    undo.arg(&change.field)
        .arg(take_back)
        .arg(if was_absent { "1" } else { "0" })
        .arg(pttl);
    let kind: String = undo.invoke(conn).await?;
    if kind != "none" {
        warn_foreign_key(key, &kind);
    }
    Ok(())
}

/// `name key field`, with room for `more_args` further arguments.
fn on_field(name: &str, key: &SessionKey, field: &str, more_args: usize) -> Cmd {
    let mut cmd = on_key(name, key, 1 + more_args, field.len() + 20 * more_args);
    cmd.arg(field);
    cmd
}

/// Adds to a field of a session hash in one call of `lua/increment.lua`.
async fn hash_scripted<C: ConnectionLike + Send>(
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
    StoreError::Protocol("unexpected reply to a session increment".into())
}
