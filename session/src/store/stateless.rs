//! What stands where a store would be under the cookie store, which keeps sessions in
//! the cookie (`cookie_store.rs`): a store that refuses every call. The cookie store's
//! request path never calls it; should a path that needs server state reach it anyway,
//! the request fails with a clear error instead of a session that silently is not kept.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::id::SessionId;
use crate::store::{
    ChangeSet, Committed, Increment, IndexKey, Listed, LoadOptions, Record, SessionKey,
    SessionStore,
};

/// The store of a middleware built with
/// [`builder_with_cookie_store`](crate::SessionMiddleware::builder_with_cookie_store):
/// there is none, and each call says so.
pub(crate) struct NoStore;

impl NoStore {
    fn refuse<T>(call: &str) -> Result<T, StoreError> {
        tracing::error!(
            call,
            "a server-side store call under the cookie store, which keeps none"
        );
        Err(StoreError::Unsupported(format!(
            "the cookie store keeps no server state, so it has no {call}"
        )))
    }
}

#[async_trait]
impl SessionStore for NoStore {
    async fn load(&self, _: &SessionKey, _: LoadOptions) -> Result<Option<Record>, StoreError> {
        Self::refuse("load")
    }

    async fn commit(&self, _: &SessionKey, _: &ChangeSet) -> Result<Committed, StoreError> {
        Self::refuse("commit")
    }

    async fn delete(&self, _: &SessionKey, _: &[IndexKey]) -> Result<bool, StoreError> {
        Self::refuse("delete")
    }

    async fn retire(&self, _: &SessionKey, _: &[IndexKey]) -> Result<Option<Record>, StoreError> {
        Self::refuse("retire")
    }

    async fn index_list(&self, _: &IndexKey, _: usize) -> Result<Vec<Listed>, StoreError> {
        Self::refuse("per-user index")
    }

    async fn index_end(
        &self,
        _: &IndexKey,
        _: Option<&SessionId>,
    ) -> Result<Vec<SessionId>, StoreError> {
        Self::refuse("per-user index")
    }

    async fn increment(&self, _: &SessionKey, _: &Increment) -> Result<Option<i64>, StoreError> {
        Self::refuse("increment")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn every_call_is_refused() {
        let id = SessionId::generate().unwrap();
        let key = SessionKey::new("session:", &id);
        let refused = NoStore.load(&key, LoadOptions::default()).await;
        assert!(matches!(refused, Err(StoreError::Unsupported(_))));
        assert!(NoStore.delete(&key, &[]).await.is_err());
        assert!(NoStore.retire(&key, &[]).await.is_err());
    }
}
