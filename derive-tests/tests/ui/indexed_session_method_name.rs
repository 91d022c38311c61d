use actix_typed_session::SessionData;

// With an index field, `Session<Account>` has `sessions`, `end_other_sessions` and
// `end_all_sessions`, which would hide the getters of fields with those names.
#[derive(SessionData)]
struct Account {
    #[session(index)]
    user: Option<u64>,
    sessions: u32,
    end_other_sessions: bool,
    #[session(rename = "ended")]
    end_all_sessions: bool,
}

fn main() {}
