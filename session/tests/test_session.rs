//! `test::TestSession`: handlers called as plain functions, without a store or an app, and
//! what they changed read back.

use actix_typed_session::test::TestSession;
use actix_typed_session::{Session, SessionData};
use serde_json::json;

#[derive(SessionData)]
#[session(prefix = "shop.")]
struct Shop {
    items: Vec<String>,
    #[session(rename = "sum")]
    total: u64,
    user: Option<String>,
    #[session(skip)]
    notes: Vec<String>,
}

fn sample() -> Shop {
    Shop {
        items: vec!["tea".to_owned()],
        total: 3,
        user: Some("ada".to_owned()),
        notes: Vec::new(),
    }
}

async fn add_cake(mut session: Session<Shop>) -> String {
    session.update_notes(|notes| notes.push("priced".to_owned()));
    session.modify(|shop| {
        shop.items.push("cake".to_owned());
        shop.total += 4;
        shop.user = Some("ada".to_owned());
    });
    format!("{} items", session.read().items.len())
}

async fn login(mut session: Session<Shop>) -> &'static str {
    session.set_user(Some("bob".to_owned()));
    session.renew();
    "welcome"
}

async fn logout(mut session: Session<Shop>) -> bool {
    session.purge();
    session.is_new()
}

#[actix_web::test]
async fn a_handler_reads_the_given_values_and_its_changes_can_be_read_back() {
    let shop = TestSession::new(sample());
    assert_eq!(add_cake(shop.session()).await, "2 items");
    assert_eq!(shop.changed_fields(), ["shop.items", "shop.sum"]);
    assert_eq!(
        shop.changes().unwrap(),
        [
            ("shop.items", json!(["tea", "cake"])),
            ("shop.sum", json!(7)),
        ]
    );
    let value = shop.value();
    assert_eq!(value.notes, ["priced"], "skip fields change in memory only");
    assert_eq!(value.user.as_deref(), Some("ada"));
}

#[actix_web::test]
async fn an_untouched_session_has_no_changes_and_is_not_new() {
    let shop = TestSession::new(sample());
    let session = shop.session();
    assert!(!session.is_new());
    assert_eq!(*session.total(), 3);
    assert!(shop.changed_fields().is_empty());
    assert!(shop.changes().unwrap().is_empty());
    assert!(!shop.is_renewed() && !shop.is_purged());
}

#[actix_web::test]
async fn renew_and_purge_are_visible() {
    let shop = TestSession::new(sample());
    assert_eq!(login(shop.session()).await, "welcome");
    assert!(shop.is_renewed());
    assert_eq!(shop.changed_fields(), ["shop.user"]);

    let shop = TestSession::new(sample());
    assert!(logout(shop.session()).await, "a purged session is new");
    assert!(shop.is_purged());
    assert!(shop.changed_fields().is_empty());
    assert_eq!(shop.value().total, 0, "a purge resets to the defaults");
}

#[actix_web::test]
async fn sessions_handed_out_share_one_state() {
    let shop = TestSession::new(sample());
    let mut first = shop.session();
    let second = shop.session();
    first.set_total(10);
    assert_eq!(*second.total(), 10);
    assert_eq!(shop.changed_fields(), ["shop.sum"]);
}
