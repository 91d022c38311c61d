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
    clone: u64,
    clone_from: u64,
    to_owned: bool,
    clone_into: bool,
    #[session(rename = "renewed")]
    views: u64,
}

fn main() {}
