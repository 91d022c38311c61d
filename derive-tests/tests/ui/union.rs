use actix_typed_session::SessionData;

#[derive(SessionData)]
union Visit {
    views: u64,
    seconds: f64,
}

fn main() {}
