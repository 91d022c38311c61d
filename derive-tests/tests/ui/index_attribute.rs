use actix_typed_session::{Session, SessionData};

#[derive(SessionData)]
#[session(index)]
struct OnTheStruct {
    user: Option<String>,
}

#[derive(SessionData)]
struct NotAnOption {
    #[session(index)]
    user: String,
}

#[derive(SessionData)]
struct TwoIndexes {
    #[session(index)]
    user: Option<String>,
    #[session(index)]
    team: Option<String>,
}

#[derive(SessionData)]
struct IndexedTwice {
    #[session(index, index)]
    user: Option<String>,
}

#[derive(SessionData)]
struct Skipped {
    #[session(index, skip)]
    user: Option<String>,
}

#[derive(SessionData)]
struct Unindexed {
    user: Option<String>,
}

// Listing needs an index field: a struct without one has no `sessions()`.
async fn list(session: Session<Unindexed>) {
    let _ = session.sessions().await;
}

fn main() {}
