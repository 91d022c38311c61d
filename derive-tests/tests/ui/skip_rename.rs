use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(skip)]
struct Visit {
    #[session(skip, rename = "scratch_pad")]
    scratch: Vec<String>,
    #[session(prefix = "visit.")]
    views: u64,
}

#[derive(SessionData)]
struct SkippedTwice {
    #[session(skip, skip)]
    scratch: Vec<String>,
}

#[derive(SessionData)]
#[session(prefix = "__mine.")]
struct Reserved {
    views: u64,
}

fn main() {}
