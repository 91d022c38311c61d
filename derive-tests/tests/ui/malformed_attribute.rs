use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(crate = "not a path")]
struct Visit {
    #[session(rename = 7)]
    views: u64,
    #[session(rename = "who", rename = "user_name")]
    user: Option<String>,
    #[session]
    cart: Vec<String>,
    #[session = "items"]
    items: Vec<String>,
}

#[derive(SessionData)]
#[session(prefix = "visit.", crate = "actix_typed_session")]
#[session(prefix = "v.", crate = "actix_typed_session")]
struct Twice {
    views: u64,
}

fn main() {}
