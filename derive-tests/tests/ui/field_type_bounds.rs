use actix_typed_session::SessionData;

struct NotSerde;

#[derive(serde::Serialize, serde::Deserialize)]
struct NoDefault(u64);

#[derive(SessionData)]
struct Visit {
    views: u64,
    plain: NotSerde,
    picky: NoDefault,
}

fn main() {}
