use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit {
    is_new: bool,
    renew: bool,
    purge: bool,
    modify: bool,
    read: bool,
    into: String,
    r#try_into: String,
    #[session(rename = "renewed")]
    views: u64,
}

fn main() {}
