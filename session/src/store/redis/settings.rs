//! The settings every Redis store builder takes, kept once: the credentials and the two
//! timeouts of a connection, their defaults, and a `Debug` that leaves the password out.
//! Each builder keeps its own setters, since what a setting applies to (one server, every
//! node, the master and its replicas) is said in the setter's documentation.

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
