//! Where the keys of one call may live. It decides how a call is split into commands, and it
//! is the one thing the single-node and Sentinel stores do differently from the cluster
//! store once they hold a connection.

/// Where the keys of one call may live, which decides whether a session and its per-user
/// indexes can be changed in one script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Topology {
    /// Every key on one server: a commit moves the session's indexes in its own script,
    /// and a load without a refresh threshold is a pipeline of plain commands.
    OneNode,
    /// Keys spread over cluster slots: a script may touch only the session's own key, so
    /// index changes are separate commands, joins before the write and leaves after it;
    /// every load is a script, since the client follows a slot's migration for a single
    /// command but not for the commands of a pipeline.
    Cluster,
}
