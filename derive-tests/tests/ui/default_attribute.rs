use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(default)]
struct Visit {
    #[session(default = "not a path")]
    views: u64,
    #[session(default = 3)]
    count: u32,
    #[session(default, default = "u64::default")]
    total: u64,
}

fn main() {}
