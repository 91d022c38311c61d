use actix_typed_session::SessionData;

#[derive(SessionData)]
enum Visit {
    Guest,
    User { name: String },
}

fn main() {}
