use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit(u64, Option<String>);

fn main() {}
