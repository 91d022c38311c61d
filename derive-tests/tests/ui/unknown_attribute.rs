use actix_typed_session::SessionData;

#[derive(SessionData)]
#[session(rename_all = "camelCase")]
struct Visit {
    #[session(flatten)]
    views: u64,
    #[session(skip_serializing, rename = "who", with(serde_json))]
    user: Option<String>,
}

#[derive(SessionData)]
struct NoValue {
    #[session(colour = )]
    views: u64,
}

fn main() {}
