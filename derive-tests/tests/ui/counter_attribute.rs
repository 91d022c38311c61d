use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(counter)]
struct OnTheStruct {
    views: u64,
}

#[derive(SessionData)]
struct Skipped {
    #[session(counter, skip)]
    views: u64,
}

#[derive(SessionData)]
struct Indexed {
    #[session(counter, index)]
    user: Option<u64>,
}

#[derive(SessionData)]
struct Twice {
    #[session(counter, counter)]
    views: u64,
}

fn main() {}
