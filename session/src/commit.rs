//! After the handler: turn what the request did to its session into at most one guarded
//! write (two for a renewal or a purge) and the cookies that go with it.

use std::time::SystemTime;

use actix_web::cookie::Cookie;

use crate::config::TtlPolicy;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::state::{Loaded, SessionState};
use crate::store::{ChangeSet, CommitOutcome, Record, WriteMode};

/// How many fresh ids a create tries before giving up. With 192-bit ids a second try
/// already means something is wrong with the randomness.
const CREATE_ATTEMPTS: usize = 3;

/// Saves the request's changes. Returns the cookies the response must carry.
pub(crate) async fn commit(
    state: &SessionState,
    loaded: &Loaded,
    secure: bool,
) -> Result<Vec<Cookie<'static>>, SessionError> {
    let cookie = &state.config.cookie;
    let changes = state.changes()?;

    if state.is_purged() {
        if let Some((id, _)) = loaded.existing() {
            state.config.store.delete(&state.key(id)).await?;
        }
        if changes.is_empty() {
            return Ok(cookie.removal(secure));
        }
        let id = create(state, changes, SystemTime::now()).await?;
        return Ok(cookie.issue(&id, secure));
    }

    let Some((id, record)) = loaded.existing() else {
        if changes.is_empty() {
            // A cookie that points at nothing (expired or ended) is cleared.
            let stale = loaded.inbound.is_some();
            return Ok(if stale {
                cookie.removal(secure)
            } else {
                Vec::new()
            });
        }
        let id = create(state, changes, SystemTime::now()).await?;
        return Ok(cookie.issue(&id, secure));
    };

    if state.wants_renewal() {
        let id = renew(state, id, record, changes).await?;
        return Ok(cookie.issue(&id, secure));
    }

    let refreshed = if changes.is_empty() {
        state.config.ttl_policy == TtlPolicy::OnEveryAccess
    } else {
        let update = ChangeSet {
            mode: WriteMode::Update,
            set: changes,
            remove: Vec::new(),
            ttl: state.config.ttl,
        };
        match state.config.store.commit(&state.key(id), &update).await? {
            CommitOutcome::Written => true,
            _ => return Err(SessionError::Ended),
        }
    };
    let resign = loaded
        .inbound
        .as_ref()
        .is_some_and(|inbound| inbound.resign);
    if resign || (refreshed && cookie.is_rolling()) {
        Ok(cookie.issue(id, secure))
    } else {
        Ok(Vec::new())
    }
}

/// Moves the session to a fresh id: the old record is deleted first, and only the request
/// that deleted it goes on to create the new one, so two racing renewals leave one session.
async fn renew(
    state: &SessionState,
    old: &SessionId,
    record: &Record,
    changes: Vec<(String, Vec<u8>)>,
) -> Result<SessionId, SessionError> {
    if !state.config.store.delete(&state.key(old)).await? {
        return Err(SessionError::Ended);
    }
    let mut fields = record.fields.clone();
    fields.extend(changes);
    create(state, fields.into_iter().collect(), record.created_at).await
}

/// Stores a new session under a fresh id, retrying on the (astronomically rare) collision.
async fn create(
    state: &SessionState,
    fields: Vec<(String, Vec<u8>)>,
    created_at: SystemTime,
) -> Result<SessionId, SessionError> {
    let changes = ChangeSet {
        mode: WriteMode::Create { created_at },
        set: fields,
        remove: Vec::new(),
        ttl: state.config.ttl,
    };
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate().map_err(|_| SessionError::NoId)?;
        match state.config.store.commit(&state.key(&id), &changes).await? {
            CommitOutcome::Written => return Ok(id),
            CommitOutcome::Collision | CommitOutcome::Missing => {
                tracing::warn!(session = %id.fingerprint(), "session id collision; trying another");
            }
        }
    }
    Err(SessionError::NoId)
}
