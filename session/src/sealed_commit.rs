//! After the handler, under the cookie store: what the request did to its session
//! becomes the session's new cookie (or its removal), and no store call. The cookie
//! holds the whole session, so every write seals all of it again, with a fresh nonce and
//! the expiry moved to a full time-to-live.
//!
//! The same outcomes as `commit.rs`, within what a cookie can do: a renewal gives a new id
//! (the old cookie, if someone kept a copy, stays valid until its expiry: nothing on the
//! server can revoke it), a purge sends the removal cookie, a session too large for a
//! browser's cookie fails the commit, and the response is replaced as for any failed
//! commit.

use std::collections::HashMap;
use std::time::SystemTime;

use actix_web::HttpRequest;

use crate::cookie::Lifetime;
use crate::cookie_payload::CookieSession;
use crate::cookie_store::CookieStore;
use crate::error::SessionError;
use crate::events::{Outbox, SessionEvent, SessionEventKind};
use crate::id::SessionId;
use crate::state::SessionState;
use crate::store::time::clamp_ttl;
use crate::store::Snapshot;
use crate::telemetry::{self, Commit, End};
use crate::transport::Handout;

/// The commit of a cookie-store request: the handout carrying the session sealed anew,
/// a removal, or nothing. Its lifecycle events go to `outbox`, delivered only if it
/// succeeds.
pub(crate) fn save(
    state: &SessionState,
    cookies: &CookieStore,
    req: &HttpRequest,
    outbox: &mut Outbox<'_>,
) -> Result<(Handout, Commit), SessionError> {
    let config = &state.config;
    let Some(loaded) = state.loaded_for_commit(req) else {
        return Ok((Handout::Nothing, Commit::Unchanged));
    };
    // Every commit that succeeds from here clears or replaces a timed-out cookie: that is
    // the session's end, since no record of it can be deleted.
    if let Some(inbound) = loaded.inbound.as_ref().filter(|_| loaded.timed_out) {
        outbox.push(|| SessionEvent::new(SessionEventKind::TimedOut, &inbound.id, Vec::new()));
    }
    let changes = state.changes()?;
    let stored = loaded.existing().filter(|_| !state.is_purged());
    config.check_size(stored.map(|(_, record)| &record.fields), &changes)?;
    let seal = Sealing { state, cookies };

    if state.is_purged() {
        let ended = loaded.existing().map(|(id, _)| id);
        if let Some(id) = ended {
            telemetry::ended(End::Purge, 1);
            outbox.push(|| SessionEvent::new(SessionEventKind::LoggedOut, id, Vec::new()));
        }
        let done = if ended.is_some() {
            Commit::Purged
        } else {
            Commit::Unchanged
        };
        if changes.is_empty() {
            return Ok((Handout::Remove, done));
        }
        let (handout, id) = seal.new_session(changes.into_iter().collect())?;
        outbox.push(|| SessionEvent::new(SessionEventKind::Created, &id, Vec::new()));
        let done = if ended.is_some() {
            Commit::Purged
        } else {
            Commit::Created
        };
        return Ok((handout, done));
    }

    let Some((id, record)) = stored else {
        if changes.is_empty() && !config.save_uninitialized {
            // A cookie that opened to nothing live (expired, past the absolute timeout)
            // is cleared.
            let handout = if loaded.inbound.is_some() {
                Handout::Remove
            } else {
                Handout::Nothing
            };
            return Ok((handout, Commit::Unchanged));
        }
        let (handout, id) = seal.new_session(changes.into_iter().collect())?;
        outbox.push(|| SessionEvent::new(SessionEventKind::Created, &id, Vec::new()));
        return Ok((handout, Commit::Created));
    };

    let mut fields = record.fields.clone();
    let changed = !changes.is_empty();
    fields.extend(changes);
    // A session whose cookie kept no creation time starts its absolute timeout now.
    let created_at = record.created_at.unwrap_or_else(SystemTime::now);

    // What the cookie itself says, for a format that keeps it (koa-session's `_maxAge`).
    let lifetime = config.lifetime_for(Some(record));

    // The cookie's document as opened, for a format that keeps one: each write starts from
    // it, as a store's commit starts from its snapshot.
    let opened = record.snapshot.clone();
    if state.wants_renewal() {
        let new = SessionId::generate().map_err(|_| SessionError::NoId)?;
        let handout = seal.session(new.clone(), Some(created_at), fields, opened, lifetime)?;
        telemetry::created(true);
        outbox.push(|| SessionEvent::renewed(id, &new, Vec::new()));
        return Ok((handout, Commit::Renewed));
    }

    let resealed = loaded
        .inbound
        .as_ref()
        .is_some_and(|inbound| inbound.resign);
    if !changed && !record.refreshed && !resealed {
        return Ok((Handout::Nothing, Commit::Unchanged));
    }
    let handout = seal.session(id.clone(), Some(created_at), fields, opened, lifetime)?;
    let done = if changed {
        Commit::Updated
    } else {
        Commit::Unchanged
    };
    Ok((handout, done))
}

/// Seals sessions into the cookies of one response.
struct Sealing<'a> {
    state: &'a SessionState,
    cookies: &'a CookieStore,
}

impl Sealing<'_> {
    /// A new session under a fresh id, created now, holding `fields`.
    fn new_session(
        &self,
        fields: HashMap<String, Vec<u8>>,
    ) -> Result<(Handout, SessionId), SessionError> {
        let id = SessionId::generate().map_err(|_| SessionError::NoId)?;
        let lifetime = self.state.config.lifetime_for(None);
        let handout = self.session(id.clone(), Some(SystemTime::now()), fields, None, lifetime)?;
        telemetry::created(false);
        Ok((handout, id))
    }

    /// The cookies of session `id`: `fields`, its creation time and an expiry a full
    /// time-to-live from now (every write moves it, as a store's does), sealed and checked
    /// to fit a browser with the cookie `lifetime`. `snapshot`: the document its cookie
    /// held, for a codec that keeps one.
    fn session(
        &self,
        id: SessionId,
        created_at: Option<SystemTime>,
        fields: HashMap<String, Vec<u8>>,
        snapshot: Option<Snapshot>,
        lifetime: Lifetime,
    ) -> Result<Handout, SessionError> {
        let config = &self.state.config;
        let now = SystemTime::now();
        let session = CookieSession {
            id,
            created_at,
            expires_at: now.checked_add(clamp_ttl(config.ttl)).unwrap_or(now),
            fields,
            snapshot,
        };
        let cookies = self
            .cookies
            .write(config.transport.cookie(), &session, lifetime)?;
        Ok(Handout::Sealed { cookies, lifetime })
    }
}
