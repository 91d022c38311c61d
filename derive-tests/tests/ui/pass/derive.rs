// Everything the derive accepts, used the way handlers use it.
use actix_typed_session::{Session, SessionData};

/// Documented, so the doc comments are carried to the getters.
#[derive(SessionData)]
pub struct Visit {
    /// Pages seen in this session.
    views: u64,
    user: Option<String>,
    #[session(rename = "cart_items")]
    cart: Vec<String>,
    r#type: String,
}

#[derive(SessionData)]
struct Nothing {}

#[derive(SessionData)]
struct Account {
    #[session(index, rename = "uid")]
    user: ::std::option::Option<u64>,
}

#[allow(dead_code)]
async fn sessions(mut account: Session<Account>) -> usize {
    let listed = account.sessions().await.map(|list| list.len()).unwrap_or(0);
    let ended = account.end_other_sessions().await.unwrap_or(0);
    listed + ended + account.end_all_sessions().await.unwrap_or(0)
}

// Without an index field, `Session<T>` has no `sessions()` and the like, so these names are
// the fields' own getters.
#[derive(SessionData)]
struct Devices {
    sessions: u32,
    end_other_sessions: bool,
    end_all_sessions: bool,
}

#[allow(dead_code)]
fn devices(mut devices: Session<Devices>) -> u32 {
    let ended = *devices.end_all_sessions();
    devices.set_end_other_sessions(!ended);
    *devices.sessions() + u32::from(*devices.end_other_sessions())
}

mod nested {
    use actix_typed_session::SessionData;

    #[derive(SessionData)]
    pub(crate) struct Prefs {
        pub(crate) theme: String,
    }
}

#[allow(dead_code)]
fn handler(mut visit: Session<Visit>, mut prefs: Session<nested::Prefs>, _: Session<Nothing>) {
    let views = *visit.views() + 1;
    visit.set_views(views);
    let user: Option<&str> = visit.user().as_deref().map(|_| "known");
    let _ = user;
    let removed = visit.update_cart(|cart| cart.pop());
    let _: Option<String> = removed;
    visit.set_type(String::from("member"));
    let _: &str = &visit.r#type();
    prefs.update_theme(|theme| theme.push_str("-dark"));
}

fn main() {}

// Counters of every integer type, renamed, next to a writer that sets and increments.
#[derive(SessionData)]
struct Counters {
    #[session(counter)]
    small: u8,
    #[session(counter, rename = "n")]
    signed: i64,
    #[session(counter, default = "ten")]
    sized: usize,
    label: Option<String>,
}

fn ten() -> usize {
    10
}

#[allow(dead_code)]
async fn count(
    mut counters: Session<Counters>,
    mut writer: actix_typed_session::SessionWriter<Counters>,
) -> Result<i64, actix_typed_session::SessionError> {
    let small: u8 = counters.increment_small(1).await?;
    let sized: usize = writer.increment_sized(-1).await?;
    writer.set_label(Some("counted".to_owned()));
    writer.set_small(0);
    Ok(counters.increment_signed(i64::from(small) + sized as i64).await? + *counters.signed())
}

// `default` functions named like what the generated `decode` names for itself.
#[derive(SessionData)]
struct Defaults {
    #[session(default = "stored")]
    first_seen: u64,
    #[session(default = "value")]
    label: String,
    #[session(default = "index", skip)]
    scratch: u8,
}

fn stored() -> u64 {
    1
}

fn value() -> String {
    "none".to_owned()
}

fn index() -> u8 {
    0
}

#[allow(dead_code)]
fn defaults(defaults: Session<Defaults>) -> u64 {
    *defaults.first_seen() + defaults.label().len() as u64 + u64::from(*defaults.scratch())
}

// `Self` in a field type names the struct, as it does in the struct itself, not the
// generated types whose methods mention the field's type.
#[derive(SessionData, Default, serde::Serialize, serde::Deserialize)]
struct Trail {
    page: String,
    previous: Option<Box<Self>>,
    #[session(skip)]
    siblings: Vec<Self>,
}

#[allow(dead_code)]
fn trail(mut trail: Session<Trail>) -> usize {
    let back = trail.previous().as_ref().map_or(0, |previous| previous.page.len());
    trail.set_previous(Some(Box::new(Trail::default())));
    trail.update_siblings(|siblings| siblings.push(Trail::default()));
    back + trail.siblings().len()
}
