use actix_typed_session::{Session, SessionData, SessionWriter};

#[derive(SessionData)]
struct Visit {
    views: u64,
    #[session(index)]
    user: Option<String>,
}

// Without `#[session(counter)]` there is no increment: the field can only be read and
// written whole.
async fn increment(mut session: Session<Visit>) {
    let _ = session.increment_views(1).await;
}

// A writer writes without reading: it has no getters.
async fn read(writer: SessionWriter<Visit>) {
    let _ = writer.views();
}

// Nor a setter for the index field, whose change needs the stored value.
async fn log_in(mut writer: SessionWriter<Visit>) {
    writer.set_user(Some("ada".to_owned()));
}

fn main() {}
