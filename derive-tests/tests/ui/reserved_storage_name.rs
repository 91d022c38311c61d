use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit {
    __created: u64,
    #[session(rename = "__expires")]
    expires: u64,
    #[session(rename = "")]
    nameless: u64,
}

fn main() {}
