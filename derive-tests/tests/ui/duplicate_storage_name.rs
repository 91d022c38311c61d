use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit {
    views: u64,
    #[session(rename = "views")]
    page_views: u64,
    #[session(rename = "who")]
    user: Option<String>,
    #[session(rename = "who")]
    login: Option<String>,
}

fn main() {}
