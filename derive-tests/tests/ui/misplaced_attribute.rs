use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(rename = "visit")]
struct Visit {
    #[session(crate = "actix_typed_session")]
    views: u64,
}

fn main() {}
