use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit;

fn main() {}
