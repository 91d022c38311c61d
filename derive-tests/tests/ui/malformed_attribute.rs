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

fn main() {}
