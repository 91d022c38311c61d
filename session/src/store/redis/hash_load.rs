//! Loading a session hash, in one round trip (two when the key holds another program's
//! data, to put its time-to-live back), and reading the hash into a record.
//!
//! The common load, with no refresh threshold, is a pipeline of plain commands: `HGETALL`,
//! `PTTL` and, to refresh the time-to-live, `PEXPIRE`. A load is the one Redis call of most
//! requests, and Redis runs a script several times slower than the same commands sent bare
//! (measured on redis-server 7.0: 4.3 µs of server CPU per `EVALSHA` of `lua/load.lua`,
//! 0.9 µs for its `HGETALL` and `PEXPIRE`). With a threshold the refresh depends on the time
//! left, so that load stays a script, `lua/load.lua`, decided inside Redis. So does every
//! load on a cluster: its client follows a redirection (`ASK`, `MOVED`, while a slot
//! migrates) for a single command, not for the commands of a pipeline.
//!
//! A pipeline is not atomic, and what may run between its commands is harmless: a session
//! deleted after `HGETALL` is loaded as it was a moment before (its write, if any, is then
//! refused as for any late write) and `PEXPIRE` finds no key; a session created after
//! `HGETALL` found none gets its time-to-live pushed back, as a load of it would.
//!
//! `PEXPIRE` runs whatever the key holds. When `HGETALL` finds something other than a
//! session of ours (a key of another type, or a hash without the reserved `__created`),
//! the load puts that key's time-to-live back as `PTTL` saw it, in a second round trip. That is best effort: should it fail (the connection drops just
//! then), or should the other program change the expiry in between, the key is left with
//! the session's time-to-live.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Pipeline, Value};

use super::hash_commit::CREATED_FIELD;
use super::load_reply::{found_session, ttl_of, unexpected_load_reply, warn_foreign_key, Found};
use super::script_call::ScriptCall;
use super::scripts::Scripts;
use super::sized_command::on_key;
use super::topology::Topology;
use crate::error::StoreError;
use crate::store::time::{millis, parse_epoch_millis};
use crate::store::{LoadOptions, Record, SessionKey};

/// Loads a session hash in one round trip. Every command names the one session key, so on
/// a cluster it runs on the key's node.
pub(super) async fn load<C: ConnectionLike + Send>(
    scripts: &Scripts,
    topology: Topology,
    conn: &mut C,
    key: &SessionKey,
    options: LoadOptions,
) -> Result<Option<Record>, StoreError> {
    let refresh = options.refresh_ttl.map(millis);
    let below = options.refresh_below.map(millis);
    if topology == Topology::OneNode && below.is_none() {
        return load_pipelined(conn, key, refresh).await;
    }
    let reply: Value = ScriptCall::new(&scripts.load, &[key.as_str()])
        .arg(refresh.map(|ms| ms.to_string()).unwrap_or_default())
        .arg(below.map(|ms| ms.to_string()).unwrap_or_default())
        .invoke(conn)
        .await?;
    decode_record(reply, key)
}

/// `HGETALL`, `PTTL` and, with `refresh` (milliseconds), `PEXPIRE`, as one pipeline.
async fn load_pipelined<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    refresh: Option<u64>,
) -> Result<Option<Record>, StoreError> {
    let mut pipe = Pipeline::with_capacity(3);
    // A key of another type answers `HGETALL` with an error: a reply to read, not a
    // failed load.
    pipe.ignore_errors()
        .add_command(on_key("HGETALL", key, 0, 0))
        .add_command(on_key("PTTL", key, 0, 0));
    if let Some(ms) = refresh {
        let mut pexpire = on_key("PEXPIRE", key, 1, 20);
        pexpire.arg(ms);
        pipe.add_command(pexpire);
    }
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    match read_pipelined(replies, refresh)? {
        KeyContents::Session(found) => record_of(found),
        KeyContents::Missing => Ok(None),
        KeyContents::Foreign { pttl } => {
            // Boxed: a rare path, whose future held inline would grow every load's.
            Box::pin(leave_foreign_key(conn, key, refresh.map(|_| pttl))).await;
            Ok(None)
        }
    }
}

/// What the load pipeline found under the session key.
#[derive(Debug)]
pub(in crate::store) enum KeyContents {
    Session(Found),
    Missing,
    /// Not a session of ours: a key of another type, or a hash without the creation time;
    /// `pttl` is its time-to-live before the load, as `PTTL` answers it (-1: none).
    Foreign {
        pttl: i64,
    },
}

/// Reads the replies of [`load_pipelined`]'s commands, in order. Any error but
/// `WRONGTYPE` (a foreign key) fails the load.
pub(in crate::store) fn read_pipelined(
    replies: Vec<Value>,
    refresh: Option<u64>,
) -> Result<KeyContents, StoreError> {
    let mut replies = replies.into_iter();
    let (Some(fields), Some(pttl)) = (replies.next(), replies.next()) else {
        return Err(unexpected_load_reply());
    };
    // `PEXPIRE` answers 1 when it set the time-to-live, 0 when the key was gone by then.
    let refreshed = match (refresh, replies.next()) {
        (None, None) => false,
        (Some(_), Some(Value::Int(set))) => set == 1,
        (_, Some(Value::ServerError(error))) => return Err(error.into()),
        _ => return Err(unexpected_load_reply()),
    };
    let pttl = match pttl {
        Value::Int(pttl) => pttl,
        Value::ServerError(error) => return Err(error.into()),
        _ => return Err(unexpected_load_reply()),
    };
    let fields = match fields {
        Value::Array(fields) => fields,
        // RESP3 answers `HGETALL` with a map.
        Value::Map(pairs) => pairs
            .into_iter()
            .flat_map(|(name, value)| [name, value])
            .collect(),
        Value::ServerError(error) if error.code() == "WRONGTYPE" => {
            return Ok(KeyContents::Foreign { pttl });
        }
        Value::ServerError(error) => return Err(error.into()),
        _ => return Err(unexpected_load_reply()),
    };
    if fields.is_empty() {
        return Ok(KeyContents::Missing);
    }
    // A hash without the creation time is not a session of ours (see `record_of`): left
    // as it was, time-to-live included.
    let marked = fields
        .iter()
        .step_by(2)
        .any(|name| matches!(name, Value::BulkString(name) if name == CREATED_FIELD.as_bytes()));
    if !marked {
        return Ok(KeyContents::Foreign { pttl });
    }
    Ok(KeyContents::Session(Found {
        stored: Value::Array(fields),
        ttl: match refresh {
            Some(ms) if refreshed => Some(Duration::from_millis(ms)),
            _ => ttl_of(pttl),
        },
        refreshed,
    }))
}

/// Logs a foreign key under a session's name and, when the load's `PEXPIRE` changed its
/// time-to-live, puts back `restore` (-1: no expiry; else milliseconds). The request goes
/// on with a fresh session whatever happens here.
async fn leave_foreign_key<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &SessionKey,
    restore: Option<i64>,
) {
    let mut pipe = redis::pipe();
    pipe.cmd("TYPE").arg(key.as_str());
    match restore {
        Some(-1) => {
            pipe.cmd("PERSIST").arg(key.as_str()).ignore();
        }
        // The key had that long left; a key that was gone by then (-2) is gone now too.
        Some(ms) if ms >= 0 => {
            pipe.cmd("PEXPIRE")
                .arg(key.as_str())
                .arg(ms.max(1))
                .ignore();
        }
        _ => {}
    }
    match pipe.query_async::<(String,)>(conn).await {
        Ok((kind,)) => warn_foreign_key(key, &kind),
        Err(error) => tracing::warn!(
            session = ?key,
            %error,
            "the session key holds data of another type, whose time-to-live may not be restored"
        ),
    }
}

/// Turns the load script's reply into a record: see [`found_session`], with the stored
/// session as the hash's `[name, value, ...]`.
pub(in crate::store) fn decode_record(
    reply: Value,
    key: &SessionKey,
) -> Result<Option<Record>, StoreError> {
    Ok(found_session(reply, key)?
        .map(record_of)
        .transpose()?
        .flatten())
}

/// A found session hash as a record: `found.stored` is the hash's `[name, value, ...]`.
/// `None` for a hash without the creation time, which is not a session of ours: what a
/// write left after its session ended (see `hash_commit.rs`), or another program's data.
pub(in crate::store) fn record_of(found: Found) -> Result<Option<Record>, StoreError> {
    let Value::Array(flat) = found.stored else {
        return Err(unexpected_load_reply());
    };
    let mut fields = HashMap::with_capacity(flat.len() / 2);
    let mut created_at = None;
    let mut flat = flat.into_iter();
    while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
        let (Value::BulkString(name), Value::BulkString(value)) = (name, value) else {
            return Err(unexpected_load_reply());
        };
        // A field whose name is not UTF-8 was written by someone else and cannot be
        // one of ours: skip it here, and commits leave it untouched in Redis.
        let Ok(name) = String::from_utf8(name) else {
            continue;
        };
        if name == CREATED_FIELD {
            created_at = Some(parse_epoch_millis(&value));
        } else {
            fields.insert(name, value);
        }
    }
    let Some(created_at) = created_at else {
        return Ok(None);
    };
    Ok(Some(Record {
        fields,
        // A creation time that does not parse (another program's) is unknown, which is
        // not a reason to refuse a session that is otherwise fine.
        created_at,
        ttl: found.ttl,
        refreshed: found.refreshed,
        snapshot: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(raw: &str) -> Value {
        redis::parse_redis_value(raw.as_bytes()).expect("RESP")
    }

    /// A session hash as `HGETALL` answers it: its creation time, then `fields`.
    fn session(fields: &[&str]) -> Value {
        hash(&[&["__created", "1700000000000"], fields].concat())
    }

    fn hash(fields: &[&str]) -> Value {
        Value::Array(
            fields
                .iter()
                .map(|text| Value::BulkString(text.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn a_hash_without_the_creation_time_is_not_a_session() {
        let replies = vec![hash(&["views", "3"]), Value::Int(-1), Value::Int(1)];
        assert!(matches!(
            read_pipelined(replies, Some(60_000)),
            Ok(KeyContents::Foreign { pttl: -1 })
        ));
    }

    #[test]
    fn a_refreshed_session_reports_the_time_to_live_just_set() {
        let replies = vec![session(&["views", "3"]), Value::Int(5_000), Value::Int(1)];
        let KeyContents::Session(found) = read_pipelined(replies, Some(60_000)).unwrap() else {
            panic!("a session");
        };
        assert!(found.refreshed);
        assert_eq!(found.ttl, Some(Duration::from_secs(60)));
        assert_eq!(found.stored, session(&["views", "3"]));
    }

    #[test]
    fn a_resp3_map_reads_as_the_hash() {
        let pair = |name: &str, value: &str| {
            (
                Value::BulkString(name.as_bytes().to_vec()),
                Value::BulkString(value.as_bytes().to_vec()),
            )
        };
        let map = Value::Map(vec![pair("__created", "1700000000000"), pair("views", "3")]);
        let KeyContents::Session(found) =
            read_pipelined(vec![map, Value::Int(5_000)], None).unwrap()
        else {
            panic!("a session");
        };
        assert_eq!(found.stored, session(&["views", "3"]));
    }

    #[test]
    fn without_a_refresh_the_time_left_is_what_pttl_says() {
        let replies = vec![session(&["views", "3"]), Value::Int(5_000)];
        let KeyContents::Session(found) = read_pipelined(replies, None).unwrap() else {
            panic!("a session");
        };
        assert!(!found.refreshed);
        assert_eq!(found.ttl, Some(Duration::from_secs(5)));

        let forever = vec![session(&["views", "3"]), Value::Int(-1)];
        let KeyContents::Session(found) = read_pipelined(forever, None).unwrap() else {
            panic!("a session");
        };
        assert_eq!(found.ttl, None, "no expiry");
    }

    #[test]
    fn a_session_gone_before_the_refresh_is_loaded_as_it_was_but_not_refreshed() {
        let replies = vec![session(&["views", "3"]), Value::Int(-2), Value::Int(0)];
        let KeyContents::Session(found) = read_pipelined(replies, Some(60_000)).unwrap() else {
            panic!("a session");
        };
        assert!(!found.refreshed);
        assert_eq!(found.ttl, Some(Duration::ZERO));
    }

    #[test]
    fn no_fields_is_no_session() {
        let replies = vec![hash(&[]), Value::Int(-2), Value::Int(0)];
        assert!(matches!(
            read_pipelined(replies, Some(60_000)),
            Ok(KeyContents::Missing)
        ));
    }

    #[test]
    fn a_key_of_another_type_is_foreign_with_its_earlier_time_to_live() {
        let wrong_type =
            resp("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
        let replies = vec![wrong_type, Value::Int(-1), Value::Int(1)];
        assert!(matches!(
            read_pipelined(replies, Some(60_000)),
            Ok(KeyContents::Foreign { pttl: -1 })
        ));
    }

    #[test]
    fn other_errors_and_odd_replies_fail_the_load() {
        let denied = resp("-NOPERM this user has no permissions to run the 'hgetall' command\r\n");
        let cases = [
            (vec![denied, Value::Int(-1)], None),
            (vec![session(&["views", "3"])], None),
            (vec![session(&["views", "3"]), Value::Int(5)], Some(60_000)),
            (
                vec![session(&["views", "3"]), Value::Int(5), Value::Int(1)],
                None,
            ),
            (vec![Value::Int(1), Value::Int(5)], None),
            (vec![session(&["views", "3"]), Value::Nil], None),
        ];
        for (replies, refresh) in cases {
            let shown = format!("{replies:?}");
            assert!(
                read_pipelined(replies, refresh).is_err(),
                "{shown} with refresh {refresh:?}"
            );
        }
    }
}
