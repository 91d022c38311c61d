//! The actix middleware: it hands every request a lazy session and, after the handler,
//! commits what the handler changed.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::commit::{commit, has_work, settle_unchanged};
use crate::config::Config;
use crate::error::SessionError;
use crate::events::SessionEvents;
use crate::state::SessionState;
use crate::telemetry::{self, Operation};
use crate::transport::Handout;

/// Typed sessions for an actix-web `App`: `App::new().wrap(SessionMiddleware::new(store, keys))`.
///
/// Cheap to clone; build it once and clone it into the `HttpServer` factory, or build it
/// inside the factory. [`SessionMiddleware::new`] takes every default;
/// [`SessionMiddleware::builder`] sets the rest.
#[derive(Clone)]
pub struct SessionMiddleware {
    config: Arc<Config>,
}

impl SessionMiddleware {
    pub(crate) fn from_config(config: Config) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// The app's event hooks with the key prefix of its sessions, for a listener that
    /// reports sessions the store expired:
    /// [`RedisStore::expiry_events`](crate::store::RedisStore::expiry_events).
    pub fn events(&self) -> SessionEvents {
        SessionEvents::new(self.config.hooks.clone(), self.config.key_prefix.clone())
    }

    /// The resolved options, shared with the admin handle.
    pub(crate) fn config(&self) -> &Arc<Config> {
        &self.config
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            config: self.config.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around an app's services.
pub struct SessionService<S> {
    service: Rc<S>,
    config: Arc<Config>,
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = SessionFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let state = Rc::new(SessionState::new(self.config.clone()));
        req.extensions_mut().insert(state.clone());
        SessionFuture::Handler {
            handler: self.service.call(req),
            state,
        }
    }
}

pin_project_lite::pin_project! {
    /// A request through the middleware: the handler, then, only when the session has
    /// something to commit, the commit. A request that never used its session, or only
    /// read it, goes out as the handler answered, with no allocation for a commit it does
    /// not need.
    #[project = Step]
    pub enum SessionFuture<F, B> {
        /// The app's handler runs.
        Handler {
            #[pin]
            handler: F,
            state: Rc<SessionState>,
        },
        /// The commit runs.
        Commit {
            commit: LocalBoxFuture<'static, ServiceResponse<EitherBody<B>>>,
        },
    }
}

impl<F, B> Future for SessionFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                Step::Handler { handler, state } => {
                    let response = std::task::ready!(handler.poll(cx))?;
                    if settles_now(state, &response) {
                        telemetry::handler_answered(response.response());
                        return Poll::Ready(Ok(response.map_into_left_body()));
                    }
                    let state = state.clone();
                    let commit = Box::pin(async move { finish(&state, response).await });
                    self.set(SessionFuture::Commit { commit });
                }
                Step::Commit { commit } => return commit.as_mut().poll(cx).map(Ok),
            }
        }
    }
}

/// Whether the response goes out as the handler answered, with nothing left to commit:
/// the request never used its session, its handler failed and sessions are not committed
/// after a server error, or it loaded a stored session and left it as it was (most reads).
/// The rest need the commit, a future of its own.
fn settles_now<B>(state: &SessionState, response: &ServiceResponse<B>) -> bool {
    let req = response.request();
    !has_work(state, req)
        || (response.status().is_server_error() && !state.config.commit_on_server_error)
        || settle_unchanged(state, req)
}

/// Commits the session and hands out its id, or replaces the response with an opaque
/// error when the commit fails, so nobody is told a change was saved when it was not.
/// Either way an id or its removal goes out through `Transport::hand_out`, which keeps the
/// response out of shared caches.
async fn finish<B>(
    state: &SessionState,
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B>> {
    let config = &state.config;
    telemetry::handler_answered(response.response());
    match commit(state, response.request()).await {
        Ok(Handout::Nothing) => response.map_into_left_body(),
        Ok(handout) => {
            let (request, mut response) = response.into_parts();
            config.transport.hand_out(&handout, &request, &mut response);
            ServiceResponse::new(request, response).map_into_left_body()
        }
        // Fail-open stands in for a session the store never held (a new visitor's, or a
        // load that failed open). A stored session whose logout, update or renewal failed
        // is answered as failed: its response would claim a change that was not made.
        Err(error @ SessionError::Store(_)) if config.fail_open && !state.was_stored() => {
            telemetry::failed_open(Operation::Commit);
            tracing::warn!(
                session = %state.fingerprint(), %error,
                "session store unavailable: the response goes out, its session changes unsaved"
            );
            response.map_into_left_body()
        }
        Err(error) => {
            tracing::error!(session = %state.fingerprint(), %error, "saving the session failed");
            let mut failed = error.error_response();
            telemetry::commit_refused(failed.status());
            let (request, _) = response.into_parts();
            if matches!(error, SessionError::Ended) {
                config
                    .transport
                    .hand_out(&Handout::Remove, &request, &mut failed);
            }
            ServiceResponse::new(request, failed).map_into_right_body()
        }
    }
}
