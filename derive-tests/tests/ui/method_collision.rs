use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit {
    views: u64,
    set_views: u64,
    update_cart: Vec<String>,
    cart: Vec<String>,
}

// A raw identifier names the same method as the plain one.
#[derive(SessionData)]
struct Raw {
    x: u64,
    r#set_x: u64,
}

fn main() {}
