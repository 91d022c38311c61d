//! After the handler: turn what the request did to its session into at most one guarded
//! write (two for a renewal or a purge) and what the response must tell the client, which
//! the middleware hands to the transport.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use actix_web::HttpRequest;
use tracing::Instrument;

use crate::config::Config;
use crate::cookie::Lifetime;
use crate::error::SessionError;
use crate::events::{self, IndexValue, Outbox, SessionEvent, SessionEventKind};
use crate::id::SessionId;
use crate::sealed_commit;
use crate::state::{Loaded, SessionState};
use crate::store::{
    CommitOutcome, EndedByCap, IndexKey, IndexMoves, Layout, Record, TakeOver, WriteMode,
    INDEXES_FIELD,
};
use crate::telemetry::{self, Commit, End, Stopwatch};
use crate::transport::Handout;

/// How many fresh ids a create tries before giving up. With 192-bit ids a second try
/// already means something is wrong with the randomness.
const CREATE_ATTEMPTS: usize = 3;

/// Saves the changes of `req`, the request whose handler just ran. Returns what the
/// response must tell the client. A request that never touched its session costs
/// nothing here and is not measured (see `telemetry.rs`).
pub(crate) async fn commit(
    state: &SessionState,
    req: &HttpRequest,
) -> Result<Handout, SessionError> {
    if !has_work(state, req) {
        return Ok(Handout::Nothing);
    }
    let watch = Stopwatch::commit(state.fingerprint());
    let mut outbox = Outbox::new(&state.config.hooks);
    let saved = save(state, req, &mut outbox).instrument(watch.span()).await;
    watch.committed(saved.as_ref().map(|(_, done)| *done));
    if saved.is_ok() {
        outbox.deliver();
    }
    saved.map(|(handout, _)| handout)
}

/// Whether the request left its session anything to commit: it loaded it, wrote to it
/// without loading, or is a first visit that `save_uninitialized` saves. A request that
/// never used its session has nothing, and goes out untouched.
pub(crate) fn has_work(state: &SessionState, req: &HttpRequest) -> bool {
    state.writes_blind() || state.loaded_for_commit(req).is_some()
}

/// Settles the commit of a request that loaded a stored session and left it as it was,
/// with no cookie to hand out again: most reads. It is traced and counted as the
/// `unchanged` commit [`save`] would make of it, without a store call or a future of its
/// own. Returns whether it settled; `false` leaves the commit to [`commit`].
pub(crate) fn settle_unchanged(state: &SessionState, req: &HttpRequest) -> bool {
    if !left_as_loaded(state, req) {
        return false;
    }
    Stopwatch::commit(state.fingerprint()).committed(Ok(Commit::Unchanged));
    true
}

/// Whether [`save`] would find nothing to do: the request loaded a session that is stored,
/// changed no field of it, neither purged nor renewed it, and needs no cookie again (one
/// signed with an old key, or a rolling one whose time-to-live was refreshed). Errs on the
/// side of `false`, which only costs the full commit.
fn left_as_loaded(state: &SessionState, req: &HttpRequest) -> bool {
    let config = &state.config;
    if config.cookie_store.is_some()
        || state.writes_blind()
        || state.is_purged()
        || state.wants_renewal()
        || state.has_changes()
    {
        return false;
    }
    let Some(loaded) = state.loaded_for_commit(req) else {
        return false;
    };
    let Some((_, record)) = loaded.existing().filter(|_| !loaded.degraded) else {
        return false;
    };
    let refreshed = record.refreshed || state.touched();
    cookie_owed(config, loaded, record, refreshed).is_none()
}

/// The lifetime of the cookie a stored session's response must carry again, if any: one
/// signed with an old key is re-signed, and a rolling one follows a refreshed
/// time-to-live.
fn cookie_owed(
    config: &Config,
    loaded: &Loaded,
    record: &Record,
    refreshed: bool,
) -> Option<Lifetime> {
    let resign = loaded
        .inbound
        .as_ref()
        .is_some_and(|inbound| inbound.resign);
    let lifetime = config.lifetime_for(Some(record));
    (resign || (refreshed && lifetime.is_rolling())).then_some(lifetime)
}

/// The commit proper: what the response must tell the client, and what was done.
/// Its lifecycle events go to `outbox`, delivered only if it succeeds.
async fn save(
    state: &SessionState,
    req: &HttpRequest,
    outbox: &mut Outbox<'_>,
) -> Result<(Handout, Commit), SessionError> {
    if let Some(cookies) = &state.config.cookie_store {
        return sealed_commit::save(state, cookies, req, outbox);
    }
    if state.writes_blind() {
        return commit_blind(state, outbox).await;
    }
    let Some(loaded) = state.loaded_for_commit(req) else {
        return Ok((Handout::Nothing, Commit::Unchanged));
    };
    if loaded.degraded {
        return Ok((Handout::Nothing, Commit::FailedOpen));
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
        // A purge of a session that was never stored ends nothing.
        let done = |created| match loaded.existing() {
            Some(_) => Commit::Purged,
            None if created => Commit::Created,
            None => Commit::Unchanged,
        };
        if let Some((id, record)) = loaded.existing() {
            let existed = config
                .store
                .delete(&config.key(id), &placement.before_keys())
                .await?;
            if existed {
                // Only a delete that found the session ended one (not a double-clicked
                // logout, nor one that "sign out everywhere" beat).
                telemetry::ended(End::Purge, 1);
                outbox.push(|| {
                    let index = placement.values_before(Some(&record.fields));
                    SessionEvent::new(SessionEventKind::LoggedOut, id, index)
                });
            }
        }
        if changes.is_empty() {
            return Ok((Handout::Remove, done(false)));
        }
        let id = create_new(state, req, placement, changes, outbox).await?;
        return Ok((issue(id, None), done(true)));
    }

    let Some((id, record)) = loaded.existing() else {
        if changes.is_empty() && !config.save_uninitialized {
            // A cookie that points at nothing (expired or ended) is cleared.
            let stale = loaded.inbound.is_some();
            let handout = if stale {
                Handout::Remove
            } else {
                Handout::Nothing
            };
            return Ok((handout, Commit::Unchanged));
        }
        let id = create_new(state, req, placement(), changes, outbox).await?;
        return Ok((issue(id, loaded.record.as_ref()), Commit::Created));
    };

    if state.wants_renewal() {
        let placement = placement();
        let index = placement.values_after_if(outbox.wanted(), Some(&record.fields), &changes);
        let device = config.device_field(req);
        let (new, ended_by_cap) = renew(state, id, changes, &placement, device).await?;
        report_ended_by_cap(outbox, &placement, &index, &ended_by_cap);
        outbox.push(|| SessionEvent::renewed(id, &new, index));
        return Ok((issue(new, Some(record)), Commit::Renewed));
    }

    let done = if changes.is_empty() {
        Commit::Unchanged
    } else {
        Commit::Updated
    };
    let refreshed = if changes.is_empty() {
        record.refreshed || state.touched()
    } else {
        let placement = placement();
        let mut changes = changes;
        let mut remove = Vec::new();
        placement.record(&mut changes, &mut remove);
        let moves = placement.moves(state);
        let mut update =
            config.change_set(WriteMode::update_of(record), changes, Some(record), None);
        update.remove.extend(remove);
        update.index = moves;
        let committed = config.store.commit(&config.key(id), &update).await?;
        if committed != CommitOutcome::Written {
            return Err(SessionError::Ended);
        }
        let index = placement.values_after_if(outbox.wanted(), Some(&record.fields), &update.set);
        report_ended_by_cap(outbox, &placement, &index, &committed.ended_by_cap);
        true
    };
    let handout = match cookie_owed(config, loaded, record, refreshed) {
        Some(lifetime) => Handout::Issue {
            id: id.clone(),
            lifetime,
        },
        None => Handout::Nothing,
    };
    Ok((handout, done))
}

/// The commit of a request whose only session arguments were `SessionWriter`s that did not
/// load: the fields they set go to the session behind the request's id in one guarded
/// update (which refuses a session that is gone, and refreshes the time-to-live), or, when
/// there is none, into a new session. An update refused after an increment of this request
/// landed means the session ended meanwhile: [`SessionError::Ended`], as for a loaded
/// session.
async fn commit_blind(
    state: &SessionState,
    outbox: &mut Outbox<'_>,
) -> Result<(Handout, Commit), SessionError> {
    if state.is_degraded() {
        return Ok((Handout::Nothing, Commit::FailedOpen));
    }
    let config = &state.config;
    let changes = state.changes()?;
    let inbound = state.blind_inbound();
    let live = inbound.filter(|_| !state.has_no_session());
    if let Some(inbound) = live {
        let written = if changes.is_empty() {
            state.touched()
        } else {
            let update = config.change_set(
                WriteMode::Update { created_at: None },
                changes.clone(),
                None,
                None,
            );
            // A writer never sets the index field: the update joins no index.
            match config
                .store
                .commit(&config.key(&inbound.id), &update)
                .await?
                .outcome
            {
                CommitOutcome::Written => true,
                _ if state.touched() => return Err(SessionError::Ended),
                _ => false,
            }
        };
        if written || changes.is_empty() {
            let lifetime = config.lifetime_for(None);
            let handout = if inbound.resign || (written && lifetime.is_rolling()) {
                Handout::Issue {
                    id: inbound.id.clone(),
                    lifetime,
                }
            } else {
                Handout::Nothing
            };
            let done = if changes.is_empty() {
                Commit::Unchanged
            } else {
                Commit::Updated
            };
            return Ok((handout, done));
        }
    }
    if changes.is_empty() && !config.save_uninitialized {
        // A cookie that points at nothing (expired or ended) is cleared.
        let handout = if inbound.is_some() {
            Handout::Remove
        } else {
            Handout::Nothing
        };
        return Ok((handout, Commit::Unchanged));
    }
    let moves = config.index_moves(Vec::new(), Vec::new());
    // No document to state `Secure` in: under a Node preset writers load (`writers_load`).
    // A writer never sets the index field: the new session is in no index, and no
    // session ends for the cap.
    let (id, _) = create(state, changes, SystemTime::now(), None, moves, None, None).await?;
    outbox.push(|| SessionEvent::new(SessionEventKind::Created, &id, Vec::new()));
    let handout = Handout::Issue {
        id,
        lifetime: config.lifetime_for(None),
    };
    Ok((handout, Commit::Created))
}

/// Moves the session to a fresh id: the old record is deleted first, and only the request
/// that deleted it goes on to create the new one, so two racing renewals leave one session.
/// The delete hands back the session as it was then, and the new one starts from that:
/// writes other requests made since this one loaded move with it.
/// The new id takes the old one's place in its indexes only if the old one is still there,
/// so a renewal racing "sign out everywhere" ends with the rest (see [`TakeOver`]).
async fn renew(
    state: &SessionState,
    old: &SessionId,
    changes: Vec<(String, Vec<u8>)>,
    placement: &Placement,
    device: Option<(String, Vec<u8>)>,
) -> Result<(SessionId, Vec<EndedByCap>), SessionError> {
    let config = &state.config;
    let kept: Vec<IndexKey> = placement
        .before
        .values()
        .filter(|index| placement.after.values().any(|after| after == *index))
        .cloned()
        .collect();
    // The old id stays in the indexes the new one takes over; in any other it is left
    // as a stale entry, which listings drop.
    let Some(retired) = config.store.retire(&config.key(old), &kept).await? else {
        return Err(SessionError::Ended);
    };
    // The session as it was when retired, with what other requests (and this one's
    // increments) wrote since the load, then this request's changes.
    let mut fields = retired.fields.clone();
    fields.extend(changes);
    let mut remove = Vec::new();
    placement.record(&mut fields, &mut remove);
    for name in remove {
        fields.remove(&name);
    }
    // Its joins are the indexes the old session was not in; it leaves none (the old id is
    // the one left behind).
    let mut moves = placement.moves(state);
    moves.leave.clear();
    moves.take_over = Some(TakeOver {
        from: old.clone(),
        indexes: kept,
    });
    // A record without a creation time starts its absolute timeout now.
    let created_at = retired.created_at.unwrap_or_else(SystemTime::now);
    create(
        state,
        fields.into_iter().collect(),
        created_at,
        Some(&retired),
        moves,
        device,
        None,
    )
    .await
}

/// The per-user indexes the session is in before this request and belongs in after it,
/// by the name of the indexed field.
struct Placement {
    /// What the session recorded in [`INDEXES_FIELD`], plus what the extracted structs'
    /// stored values say for a session stored before it recorded them.
    before: BTreeMap<String, IndexKey>,
    after: BTreeMap<String, IndexKey>,
    /// What the session recorded, to tell whether the record needs rewriting.
    recorded: BTreeMap<String, String>,
    /// Whether the session keeps the record: not in the JSON layout, whose document a
    /// Node app reads and writes (koa-session drops keys starting with `_` when it saves,
    /// and express-session would hand the record to the app as session data). There the
    /// indexes follow the structs the request extracted.
    keeps_record: bool,
}

impl Placement {
    /// Read from the session's record of its indexes, the stored record and the
    /// request's changes for every typed view with an `#[session(index)]` field. A
    /// `null` value (a `None`) is in no index. An index field of a struct the request did
    /// not extract keeps the index it recorded, unless the request changed that stored
    /// field through another struct that shares its name (without `index`): the session
    /// then moves to the index of its new value, so no struct can take a session out of
    /// its user's index by writing the field.
    fn of(state: &SessionState, loaded: &Loaded, changes: &[(String, Vec<u8>)]) -> Self {
        let config = &state.config;
        let stored = loaded.existing().map(|(_, record)| &record.fields);
        let recorded: BTreeMap<String, String> = stored
            .and_then(|fields| fields.get(INDEXES_FIELD))
            .and_then(|value| serde_json::from_slice(value).ok())
            .unwrap_or_default();
        let mut before: BTreeMap<String, IndexKey> = recorded
            .iter()
            .filter_map(|(field, key)| Some((field.clone(), config.recorded_index(key)?)))
            .collect();
        // After a purge nothing of the old record carries over.
        let mut after = if state.is_purged() {
            BTreeMap::new()
        } else {
            before.clone()
        };
        let mut fields = state.index_fields();
        for recorded in recorded.keys() {
            let changed = changes.iter().any(|(name, _)| name == recorded);
            if changed && !fields.contains(&recorded.as_str()) {
                fields.push(recorded);
            }
        }
        for field in fields {
            let index = |value: &Vec<u8>| config.index_key(field, value);
            let old = stored.and_then(|fields| fields.get(field));
            if let (false, Some(key)) = (before.contains_key(field), old.and_then(index)) {
                before.insert(field.to_owned(), key);
            }
            // A later value of the same field wins, as in the write (two structs that
            // share the name may both have set it).
            let changed = changes.iter().rev().find(|(name, _)| name == field);
            let new = match changed {
                Some((_, value)) => Some(value),
                None if state.is_purged() => None,
                None => old,
            };
            match new.and_then(index) {
                Some(key) => after.insert(field.to_owned(), key),
                None => after.remove(field),
            };
        }
        Placement {
            before,
            after,
            recorded,
            keeps_record: config.layout == Layout::Fields,
        }
    }

    /// The values of the index fields the session was in, from its stored `fields`, as
    /// an event carries them.
    fn values_before(&self, fields: Option<&HashMap<String, Vec<u8>>>) -> Vec<IndexValue> {
        let stored = |field: &String| fields?.get(field).map(Vec::as_slice);
        events::index_values(
            self.before
                .keys()
                .filter_map(|field| Some((field.as_str(), stored(field)?))),
        )
    }

    /// The values of the index fields the session is in after the commit (its `changes`
    /// over the `fields` it keeps), as an event carries them; none unless `wanted` (an
    /// event hook is registered).
    fn values_after_if(
        &self,
        wanted: bool,
        fields: Option<&HashMap<String, Vec<u8>>>,
        changes: &[(String, Vec<u8>)],
    ) -> Vec<IndexValue> {
        if !wanted {
            return Vec::new();
        }
        let value = |field: &String| {
            changes
                .iter()
                .rev()
                .find(|(name, _)| name == field)
                .map(|(_, value)| value.as_slice())
                .or_else(|| fields?.get(field).map(Vec::as_slice))
        };
        events::index_values(
            self.after
                .keys()
                .filter_map(|field| Some((field.as_str(), value(field)?))),
        )
    }

    /// Among `values` (the session's, after the commit), the value of the index field
    /// whose index is `index`.
    fn values_in(&self, index: &IndexKey, values: &[IndexValue]) -> Vec<IndexValue> {
        self.after
            .iter()
            .filter(|(_, key)| *key == index)
            .filter_map(|(field, _)| values.iter().find(|value| value.field() == field))
            .cloned()
            .collect()
    }

    fn before_keys(&self) -> Vec<IndexKey> {
        self.before.values().cloned().collect()
    }

    /// Adds the rewrite of the session's record of its indexes to a write, when it changed:
    /// into `set`, or its name into `remove` when the session is in no index any more.
    fn record<S: Extend<(String, Vec<u8>)>>(&self, set: &mut S, remove: &mut Vec<String>) {
        let now: BTreeMap<&str, &str> = self
            .after
            .iter()
            .map(|(field, key)| (field.as_str(), key.recorded_name()))
            .collect();
        let then: BTreeMap<&str, &str> = self
            .recorded
            .iter()
            .map(|(field, key)| (field.as_str(), key.as_str()))
            .collect();
        if now == then || !self.keeps_record {
            return;
        }
        if now.is_empty() {
            remove.push(INDEXES_FIELD.to_owned());
        } else if let Ok(value) = serde_json::to_vec(&now) {
            set.extend([(INDEXES_FIELD.to_owned(), value)]);
        }
    }

    /// A new session's fields, with its record of indexes, and the indexes it joins; the
    /// placement becomes that of the new session, which was in no index before.
    fn for_new_session(
        &mut self,
        state: &SessionState,
        mut changes: Vec<(String, Vec<u8>)>,
    ) -> (Vec<(String, Vec<u8>)>, IndexMoves) {
        self.before.clear();
        self.recorded.clear();
        self.record(&mut changes, &mut Vec::new());
        (changes, self.moves(state))
    }

    /// The moves of a session that keeps its id.
    fn moves(&self, state: &SessionState) -> IndexMoves {
        let before: Vec<&IndexKey> = self.before.values().collect();
        let after: Vec<&IndexKey> = self.after.values().collect();
        let join = after
            .iter()
            .filter(|key| !before.contains(key))
            .map(|key| (*key).clone())
            .collect();
        let leave = before
            .iter()
            .filter(|key| !after.contains(key))
            .map(|key| (*key).clone())
            .collect();
        state.config.index_moves(join, leave)
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
    let stored = loaded
        .existing()
        .filter(|_| !state.is_purged())
        .map(|(_, record)| &record.fields);
    state.config.check_size(stored, changes)
}

/// Stores the request's session as a new one (a first write, or a write after `purge()`)
/// and reports it to `outbox`. A login records the device of the request; a new visitor's
/// create reads no header for it.
async fn create_new(
    state: &SessionState,
    req: &HttpRequest,
    mut placement: Placement,
    changes: Vec<(String, Vec<u8>)>,
    outbox: &mut Outbox<'_>,
) -> Result<SessionId, SessionError> {
    let config = &state.config;
    let index = placement.values_after_if(outbox.wanted(), None, &changes);
    let (changes, moves) = placement.for_new_session(state, changes);
    let device = moves
        .enters_any()
        .then(|| config.device_field(req))
        .flatten();
    let secure = config.secure_to_state(req);
    let (id, ended_by_cap) = create(
        state,
        changes,
        SystemTime::now(),
        None,
        moves,
        device,
        secure,
    )
    .await?;
    report_ended_by_cap(outbox, &placement, &index, &ended_by_cap);
    outbox.push(|| SessionEvent::new(SessionEventKind::Created, &id, index));
    Ok(id)
}

/// Reports the sessions a commit ended to make room in a full index (a login past
/// `max_sessions_per_index`), each with the value of the index field it was ended by:
/// the user whose newest login ended it.
fn report_ended_by_cap(
    outbox: &mut Outbox<'_>,
    placement: &Placement,
    values: &[IndexValue],
    ended_by_cap: &[EndedByCap],
) {
    if ended_by_cap.is_empty() {
        return;
    }
    telemetry::ended(End::Cap, ended_by_cap.len());
    for ended in ended_by_cap {
        outbox.push(|| {
            let index = placement.values_in(&ended.index, values);
            SessionEvent::new(SessionEventKind::EndedByCap, &ended.id, index)
        });
    }
}

/// Stores a new session under a fresh id, retrying on the (astronomically rare) collision.
/// `renewed` is the session a renewal moves, which the new one starts from (and whose
/// document keeps what it stated). A session that enters an index (a login) records
/// `device`, the device of the request; `secure` is what its document states of the
/// request's scheme (`Config::secure_to_state`). Returns the new id, and the sessions the
/// store ended to keep the indexes it joined within their cap.
async fn create(
    state: &SessionState,
    fields: Vec<(String, Vec<u8>)>,
    created_at: SystemTime,
    renewed: Option<&Record>,
    moves: IndexMoves,
    device: Option<(String, Vec<u8>)>,
    secure: Option<bool>,
) -> Result<(SessionId, Vec<EndedByCap>), SessionError> {
    let mut changes =
        state
            .config
            .change_set(WriteMode::Create { created_at }, fields, renewed, secure);
    if let (true, Some(device)) = (moves.enters_any(), device) {
        changes.set.retain(|(name, _)| *name != device.0);
        changes.set.push(device);
    }
    changes.index = moves;
    let id_format = state.config.transport.id_format();
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate_as(id_format).map_err(|_| SessionError::NoId)?;
        let committed = state
            .config
            .store
            .commit(&state.config.key(&id), &changes)
            .await?;
        match committed.outcome {
            CommitOutcome::Written => {
                telemetry::created(renewed.is_some());
                return Ok((id, committed.ended_by_cap));
            }
            // Signed out meanwhile: the session this one renews left its index, or the
            // new one was taken out before it was written.
            CommitOutcome::Missing => return Err(SessionError::Ended),
            CommitOutcome::Collision => {
                tracing::warn!(session = %id.fingerprint(), "session id collision; trying another");
            }
        }
    }
    Err(SessionError::NoId)
}
