//! After the handler: turn what the request did to its session into at most one guarded
//! write (two for a renewal or a purge) and what the response must tell the client, which
//! the middleware hands to the transport.

use std::time::SystemTime;

use actix_web::HttpRequest;

use crate::error::SessionError;
use crate::id::SessionId;
use crate::state::{Loaded, SessionState};
use crate::store::{CommitOutcome, IndexKey, IndexMoves, Record, WriteMode};
use crate::transport::Handout;

/// How many fresh ids a create tries before giving up. With 192-bit ids a second try
/// already means something is wrong with the randomness.
const CREATE_ATTEMPTS: usize = 3;

/// Saves the changes of `req`, the request whose handler just ran. Returns what the
/// response must tell the client.
pub(crate) async fn commit(
    state: &SessionState,
    req: &HttpRequest,
) -> Result<Handout, SessionError> {
    let Some(loaded) = state.loaded_for_commit(req) else {
        return Ok(Handout::Nothing);
    };
    if loaded.degraded {
        return Ok(Handout::Nothing);
    }
    let config = &state.config;
    let changes = state.changes()?;
    check_size(state, loaded, &changes)?;
    // Worked out only where a write follows: a read (most requests) moves nothing.
    let placement = || Placement::of(state, loaded, &changes);
    // A session that says how long its cookie lives (a Node app's) keeps that lifetime.
    let issue = |id, record: Option<&Record>| Handout::Issue {
        id,
        lifetime: config.lifetime_for(record),
    };

    if state.is_purged() {
        let placement = placement();
        if let Some((id, _)) = loaded.existing() {
            config
                .store
                .delete(&config.key(id), &placement.before)
                .await?;
        }
        if changes.is_empty() {
            return Ok(Handout::Remove);
        }
        let id = create(state, changes, SystemTime::now(), None, placement.after).await?;
        return Ok(issue(id, None));
    }

    let Some((id, record)) = loaded.existing() else {
        if changes.is_empty() && !config.save_uninitialized {
            // A cookie that points at nothing (expired or ended) is cleared.
            let stale = loaded.inbound.is_some();
            return Ok(if stale {
                Handout::Remove
            } else {
                Handout::Nothing
            });
        }
        let after = placement().after;
        let id = create(state, changes, SystemTime::now(), None, after).await?;
        return Ok(issue(id, loaded.record.as_ref()));
    };

    if state.wants_renewal() {
        let placement = placement();
        let id = renew(state, id, record, changes, placement).await?;
        return Ok(issue(id, Some(record)));
    }

    let refreshed = if changes.is_empty() {
        record.refreshed
    } else {
        let moves = placement().moves(state);
        let mut update = config.change_set(WriteMode::update_of(record), changes, Some(record));
        update.index = moves;
        match config.store.commit(&config.key(id), &update).await? {
            CommitOutcome::Written => true,
            _ => return Err(SessionError::Ended),
        }
    };
    let resign = loaded
        .inbound
        .as_ref()
        .is_some_and(|inbound| inbound.resign);
    let lifetime = config.lifetime_for(Some(record));
    if resign || (refreshed && lifetime.is_rolling()) {
        Ok(Handout::Issue {
            id: id.clone(),
            lifetime,
        })
    } else {
        Ok(Handout::Nothing)
    }
}

/// Moves the session to a fresh id: the old record is deleted first, and only the request
/// that deleted it goes on to create the new one, so two racing renewals leave one session.
async fn renew(
    state: &SessionState,
    old: &SessionId,
    record: &Record,
    changes: Vec<(String, Vec<u8>)>,
    placement: Placement,
) -> Result<SessionId, SessionError> {
    let old = state.config.key(old);
    if !state.config.store.delete(&old, &placement.before).await? {
        return Err(SessionError::Ended);
    }
    let mut fields = record.fields.clone();
    fields.extend(changes);
    // A record without a creation time starts its absolute timeout now.
    let created_at = record.created_at.unwrap_or_else(SystemTime::now);
    create(
        state,
        fields.into_iter().collect(),
        created_at,
        Some(record),
        placement.after,
    )
    .await
}

/// The per-user indexes the session is in before this request and belongs in after it.
struct Placement {
    before: Vec<IndexKey>,
    after: Vec<IndexKey>,
}

impl Placement {
    /// Read from the stored record and the request's changes, for every typed view with an
    /// `#[session(index)]` field. A `null` value (a `None`) is in no index.
    fn of(state: &SessionState, loaded: &Loaded, changes: &[(String, Vec<u8>)]) -> Self {
        let stored = loaded.existing().map(|(_, record)| &record.fields);
        let mut placement = Placement {
            before: Vec::new(),
            after: Vec::new(),
        };
        for field in state.index_fields() {
            let index = |value: &Vec<u8>| state.config.index_key(field, value);
            let old = stored.and_then(|fields| fields.get(field));
            let changed = changes.iter().find(|(name, _)| name == field);
            // After a purge nothing of the old record carries over.
            let new = match changed {
                Some((_, value)) => Some(value),
                None if state.is_purged() => None,
                None => old,
            };
            placement.before.extend(old.and_then(index));
            placement.after.extend(new.and_then(index));
        }
        placement
    }

    /// The moves of a session that keeps its id.
    fn moves(self, state: &SessionState) -> IndexMoves {
        let Placement { before, after } = self;
        IndexMoves {
            join: after
                .iter()
                .filter(|key| !before.contains(key))
                .cloned()
                .collect(),
            leave: before
                .into_iter()
                .filter(|key| !after.contains(key))
                .collect(),
            ttl: state.config.absolute_timeout,
        }
    }
}

/// Refuses, before any store call, a commit that would leave the session over the size
/// limit and larger than it was, so nothing is written in part. A session already over the
/// limit (a limit lowered since, or a field another program wrote) can still shrink, end
/// or change in place: only growth is refused.
fn check_size(
    state: &SessionState,
    loaded: &Loaded,
    changes: &[(String, Vec<u8>)],
) -> Result<(), SessionError> {
    let Some(limit) = state.config.max_session_size else {
        return Ok(());
    };
    let entry_size = |(name, value): (&String, &Vec<u8>)| name.len() + value.len();
    let changed = |name: &String| changes.iter().any(|(changed, _)| changed == name);
    let mut size: usize = changes
        .iter()
        .map(|(name, value)| entry_size((name, value)))
        .sum();
    let mut before = 0;
    if let (Some((_, record)), false) = (loaded.existing(), state.is_purged()) {
        before = record.fields.iter().map(entry_size).sum();
        size += record
            .fields
            .iter()
            .filter(|(name, _)| !changed(name))
            .map(entry_size)
            .sum::<usize>();
    }
    if size > limit && size > before {
        return Err(SessionError::TooLarge { size, limit });
    }
    Ok(())
}

/// Stores a new session under a fresh id, retrying on the (astronomically rare) collision.
/// `renewed` is the session a renewal moves, which the new one starts from.
async fn create(
    state: &SessionState,
    fields: Vec<(String, Vec<u8>)>,
    created_at: SystemTime,
    renewed: Option<&Record>,
    indexes: Vec<IndexKey>,
) -> Result<SessionId, SessionError> {
    let mut changes = state
        .config
        .change_set(WriteMode::Create { created_at }, fields, renewed);
    changes.index = IndexMoves {
        join: indexes,
        leave: Vec::new(),
        ttl: state.config.absolute_timeout,
    };
    let id_format = state.config.transport.id_format();
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate_as(id_format).map_err(|_| SessionError::NoId)?;
        match state
            .config
            .store
            .commit(&state.config.key(&id), &changes)
            .await?
        {
            CommitOutcome::Written => return Ok(id),
            CommitOutcome::Collision | CommitOutcome::Missing => {
                tracing::warn!(session = %id.fingerprint(), "session id collision; trying another");
            }
        }
    }
    Err(SessionError::NoId)
}
