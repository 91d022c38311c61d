use actix_typed_session::SessionData;

#[derive(SessionData)]
struct Visit<T> {
    views: u64,
    extra: T,
}

#[derive(SessionData)]
struct Borrowed<'a> {
    user: &'a str,
}

#[derive(SessionData)]
struct Bounded
where
    u64: Copy,
{
    views: u64,
}

fn main() {}
