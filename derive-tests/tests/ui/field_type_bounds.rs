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

// `Self` names the struct, which is not `Serialize` here: reported at the field as such.
#[derive(SessionData)]
struct Trail {
    previous: Option<Box<Self>>,
}

fn main() {}
