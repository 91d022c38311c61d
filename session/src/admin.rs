//! `SessionAdmin`: the sessions of the store, managed from outside a request (a background
//! job, a CLI, an admin page). It is built from the middleware's own configuration, so it
//! names keys and indexes exactly as requests do, and it writes through the same guarded
//! update as a request's commit.

use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::config_error::ConfigError;
use crate::data::{encode_value, IndexedSession, SessionData, StoredFields, Typed};
use crate::error::SessionError;
use crate::events::{self, SessionEventKind};
use crate::index::{index_field, index_of, SessionInfo};
use crate::middleware::SessionMiddleware;
use crate::store::{
    recorded_indexes, CommitOutcome, IndexKey, Layout, LoadOptions, Record, WriteMode,
};

/// Manages sessions without a request: lists the sessions of a user, ends them, and reads
/// or changes their fields. Get one from [`SessionMiddleware::admin`]; it shares the
/// middleware's store and options, is cheap to clone and can be sent to other threads.
///
/// ```
/// # use actix_typed_session::{store::MemoryStore, Keys, SessionAdmin, SessionData,
/// #     SessionError, SessionMiddleware};
/// #[derive(SessionData)]
/// struct Account {
///     #[session(index)]
///     user: Option<String>,
///     must_reauthenticate: bool,
/// }
///
/// /// After a password reset: every session of the user asks for the password again.
/// async fn password_was_reset(admin: &SessionAdmin, user: &str) -> Result<(), SessionError> {
///     for session in admin.sessions_of::<Account>(user).await? {
///         admin
///             .update::<Account, _>(&session, |account| account.must_reauthenticate = true)
///             .await?;
///     }
///     Ok(())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let keys = Keys::new(["an admin example key of at least 32 bytes"]);
/// let middleware = SessionMiddleware::new(MemoryStore::new(), keys);
/// let admin = middleware.admin();
/// password_was_reset(&admin, "ada").await?;
/// let ended = admin.end_sessions_of::<Account>("ada").await?;
/// assert_eq!(ended, 0);
/// # Ok::<(), SessionError>(())
/// # }).unwrap();
/// ```
///
/// In the JSON layout (a Node preset, [`compat`](crate::SessionMiddlewareBuilder::compat))
/// it lists and ends sessions, but refuses to read or change one
/// ([`SessionError::Unsupported`]): the document carries the Node package's own expiry,
/// which only a request's load checks.
#[derive(Clone)]
pub struct SessionAdmin {
    config: Arc<Config>,
}

impl SessionMiddleware {
    /// A handle that manages this middleware's sessions outside a request (see
    /// [`SessionAdmin`]).
    ///
    /// # Panics
    ///
    /// On a middleware built with
    /// [`builder_with_cookie_store`](SessionMiddleware::builder_with_cookie_store): its
    /// sessions live in the clients' cookies, where nothing can list, read or end them
    /// ([`ConfigError::AdminWithCookieStore`]). A mistake in the code, found where the
    /// app sets itself up; [`try_admin`](Self::try_admin) returns it instead.
    pub fn admin(&self) -> SessionAdmin {
        match self.try_admin() {
            Ok(admin) => admin,
            // As `build` refuses a configuration that cannot work: at start-up, loudly,
            // rather than as a handle whose every call fails later.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error}"),
        }
    }

    /// The admin handle, or [`ConfigError::AdminWithCookieStore`] for a middleware built
    /// with [`builder_with_cookie_store`](SessionMiddleware::builder_with_cookie_store).
    pub fn try_admin(&self) -> Result<SessionAdmin, ConfigError> {
        if self.config().cookie_store.is_some() {
            return Err(ConfigError::AdminWithCookieStore);
        }
        Ok(SessionAdmin {
            config: Arc::clone(self.config()),
        })
    }
}

impl fmt::Debug for SessionAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionAdmin")
            .field("key_prefix", &self.config.key_prefix)
            .finish_non_exhaustive()
    }
}

impl SessionAdmin {
    /// The live sessions whose `#[session(index)]` field of `T` holds `value` (such as
    /// every session of one user), the ones that logged in last first. `value` has the
    /// type of the field (its `X` for an `Option<X>`), so it is named exactly as a
    /// request names it.
    ///
    /// Lists at most
    /// [`max_sessions_per_index`](crate::SessionMiddlewareBuilder::max_sessions_per_index)
    /// sessions, with one store round trip for the index and one check per listed session
    /// (sent together), as [`Session::sessions`](crate::Session::sessions) does.
    pub async fn sessions_of<T: IndexedSession>(
        &self,
        value: impl Into<T::Index>,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let Some((index, value)) = self.index::<T>(value)? else {
            return Ok(Vec::new());
        };
        let limit = self.config.max_sessions_per_index;
        let found = self.config.store.index_list(&index, limit).await?;
        Ok(found
            .into_iter()
            .map(|listed| SessionInfo::listed(listed, &index, &value, false, &self.config))
            .collect())
    }

    /// The listed session of [`sessions_of`](Self::sessions_of) with this fingerprint
    /// ([`SessionInfo::fingerprint`], as an admin page or a log shows it); `None` when no
    /// live session of `value` has it.
    pub async fn find_session<T: IndexedSession>(
        &self,
        value: impl Into<T::Index>,
        fingerprint: &str,
    ) -> Result<Option<SessionInfo>, SessionError> {
        let listed = self.sessions_of::<T>(value).await?;
        Ok(listed
            .into_iter()
            .find(|session| session.fingerprint() == fingerprint))
    }

    /// Ends every session whose `#[session(index)]` field of `T` holds `value` ("sign
    /// this user out everywhere"), in bounded batches; returns how many were ended. A
    /// session renewing meanwhile is ended too, as with
    /// [`Session::end_all_sessions`](crate::Session::end_all_sessions).
    pub async fn end_sessions_of<T: IndexedSession>(
        &self,
        value: impl Into<T::Index>,
    ) -> Result<usize, SessionError> {
        let Some((index, (field, value))) = self.index::<T>(value)? else {
            return Ok(0);
        };
        let ended = self.config.store.index_end(&index, None).await?;
        self.config
            .hooks
            .emit_ended(SessionEventKind::EndedByAdmin, &ended, || {
                events::index_values([(field, value.as_slice())])
            });
        Ok(ended.len())
    }

    /// Ends one listed session; returns whether it was still stored (`false`: it ended,
    /// expired or was renewed to a new id since the listing).
    pub async fn end_session(&self, session: &SessionInfo) -> Result<bool, SessionError> {
        let key = self.config.key(session.id());
        let leave = [session.index().clone()];
        let ended = self.config.store.delete(&key, &leave).await?;
        if ended {
            self.config.hooks.emit_ended(
                SessionEventKind::EndedByAdmin,
                std::slice::from_ref(session.id()),
                || session.index_values(),
            );
        }
        Ok(ended)
    }

    /// The fields of a listed session as `T`, read without extending its life; `None`
    /// when it is no longer stored, no longer in the index it was listed from (its index
    /// field changed since), or past the
    /// [`absolute_timeout`](crate::SessionMiddlewareBuilder::absolute_timeout). A field
    /// that is missing or no longer decodes takes its default, as in a request.
    pub async fn read<T: SessionData>(
        &self,
        session: &SessionInfo,
    ) -> Result<Option<T>, SessionError> {
        let Some(record) = self.load(session).await? else {
            return Ok(None);
        };
        let fingerprint = session.fingerprint();
        Ok(Some(T::decode(&StoredFields::new(
            &record.fields,
            &fingerprint,
        ))))
    }

    /// Changes the fields of a listed session as `T` with `change`, and writes the fields
    /// whose value it changed in one guarded update, as a request's commit does: it never
    /// brings back a session that ended meanwhile, and leaves every other field alone.
    /// Returns what `change` returned, or `None` when the session is no longer stored, or
    /// no longer in the index it was listed from (then `change` may not have run, and
    /// nothing was written).
    ///
    /// The session's time-to-live stays as it was: an admin's change does not count as
    /// the user's activity. The size limit
    /// ([`max_session_size`](crate::SessionMiddlewareBuilder::max_session_size)) holds as
    /// for a request. Changing the `#[session(index)]` field is refused
    /// ([`SessionError::Unsupported`]): end the session instead.
    ///
    /// Costs two store round trips: the load and the write.
    pub async fn update<T: SessionData, R>(
        &self,
        session: &SessionInfo,
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, SessionError> {
        let Some(record) = self.load(session).await? else {
            return Ok(None);
        };
        // Worked out before any await: the typed state is per request, not `Send`.
        let (result, changes) = {
            let fingerprint = session.fingerprint();
            let typed = Typed::<T>::decode(&record.fields, &fingerprint);
            let result = typed.modify(change);
            let mut changes = Vec::new();
            typed.for_each_dirty(|name, value| changes.push((name.to_owned(), value)))?;
            (result, changes)
        };
        if changes.is_empty() {
            return Ok(Some(result));
        }
        let index_field = T::INDEX_FIELD.and_then(|slot| T::FIELD_NAMES.get(slot));
        if changes
            .iter()
            .any(|(name, _)| Some(&name.as_str()) == index_field)
        {
            return Err(SessionError::Unsupported(
                "changing the index field moves the session between indexes, which only a \
                 request does; end the session instead",
            ));
        }
        self.config.check_size(Some(&record.fields), &changes)?;
        let mut update =
            self.config
                .change_set(WriteMode::update_of(&record), changes, Some(&record), None);
        // The load did not refresh it, and neither does the write.
        update.ttl = record.ttl.unwrap_or(self.config.ttl);
        update.ttl_current = true;
        update.index = self.config.index_moves(Vec::new(), Vec::new());
        let key = self.config.key(session.id());
        // It joins no index: no session ends for the cap.
        match self.config.store.commit(&key, &update).await?.outcome {
            CommitOutcome::Written => Ok(Some(result)),
            CommitOutcome::Missing | CommitOutcome::Collision => Ok(None),
        }
    }

    /// The index of `value` of `T`'s index field, as a request names it, with the
    /// field's storage name and the value encoded; `None` for a value that encodes as
    /// `null`.
    #[allow(clippy::type_complexity)]
    fn index<T: IndexedSession>(
        &self,
        value: impl Into<T::Index>,
    ) -> Result<Option<(IndexKey, (&'static str, Vec<u8>))>, SessionError> {
        let value: T::Index = value.into();
        let field = index_field::<T>().unwrap_or_default();
        let encoded =
            encode_value(&value).map_err(|source| SessionError::Encode { field, source })?;
        Ok(index_of::<T>(&self.config, &encoded).map(|index| (index, (field, encoded))))
    }

    /// Loads a listed session without refreshing it, in the field layout only.
    async fn load(&self, session: &SessionInfo) -> Result<Option<Record>, SessionError> {
        if self.config.layout != Layout::Fields {
            return Err(SessionError::Unsupported(
                "sessions in the JSON layout (a Node preset) are read and changed only by \
                 requests",
            ));
        }
        let options = LoadOptions {
            layout: self.config.layout,
            ..LoadOptions::default()
        };
        let key = self.config.key(session.id());
        let record = self.config.store.load(&key, options).await?;
        // A session whose index field changed since the listing (another user logged in
        // on it without a renewal) is no longer the one listed: it is not touched.
        let still_listed = |record: &Record| {
            recorded_indexes(key.prefix(), &record.fields).contains(session.index())
        };
        Ok(
            record
                .filter(|record| !self.config.outlived(record.created_at) && still_listed(record)),
        )
    }
}
