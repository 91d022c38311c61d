use actix_typed_session::SessionData;

fn greeting() -> String {
    "hello".to_owned()
}

#[derive(SessionData)]
struct Visit {
    #[session(default = "no_such_function")]
    views: u64,
    #[session(default = "greeting")]
    count: u32,
}

fn main() {}
