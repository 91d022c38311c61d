use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit {
    views: u64,
    set_views: u64,
    update_cart: Vec<String>,
    cart: Vec<String>,
}

fn main() {}
