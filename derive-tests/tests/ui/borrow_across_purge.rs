// A field's borrow held across `purge()`, which forgets every value: refused by the
// borrow checker, as across a write, instead of a panic at run time.
use actix_typed_session::{Session, SessionData};

#[derive(SessionData)]
struct Visit {
    label: String,
}

async fn logout(mut session: Session<Visit>) -> String {
    let label = session.label();
    session.purge();
    format!("bye {}", *label)
}

async fn sign_out_everywhere(mut session: Session<Account>) -> String {
    let user = session.user();
    let _ = session.end_all_sessions().await;
    format!("bye {:?}", *user)
}

#[derive(SessionData)]
struct Account {
    #[session(index)]
    user: Option<String>,
}

fn main() {
    let _ = (logout, sign_out_everywhere);
}
