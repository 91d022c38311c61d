use actix_typed_session::SessionData;

// A counter is added to on the server, which holds integers of 64 bits at most.
#[derive(SessionData)]
struct Visit {
    #[session(counter)]
    name: String,
    #[session(counter)]
    ratio: f64,
    #[session(counter)]
    huge: u128,
    #[session(counter)]
    maybe: Option<u64>,
}

fn main() {}
