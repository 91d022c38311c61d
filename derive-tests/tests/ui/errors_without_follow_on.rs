// Every mistake is reported at once, and the handler below, which uses the accessors,
// adds no error of its own: the fallback still generates them.
use actix_typed_session::{Session, SessionData};

#[derive(SessionData)]
struct Visit {
    #[session(rename = "__views")]
    views: u64,
    #[session(rename = "user")]
    renew: Option<String>,
    user: Option<String>,
}

async fn handler(mut session: Session<Visit>) -> String {
    let views = *session.views() + 1;
    session.set_views(views);
    session.update_user(|user| user.take()).unwrap_or_default()
}

fn main() {
    let _ = handler;
}
