//! The settings every Redis store builder takes, kept once: the credentials and the two
//! timeouts of a connection, their defaults, and a `Debug` that leaves the password out.
//! The setters are written once too ([`connection_setters`]); each builder gives them
//! documentation of its own, since what a setting applies to (one server, every node, the
//! master and its replicas) differs.

use std::fmt;
use std::time::Duration;

/// Credentials and timeouts for the connections of one store. No `Debug`: a builder shows
/// these through [`show`](Self::show), which leaves the password out.
#[derive(Clone)]
pub(super) struct ConnectionSettings {
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    /// How long one attempt to connect may take.
    pub(super) connect_timeout: Duration,
    /// How long to wait for the answer to one command.
    pub(super) response_timeout: Duration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            username: None,
            password: None,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(1),
        }
    }
}

impl ConnectionSettings {
    /// Adds these settings, all but the password, to a builder's `Debug` output.
    pub(super) fn show<'s, 'a, 'b>(
        &self,
        out: &'s mut fmt::DebugStruct<'a, 'b>,
    ) -> &'s mut fmt::DebugStruct<'a, 'b> {
        out.field("username", &self.username)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
    }
}

/// The public setters of [`ConnectionSettings`] on a builder that keeps them in a field
/// called `settings`, each with the documentation the builder gives it.
macro_rules! connection_setters {
    (
        username: $username:literal,
        password: $password:literal,
        connect_timeout: $connect_timeout:literal,
        response_timeout: $response_timeout:literal,
    ) => {
        #[doc = $username]
        pub fn username(mut self, username: impl Into<String>) -> Self {
            self.settings.username = Some(username.into());
            self
        }

        #[doc = $password]
        pub fn password(mut self, password: impl Into<String>) -> Self {
            self.settings.password = Some(password.into());
            self
        }

        #[doc = $connect_timeout]
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.connect_timeout = timeout;
            self
        }

        #[doc = $response_timeout]
        pub fn response_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.response_timeout = timeout;
            self
        }
    };
}
pub(super) use connection_setters;
