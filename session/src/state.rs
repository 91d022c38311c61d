//! The lazy session of one request: nothing is read until a handler extracts a
//! `Session<T>` (or, under `save_uninitialized`, the commit looks for a guest's id), and
//! then once, however many extractors ask.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::HttpRequest;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::config::Config;
use crate::cookie::Inbound;
use crate::cookie_store::{CookieStore, Opened};
use crate::data::{SessionData, Typed};
use crate::error::{SessionError, StoreError};
use crate::events::{self, IndexValue, SessionEvent, SessionEventKind};
use crate::id::SessionId;
use crate::part::Part;
use crate::signing::Verified;
use crate::store::{Record, INDEXES_FIELD};
use crate::telemetry::{self, Load, Operation, Stopwatch};

/// What the first extraction found.
pub(crate) struct Loaded {
    /// The verified id the request carried, if any.
    pub(crate) inbound: Option<Inbound>,
    /// The stored session behind it; `None` for a new visitor or an ended session.
    pub(crate) record: Option<Record>,
    /// The store failed and fail-open let the request go on without it: nothing is
    /// committed and no cookie is sent.
    pub(crate) degraded: bool,
    /// Under the cookie store, the cookie's session was past the absolute timeout. No
    /// record ends with it, so the commit that clears or replaces the cookie reports it;
    /// a store's load reports its own, once its delete found it.
    pub(crate) timed_out: bool,
}

impl Loaded {
    /// What a load found: the id the request carried and the record behind it.
    fn new(inbound: Option<Inbound>, record: Option<Record>) -> Self {
        Loaded {
            inbound,
            record,
            degraded: false,
            timed_out: false,
        }
    }

    /// For logs: the fingerprint of the id, never the id. Worked out only when a line is
    /// logged, which most requests never do.
    pub(crate) fn fingerprint(&self) -> LogId<'_> {
        LogId(self.inbound.as_ref().map(|inbound| &inbound.id))
    }

    /// The id and record of a session that exists in the store.
    pub(crate) fn existing(&self) -> Option<(&SessionId, &Record)> {
        Some((&self.inbound.as_ref()?.id, self.record.as_ref()?))
    }
}

/// A session in log lines: the fingerprint of its id (see [`SessionId::fingerprint`]), or
/// `new` for a request that came without one.
pub(crate) struct LogId<'a>(Option<&'a SessionId>);

impl fmt::Display for LogId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => f.write_str(&id.fingerprint()),
            None => f.write_str("new"),
        }
    }
}

/// Placed in the request's extensions by the middleware; shared by every `Session<T>`
/// and `SessionWriter<T>`.
pub(crate) struct SessionState {
    pub(crate) config: Arc<Config>,
    loaded: OnceCell<Loaded>,
    parts: RefCell<Vec<(TypeId, Rc<dyn Part>)>>,
    purged: Cell<bool>,
    renew: Cell<bool>,
    /// What writers that did not load saw and did (see [`Blind`]).
    blind: Blind,
    /// An increment changed the stored session, and so moved its expiry.
    touched: Cell<bool>,
}

/// What `SessionWriter<T>`s that did not load know: the id the request carried, read once,
/// and the typed views they write through, which start from the defaults and are never
/// read (a writer has no getters), only their dirty fields committed.
#[derive(Default)]
struct Blind {
    inbound: std::cell::OnceCell<Option<Inbound>>,
    parts: RefCell<Vec<(TypeId, Rc<dyn Part>)>>,
    /// An increment found no session behind the id: the commit creates one.
    no_session: Cell<bool>,
    /// The store failed and fail-open let the request go on: nothing is committed.
    degraded: Cell<bool>,
}

/// The stored session an increment goes to.
pub(crate) struct Target<'a> {
    pub(crate) id: &'a SessionId,
    /// The session as loaded; `None` when a writer did not load it.
    pub(crate) record: Option<&'a Record>,
}

impl SessionState {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            loaded: OnceCell::new(),
            parts: RefCell::new(Vec::new()),
            purged: Cell::new(false),
            renew: Cell::new(false),
            blind: Blind::default(),
            touched: Cell::new(false),
        }
    }

    /// A state that has already loaded a stored session, with `typed` as its view of `T`:
    /// what a handler called directly from a unit test sees.
    pub(crate) fn preloaded<T: SessionData>(config: Arc<Config>, typed: Rc<Typed<T>>) -> Self {
        let state = Self::new(config);
        let record = Record {
            fields: HashMap::new(),
            created_at: Some(SystemTime::now()),
            ttl: Some(state.config.ttl),
            refreshed: false,
            snapshot: None,
        };
        // A fresh cell: setting it cannot fail.
        let _ = state.loaded.set(Loaded::new(None, Some(record)));
        state.parts.borrow_mut().push((TypeId::of::<T>(), typed));
        state
    }

    /// Reads the id from the request and loads its record, once per request.
    pub(crate) async fn load(&self, req: &HttpRequest) -> Result<&Loaded, SessionError> {
        self.loaded
            .get_or_try_init(|| async {
                if let Some(cookies) = &self.config.cookie_store {
                    return Ok(self.open_cookie(cookies, req));
                }
                // A writer that came first may have read the id already.
                let inbound = match self.blind.inbound.get() {
                    Some(read) => read.clone(),
                    None => self.config.transport.read_id(req),
                };
                let fingerprint = LogId(inbound.as_ref().map(|found| &found.id));
                let watch = Stopwatch::load(&fingerprint);
                let Some(found) = &inbound else {
                    watch.loaded(Load::New, false);
                    return Ok(Loaded::new(inbound, None));
                };
                match self.fetch(&found.id).instrument(watch.span()).await {
                    Ok((record, outcome)) => {
                        watch.loaded(outcome, true);
                        Ok(Loaded::new(inbound, record))
                    }
                    Err(error) if self.config.fail_open => {
                        watch.loaded(Load::Error, true);
                        telemetry::failed_open(Operation::Load);
                        tracing::warn!(
                            session = %fingerprint, %error,
                            "session store unavailable: going on with a fresh session that will not be saved"
                        );
                        Ok(Loaded {
                            degraded: true,
                            ..Loaded::new(inbound, None)
                        })
                    }
                    Err(error) => {
                        watch.loaded(Load::Error, true);
                        tracing::error!(session = %fingerprint, %error, "loading the session failed");
                        Err(error.into())
                    }
                }
            })
            .await
    }

    /// The cookie store's load: the session the request's cookie carries, held to its
    /// expiry and the absolute timeout here, since no store forgets it. A refresh the
    /// policy asks for is a new sealing at commit, and a timeout is reported by the commit
    /// too. No store call.
    fn open_cookie(&self, cookies: &CookieStore, req: &HttpRequest) -> Loaded {
        let config = &self.config;
        let Some(Opened { session, verified }) = cookies.read(config.transport.cookie(), req)
        else {
            Stopwatch::load(LogId(None)).loaded(Load::New, false);
            return Loaded::new(None, None);
        };
        let fingerprint = LogId(Some(&session.id));
        let watch = Stopwatch::load(&fingerprint);
        let ttl_left = session
            .expires_at
            .duration_since(SystemTime::now())
            .ok()
            .filter(|left| !left.is_zero());
        let timed_out = ttl_left.is_some() && config.outlived(session.created_at);
        let record = match ttl_left {
            // The browser may keep a cookie longer than the server accepts it (a replayed
            // copy, a clock that is off): the server's expiry decides.
            None => {
                tracing::info!(session = %fingerprint, "session cookie past its expiry");
                None
            }
            Some(_) if timed_out => {
                tracing::info!(session = %fingerprint, "session reached its absolute timeout");
                None
            }
            Some(left) => Some(Record {
                created_at: session.created_at,
                ttl: Some(left),
                refreshed: config.refreshes_at_load(left),
                snapshot: session.snapshot,
                fields: session.fields,
            }),
        };
        watch.loaded(
            if record.is_some() {
                Load::Loaded
            } else {
                Load::Expired
            },
            false,
        );
        let inbound = Inbound {
            id: session.id,
            resign: verified == Verified::Rotated,
        };
        Loaded {
            timed_out,
            ..Loaded::new(Some(inbound), record)
        }
    }

    /// Whether `req` carries a session id (or, under the cookie store, a session) that
    /// passes every check.
    fn carries_session(&self, req: &HttpRequest) -> bool {
        match &self.config.cookie_store {
            Some(cookies) => cookies.read(self.config.transport.cookie(), req).is_some(),
            None => self.config.transport.read_id(req).is_some(),
        }
    }

    /// The live record of `id`, refreshing its time-to-live as the policy says, and what
    /// the load found. A session past the absolute timeout is deleted and reported absent.
    async fn fetch(&self, id: &SessionId) -> Result<(Option<Record>, Load), StoreError> {
        let config = &self.config;
        let fingerprint = LogId(Some(id));
        let key = config.key(id);
        let record = config.store.load(&key, config.load_options()).await?;
        match record {
            Some(record) if config.envelope.has_expired(&record) => {
                // As koa-session does: the stored session stays until its TTL, unused.
                tracing::info!(session = %fingerprint, "stored session says it has expired");
                Ok((None, Load::Expired))
            }
            Some(record) if config.outlived(record.created_at) => {
                tracing::info!(session = %fingerprint, "session reached its absolute timeout");
                // Any index entries go the way of stale ones: dropped when the index is listed.
                if config.store.delete(&key, &[]).await? {
                    config.hooks.emit(|| {
                        let index = recorded_index_values(&record.fields);
                        SessionEvent::new(SessionEventKind::TimedOut, id, index)
                    });
                }
                Ok((None, Load::Expired))
            }
            Some(record) => Ok((Some(record), Load::Loaded)),
            None => Ok((None, Load::New)),
        }
    }

    /// For logs: the fingerprint of the request's id, never the id.
    pub(crate) fn fingerprint(&self) -> LogId<'_> {
        self.loaded().map_or(LogId(None), Loaded::fingerprint)
    }

    /// The load's result, if a handler asked for the session.
    pub(crate) fn loaded(&self) -> Option<&Loaded> {
        self.loaded.get()
    }

    /// What the commit after the handler works on: the handler's load, or, for a guest
    /// under `save_uninitialized` (a request without an id whose handler never asked for
    /// the session), an empty session made here without a store call. `None`: nothing to
    /// commit. Reads the id only when the handler did not.
    pub(crate) fn loaded_for_commit(&self, req: &HttpRequest) -> Option<&Loaded> {
        if let Some(loaded) = self.loaded.get() {
            return Some(loaded);
        }
        if !self.config.save_uninitialized || self.carries_session(req) {
            return None;
        }
        // A fresh cell: setting it cannot fail.
        let _ = self.loaded.set(Loaded::new(None, None));
        self.loaded.get()
    }

    /// The typed view of `T`, decoded on first use and shared by later extractions. A
    /// writer of `T` extracted before the load wrote through a view of its own: that view
    /// becomes the loaded one, the fields it set over the stored ones, so the writer and
    /// the `Session<T>` see and change one struct whatever order they came in.
    pub(crate) fn typed<T: SessionData>(&self, loaded: &Loaded) -> Rc<Typed<T>> {
        let mut parts = self.parts.borrow_mut();
        if let Some(typed) = find_part::<T>(&parts) {
            return typed;
        }
        let empty = HashMap::new();
        let stored = match (&loaded.record, self.purged.get()) {
            (Some(record), false) => &record.fields,
            _ => &empty,
        };
        let typed = match take_part::<T>(&mut self.blind.parts.borrow_mut()) {
            Some(written) => {
                written.load_under_changes(stored, &loaded.fingerprint());
                written
            }
            None => Rc::new(Typed::<T>::decode(stored, &loaded.fingerprint())),
        };
        parts.push((TypeId::of::<T>(), typed.clone()));
        typed
    }

    /// The storage names of the `#[session(index)]` fields of every typed view.
    pub(crate) fn index_fields(&self) -> Vec<&'static str> {
        self.parts
            .borrow()
            .iter()
            .filter_map(|(_, part)| part.index_field())
            .collect()
    }

    /// Whether any typed view, loaded or a writer's, has a dirty field.
    pub(crate) fn has_changes(&self) -> bool {
        let dirty = |parts: &RefCell<Vec<(TypeId, Rc<dyn Part>)>>| {
            parts.borrow().iter().any(|(_, part)| part.has_changes())
        };
        dirty(&self.parts) || dirty(&self.blind.parts)
    }

    /// Every dirty field of every typed view, encoded: those of the loaded views, then
    /// those of writers that did not load (a later value of the same field wins).
    pub(crate) fn changes(&self) -> Result<Vec<(String, Vec<u8>)>, SessionError> {
        let mut changes = Vec::new();
        for (_, part) in self.parts.borrow().iter() {
            part.encode_dirty(&mut changes)?;
        }
        for (_, part) in self.blind.parts.borrow().iter() {
            part.encode_dirty(&mut changes)?;
        }
        Ok(changes)
    }

    /// Reads the id for a writer that does not load, once per request.
    pub(crate) fn read_id_for_writes(&self, req: &HttpRequest) {
        self.blind
            .inbound
            .get_or_init(|| self.config.transport.read_id(req));
    }

    /// Whether a writer took part in this request without a load: the commit is then a
    /// blind one (see `commit.rs`).
    pub(crate) fn writes_blind(&self) -> bool {
        self.loaded.get().is_none() && self.blind.inbound.get().is_some()
    }

    /// Whether the request found a stored session: it loaded one, or a writer that did
    /// not load found an id (which its commit writes to).
    pub(crate) fn was_stored(&self) -> bool {
        match self.loaded.get() {
            Some(loaded) => loaded.existing().is_some(),
            None => self.blind_inbound().is_some(),
        }
    }

    /// The id a writer that did not load found on the request.
    pub(crate) fn blind_inbound(&self) -> Option<&Inbound> {
        self.blind.inbound.get()?.as_ref()
    }

    /// The typed view a writer of `T` writes through: the loaded one, when the request
    /// loaded the session, else one of its own that starts from the defaults.
    pub(crate) fn writer<T: SessionData>(&self) -> Rc<Typed<T>> {
        if let Some(loaded) = self.loaded.get() {
            return self.typed::<T>(loaded);
        }
        let mut parts = self.blind.parts.borrow_mut();
        if let Some(typed) = find_part::<T>(&parts) {
            return typed;
        }
        let typed = Rc::new(Typed::<T>::decode(&HashMap::new(), &LogId(None)));
        parts.push((TypeId::of::<T>(), typed.clone()));
        typed
    }

    /// The stored session an increment goes to: the loaded one, or the one behind the id
    /// a writer found. `None` when there is none (a new visitor, a purge, an id whose
    /// session is gone, a store that failed open): the increment is made in memory.
    pub(crate) fn increment_target(&self) -> Option<Target<'_>> {
        if self.purged.get() {
            return None;
        }
        if let Some(loaded) = self.loaded.get() {
            if loaded.degraded {
                return None;
            }
            return loaded.existing().map(|(id, record)| Target {
                id,
                record: Some(record),
            });
        }
        if self.blind.no_session.get() || self.blind.degraded.get() {
            return None;
        }
        self.blind_inbound().map(|inbound| Target {
            id: &inbound.id,
            record: None,
        })
    }

    /// An increment changed the stored session (and moved its expiry). A renewal needs no
    /// record of what it left: it starts from the session as stored when it retires it.
    pub(crate) fn touch(&self) {
        self.touched.set(true);
    }

    pub(crate) fn touched(&self) -> bool {
        self.touched.get()
    }

    /// An increment found no session behind the id a writer found.
    pub(crate) fn found_no_session(&self) {
        self.blind.no_session.set(true);
    }

    /// The store failed under a writer that did not load, and fail-open lets the request
    /// go on with a fresh session that is not saved.
    pub(crate) fn fail_open(&self) {
        self.blind.degraded.set(true);
    }

    /// Whether a writer that did not load went on without the store.
    pub(crate) fn is_degraded(&self) -> bool {
        self.blind.degraded.get()
    }

    /// Whether the id a writer found is known to have no session behind it.
    pub(crate) fn has_no_session(&self) -> bool {
        self.blind.no_session.get()
    }

    /// Ends the session: the stored record goes, and the request continues with an
    /// empty session that is saved under a new id only if something is written to it.
    pub(crate) fn purge(&self) {
        self.purged.set(true);
        self.renew.set(false);
        self.parts
            .borrow()
            .iter()
            .chain(self.blind.parts.borrow().iter())
            .for_each(|(_, part)| part.reset());
    }

    pub(crate) fn is_purged(&self) -> bool {
        self.purged.get()
    }

    /// Asks for a new id at commit; the data is kept.
    pub(crate) fn renew(&self) {
        self.renew.set(true);
    }

    pub(crate) fn wants_renewal(&self) -> bool {
        self.renew.get()
    }

    /// Whether the request works on a session that was not stored before it.
    pub(crate) fn is_new(&self) -> bool {
        self.purged.get() || self.loaded().is_none_or(|loaded| loaded.record.is_none())
    }
}

/// The typed view of `T` among `parts`, if one was made.
fn find_part<T: SessionData>(parts: &[(TypeId, Rc<dyn Part>)]) -> Option<Rc<Typed<T>>> {
    parts
        .iter()
        .find(|(type_id, _)| *type_id == TypeId::of::<T>())
        .and_then(|(_, part)| part.clone().as_any().downcast::<Typed<T>>().ok())
}

/// Takes the view of `T` out of `parts`, if there is one.
fn take_part<T: SessionData>(parts: &mut Vec<(TypeId, Rc<dyn Part>)>) -> Option<Rc<Typed<T>>> {
    let position = parts
        .iter()
        .position(|(type_id, _)| *type_id == TypeId::of::<T>())?;
    let (_, part) = parts.remove(position);
    part.as_any().downcast::<Typed<T>>().ok()
}

/// The values of the index fields a stored session recorded it is in (its `__index`), as
/// an event carries them.
fn recorded_index_values(fields: &HashMap<String, Vec<u8>>) -> Vec<IndexValue> {
    let recorded: std::collections::BTreeMap<String, String> = fields
        .get(INDEXES_FIELD)
        .and_then(|value| serde_json::from_slice(value).ok())
        .unwrap_or_default();
    events::index_values(recorded.keys().filter_map(|field| {
        fields
            .get(field)
            .map(|value| (field.as_str(), value.as_slice()))
    }))
}
