//! The two ways sessions sit in Redis, for tests that run the same checks on both: the
//! default hash per session, and one JSON string per session as a Node preset writes it.

use actix_typed_session::{Compat, SessionMiddlewareBuilder};

use crate::http::Jar;

/// How the sessions are laid out in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One hash per session, one hash field per session field: the default.
    Hash,
    /// One JSON string per session (the koa2-session2-redis preset).
    Json,
}

impl Layout {
    /// Both layouts.
    pub const ALL: [Layout; 2] = [Layout::Hash, Layout::Json];

    /// `builder` set up for this layout.
    pub fn configure(self, builder: SessionMiddlewareBuilder) -> SessionMiddlewareBuilder {
        match self {
            Layout::Hash => builder,
            Layout::Json => builder.compat(Compat::Koa2Session2Redis),
        }
    }

    /// The session cookie's name.
    pub fn cookie(self) -> &'static str {
        match self {
            Layout::Hash => "session",
            Layout::Json => "koa:sid",
        }
    }

    /// The prefix of session keys.
    pub fn prefix(self) -> &'static str {
        match self {
            Layout::Hash => "session:",
            Layout::Json => "SESSION:",
        }
    }

    /// The Redis key of the session the jar holds.
    pub fn key_of(self, jar: &Jar) -> String {
        let id = jar.get(self.cookie()).expect("a session cookie").value();
        format!("{}{id}", self.prefix())
    }

    /// The stored `views` of the session at `key`; `None` when it has none.
    pub async fn stored_views(
        self,
        conn: &mut redis::aio::MultiplexedConnection,
        key: &str,
    ) -> Option<u64> {
        match self {
            Layout::Hash => {
                let views: Option<String> = redis::cmd("HGET")
                    .arg(key)
                    .arg("views")
                    .query_async(conn)
                    .await
                    .expect("HGET");
                views?.parse().ok()
            }
            Layout::Json => {
                let document: Option<String> = redis::cmd("GET")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .expect("GET");
                let document: serde_json::Value = serde_json::from_str(&document?).ok()?;
                document.get("views")?.as_u64()
            }
        }
    }
}
