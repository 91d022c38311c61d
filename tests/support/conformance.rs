//! The contract every [`SessionStore`] keeps, as one suite run once per backend.
//!
//! Each check uses fresh random keys, so the suite can run against a store that holds
//! other data, and twice against the same store.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_typed_session::store::{
    ChangeSet, CommitOutcome, Committed, EndedByCap, Increment, IndexKey, IndexMoves, JsonWrite,
    Layout, LoadOptions, Record, SessionKey, SessionStore, TakeOver, WriteMode, DEVICE_FIELD,
};
use actix_typed_session::{IndexSecret, SessionId, StoreError};
use serde::de::DeserializeOwned;

/// The layout under test and TTLs that suit its clock: the JSON layout keeps time-to-live
/// in whole seconds.
pub struct Cx {
    /// The layout every load and commit passes.
    pub layout: Layout,
    /// A TTL no check outlives.
    pub long: Duration,
    /// A TTL that outlives a few store calls in a row, but not a wait of `past_short`.
    pub short: Duration,
    /// How long the expiry checks wait: well past `short`, so this is behaviour, not timing.
    pub past_short: Duration,
    /// A TTL in between, for checks that a TTL moved up or down.
    pub medium: Duration,
}

impl Cx {
    /// The field layout, with millisecond TTLs.
    pub fn fields() -> Self {
        Self {
            layout: Layout::Fields,
            long: Duration::from_secs(60),
            short: Duration::from_millis(400),
            past_short: Duration::from_millis(1000),
            medium: Duration::from_secs(10),
        }
    }

    /// The JSON layout, with TTLs in whole seconds.
    pub fn json() -> Self {
        Self {
            layout: Layout::Json(JsonWrite::SetEx),
            long: Duration::from_secs(60),
            short: Duration::from_secs(1),
            past_short: Duration::from_millis(2100),
            medium: Duration::from_secs(10),
        }
    }

    /// Load options in this layout, nothing else asked.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            layout: self.layout,
            ..LoadOptions::default()
        }
    }

    /// The creation time a load reports for a session created at `at`: the JSON layout
    /// keeps none.
    pub fn created(&self, at: SystemTime) -> Option<SystemTime> {
        match self.layout {
            Layout::Fields => Some(at),
            _ => None,
        }
    }

    /// A change set that creates a session with `fields`.
    pub fn create(
        &self,
        fields: &[(&str, &[u8])],
        created_at: SystemTime,
        ttl: Duration,
    ) -> ChangeSet {
        ChangeSet {
            mode: WriteMode::Create { created_at },
            set: owned(fields),
            remove: Vec::new(),
            ttl,
            ttl_current: false,
            layout: self.layout,
            base: None,
            index: IndexMoves::default(),
            fresh_id: false,
        }
    }

    /// A change set that updates an existing session, without a base: the store must
    /// merge into what it holds.
    pub fn update(&self, set: &[(&str, &[u8])], remove: &[&str], ttl: Duration) -> ChangeSet {
        ChangeSet {
            mode: WriteMode::Update { created_at: None },
            set: owned(set),
            remove: remove.iter().map(|name| name.to_string()).collect(),
            ttl,
            ttl_current: false,
            layout: self.layout,
            base: None,
            index: IndexMoves::default(),
            fresh_id: false,
        }
    }
}

/// A change set that creates a session with `fields`, in the field layout.
pub fn create(fields: &[(&str, &[u8])], created_at: SystemTime, ttl: Duration) -> ChangeSet {
    Cx::fields().create(fields, created_at, ttl)
}

/// A change set that updates an existing session, in the field layout.
pub fn update(set: &[(&str, &[u8])], remove: &[&str], ttl: Duration) -> ChangeSet {
    Cx::fields().update(set, remove, ttl)
}

/// Runs every check against `store` in the field layout.
pub async fn run<S: SessionStore + ?Sized>(store: &S) {
    run_in(store, &Cx::fields()).await;
}

/// Runs every check against `store` in the layout of `cx`.
pub async fn run_in<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    load_of_a_missing_session_is_none(store, cx).await;
    create_then_load_returns_what_was_written(store, cx).await;
    a_session_without_fields_exists(store, cx).await;
    create_on_a_taken_key_is_a_collision_and_changes_nothing(store, cx).await;
    update_of_a_missing_session_is_refused_and_creates_nothing(store, cx).await;
    update_sets_only_the_given_fields(store, cx).await;
    removals_remove_only_the_named_fields(store, cx).await;
    match cx.layout {
        Layout::Fields => values_are_opaque_bytes(store, cx).await,
        _ => json_values_keep_their_text_and_order(store, cx).await,
    }
    an_update_keeps_what_another_writer_changed_since_the_load(store, cx).await;
    large_change_sets_apply_whole(store, cx).await;
    sessions_expire_after_their_ttl(store, cx).await;
    commit_sets_the_ttl(store, cx).await;
    load_refreshes_the_ttl_only_when_asked(store, cx).await;
    a_threshold_refresh_happens_only_below_it_and_says_so(store, cx).await;
    delete_reports_whether_the_session_existed(store, cx).await;
    a_retirement_hands_back_the_session_as_it_ended(store, cx).await;
    keys_are_independent(store, cx).await;
    an_index_lists_the_live_sessions_that_joined_it(store, cx).await;
    a_listing_describes_each_session(store, cx).await;
    an_index_forgets_sessions_that_ended_or_expired(store, cx).await;
    an_update_moves_a_session_between_indexes(store, cx).await;
    ending_an_index_ends_all_its_sessions_but_the_kept_one(store, cx).await;
    a_refused_commit_changes_no_index(store, cx).await;
    a_renewal_takes_the_place_of_the_session_it_renews(store, cx).await;
    a_renewal_of_a_session_ended_meanwhile_is_refused(store, cx).await;
    a_renewal_that_took_its_place_is_ended_with_the_rest(store, cx).await;
    an_index_past_its_cap_ends_its_oldest_sessions(store, cx).await;
    increments(store, cx).await;
}

/// Runs the checks of [`SessionStore::increment`] against `store` in the layout of `cx`.
pub async fn increments<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    an_increment_of_a_missing_session_is_none_and_creates_nothing(store, cx).await;
    an_increment_adds_to_the_stored_integer_and_returns_it(store, cx).await;
    an_increment_sets_the_ttl(store, cx).await;
    an_increment_out_of_range_changes_nothing(store, cx).await;
    an_increment_counts_from_what_a_load_decodes(store, cx).await;
    an_increment_past_2_to_the_53_is_exact(store, cx).await;
    concurrent_increments_all_count(store, cx).await;
}

impl Cx {
    /// An increment of `field` by `by` in this layout, refreshing to `ttl`.
    pub fn increment(&self, field: &str, by: i64, ttl: Duration) -> Increment {
        Increment::new(field, by, ttl, self.layout)
    }
}

async fn increment<S: SessionStore + ?Sized>(
    store: &S,
    key: &SessionKey,
    change: &Increment,
) -> Option<i64> {
    store
        .increment(key, change)
        .await
        .expect("increment failed")
}

async fn an_increment_of_a_missing_session_is_none_and_creates_nothing<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    assert_eq!(
        increment(store, &key, &cx.increment("views", 1, cx.long)).await,
        None
    );
    assert_eq!(
        load(store, &key, cx).await,
        None,
        "an increment created a session"
    );
    commit(
        store,
        &key,
        &cx.create(&[("views", b"1")], now_ms(), cx.long),
    )
    .await;
    store.delete(&key, &[]).await.expect("delete");
    assert_eq!(
        increment(store, &key, &cx.increment("views", 1, cx.long)).await,
        None,
        "an increment of an ended session"
    );
    assert_eq!(
        load(store, &key, cx).await,
        None,
        "an increment brought a session back"
    );
}

async fn an_increment_adds_to_the_stored_integer_and_returns_it<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    commit(
        store,
        &key,
        &cx.create(&[("views", b"41"), ("other", b"\"x\"")], now_ms(), cx.long),
    )
    .await;
    assert_eq!(
        increment(store, &key, &cx.increment("views", 1, cx.long)).await,
        Some(42)
    );
    assert_eq!(
        increment(store, &key, &cx.increment("views", -50, cx.long)).await,
        Some(-8)
    );
    // An absent field counts as its default.
    let mut absent = cx.increment("count", 2, cx.long);
    absent.absent = 10;
    assert_eq!(increment(store, &key, &absent).await, Some(12));
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields["views"], b"-8", "stored as its JSON text");
    assert_eq!(record.fields["count"], b"12");
    assert_eq!(record.fields["other"], b"\"x\"", "other fields stay");
}

async fn an_increment_sets_the_ttl<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    commit(
        store,
        &key,
        &cx.create(&[("views", b"1")], now_ms(), cx.medium),
    )
    .await;
    increment(store, &key, &cx.increment("views", 1, cx.long)).await;
    let ttl = load(store, &key, cx).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") > cx.medium,
        "an increment did not extend the TTL"
    );
}

async fn an_increment_out_of_range_changes_nothing<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    commit(
        store,
        &key,
        &cx.create(
            &[("name", b"\"ada\""), ("small", b"250")],
            now_ms(),
            cx.long,
        ),
    )
    .await;
    let mut small = cx.increment("small", 10, cx.long);
    small.min = 0;
    small.max = 255;
    let over = store.increment(&key, &small).await;
    assert!(matches!(over, Err(StoreError::OutOfRange(_))), "{over:?}");
    let mut fresh = cx.increment("absent", -1, cx.long);
    fresh.min = 0;
    let under = store.increment(&key, &fresh).await;
    assert!(matches!(under, Err(StoreError::OutOfRange(_))), "{under:?}");
    let overflow = store
        .increment(&key, &cx.increment("small", i64::MAX, cx.long))
        .await;
    assert!(
        matches!(overflow, Err(StoreError::OutOfRange(_))),
        "{overflow:?}"
    );
    // From an absent field's default, not 0: the default is not left behind either.
    let mut from_default = cx.increment("absent", i64::MAX, cx.long);
    from_default.absent = 5;
    let overflow = store.increment(&key, &from_default).await;
    assert!(
        matches!(overflow, Err(StoreError::OutOfRange(_))),
        "{overflow:?}"
    );
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(
        record.fields,
        map(&[("name", b"\"ada\""), ("small", b"250")])
    );
    // A value that is not an integer counts as the default, as it does when loaded.
    let mut name = cx.increment("name", 1, cx.long);
    name.absent = 7;
    assert_eq!(increment(store, &key, &name).await, Some(8));
}

/// An increment starts from what a load shows (the stored text decoded into the field's
/// type, as the derive decodes it): from the stored value when it decodes; from the
/// default when it does not, an integer outside the type's range included (`300` in a
/// `u8`, `-1` in a `u64`); and when it decodes but lies past `i64`, where no store counts
/// (a `u64` above `i64::MAX`), it is refused and changes nothing, never reset.
async fn an_increment_counts_from_what_a_load_decodes<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    // A `u64` or `i64` counting from 0 is plain commands on one Redis node; the others,
    // and every one on a cluster, the script.
    let wrong = [
        counts_from_what_a_load_decodes::<u64, _>(store, cx, 1, 0).await,
        counts_from_what_a_load_decodes::<u64, _>(store, cx, -1, 0).await,
        counts_from_what_a_load_decodes::<i64, _>(store, cx, 1, 0).await,
        counts_from_what_a_load_decodes::<i64, _>(store, cx, -1, 0).await,
        counts_from_what_a_load_decodes::<u8, _>(store, cx, 1, 0).await,
        counts_from_what_a_load_decodes::<u8, _>(store, cx, -1, 7).await,
        counts_from_what_a_load_decodes::<i32, _>(store, cx, 1, 7).await,
    ]
    .concat();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Stored texts on either side of each counter type's bounds, and of what JSON reads as an
/// integer (`-0`, `5.0` and `1e2` are floats to it).
const STORED_COUNTS: [&str; 21] = [
    "0",
    "41",
    " 41 ",
    "-0",
    "5.0",
    "1e2",
    "\"5\"",
    "null",
    "255",
    "256",
    "300",
    "-1",
    "-128",
    "-129",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
];

/// An integer type a counter field may have.
trait CounterType: DeserializeOwned + Into<i128> + TryFrom<i64> {
    const NAME: &'static str;
    const MIN: i128;
    const MAX: i128;
}

macro_rules! counter_types {
    ($($ty:ty),*) => {$(
        impl CounterType for $ty {
            const NAME: &'static str = stringify!($ty);
            const MIN: i128 = <$ty>::MIN as i128;
            const MAX: i128 = <$ty>::MAX as i128;
        }
    )*};
}

counter_types!(u8, i32, u64, i64);

/// Increments by `by` a field of type `T` holding each of [`STORED_COUNTS`], and compares
/// each answer, and what is stored after, with what a load decodes each into. Returns the
/// differences.
async fn counts_from_what_a_load_decodes<T: CounterType, S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
    by: i64,
    absent: i64,
) -> Vec<String> {
    let key = fresh_key();
    let names: Vec<String> = (0..STORED_COUNTS.len()).map(|i| format!("f{i}")).collect();
    let fields: Vec<(&str, &[u8])> = names
        .iter()
        .zip(STORED_COUNTS)
        .map(|(name, text)| (name.as_str(), text.as_bytes()))
        .collect();
    commit(store, &key, &cx.create(&fields, now_ms(), cx.long)).await;
    // The JSON layout writes a document as JavaScript would (`5.0` as `5`): what counts is
    // what a load reads back.
    let before = load(store, &key, cx).await.expect("the session").fields;
    let mut expected = before.clone();
    let mut wrong = Vec::new();
    for (name, text) in names.iter().zip(STORED_COUNTS) {
        let stored = &before[name];
        let mut change = cx.increment(name, by, cx.long);
        change.min = T::MIN;
        change.max = T::MAX;
        change.absent = absent.into();
        let counted = store.increment(&key, &change).await;
        let should = counted_as_loaded::<T>(stored, by, absent);
        match (&counted, should) {
            (Ok(Some(value)), Some(should)) if *value == should => {
                expected.insert(name.clone(), value.to_string().into_bytes());
            }
            (Err(StoreError::OutOfRange(_)), None) => {}
            _ => wrong.push(format!(
                "{} holding {text:?} (stored {:?}), adding {by}, default {absent}: {counted:?}, \
                 where a load shows {}",
                T::NAME,
                String::from_utf8_lossy(stored),
                should.map_or("out of range".to_owned(), |value| format!("{value}"))
            )),
        }
    }
    let after = load(store, &key, cx).await.expect("the session").fields;
    for (name, text) in names.iter().zip(STORED_COUNTS) {
        if wrong.is_empty() && after[name] != expected[name] {
            wrong.push(format!(
                "{} holding {text:?}, adding {by}: stored {:?} after, {:?} expected",
                T::NAME,
                String::from_utf8_lossy(&after[name]),
                String::from_utf8_lossy(&expected[name]),
            ));
        }
    }
    wrong
}

/// What an increment by `by` of a field of type `T` that holds `stored` comes to, by the
/// load's own decoding; `None`: out of range.
fn counted_as_loaded<T: CounterType>(stored: &[u8], by: i64, absent: i64) -> Option<i64> {
    let start = match serde_json::from_slice::<T>(stored) {
        Ok(value) => i64::try_from(value.into()).ok()?,
        Err(_) => absent,
    };
    start
        .checked_add(by)
        .filter(|value| T::try_from(*value).is_ok())
}

/// Integers past 2^53, where a double (a Lua number, a JSON number) rounds, come back and
/// are stored exactly, on either side of the boundary and below zero too.
async fn an_increment_past_2_to_the_53_is_exact<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    const EDGE: i64 = 1 << 53;
    let key = fresh_key();
    let start = (EDGE - 2).to_string();
    let below = (-EDGE + 2).to_string();
    commit(
        store,
        &key,
        &cx.create(
            &[("big", start.as_bytes()), ("low", below.as_bytes())],
            now_ms(),
            cx.long,
        ),
    )
    .await;
    let up = cx.increment("big", 1, cx.long);
    for expected in [EDGE - 1, EDGE, EDGE + 1, EDGE + 2] {
        assert_eq!(increment(store, &key, &up).await, Some(expected));
    }
    let down = cx.increment("low", -1, cx.long);
    for expected in [-EDGE + 1, -EDGE, -EDGE - 1] {
        assert_eq!(increment(store, &key, &down).await, Some(expected));
    }
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields["big"], (EDGE + 2).to_string().into_bytes());
    assert_eq!(record.fields["low"], (-EDGE - 1).to_string().into_bytes());
}

async fn concurrent_increments_all_count<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    commit(
        store,
        &key,
        &cx.create(&[("views", b"0")], now_ms(), cx.long),
    )
    .await;
    let change = cx.increment("views", 1, cx.long);
    // 8 writers at once, 4 increments each.
    let mut results: Vec<i64> = futures_util::future::join_all((0..8).map(|_| async {
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(increment(store, &key, &change).await.expect("the session"));
        }
        seen
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    results.sort_unstable();
    assert_eq!(
        results,
        (1..=32).collect::<Vec<i64>>(),
        "each saw its own count"
    );
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields["views"], b"32");
}

/// A key no other check uses.
pub fn fresh_key() -> SessionKey {
    SessionKey::new(
        "conformance:",
        &SessionId::generate().expect("OS randomness"),
    )
}

/// Now, to the millisecond, which is what stores keep of a creation time.
pub fn now_ms() -> SystemTime {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64)
}

fn owned(fields: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    fields
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_vec()))
        .collect()
}

fn map(fields: &[(&str, &[u8])]) -> HashMap<String, Vec<u8>> {
    owned(fields).into_iter().collect()
}

async fn load<S: SessionStore + ?Sized>(store: &S, key: &SessionKey, cx: &Cx) -> Option<Record> {
    store
        .load(key, cx.load_options())
        .await
        .expect("load failed")
}

async fn commit<S: SessionStore + ?Sized>(
    store: &S,
    key: &SessionKey,
    changes: &ChangeSet,
) -> Committed {
    store.commit(key, changes).await.expect("commit failed")
}

async fn load_of_a_missing_session_is_none<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    assert_eq!(load(store, &key, cx).await, None);
    let refresh = LoadOptions {
        refresh_ttl: Some(cx.long),
        ..cx.load_options()
    };
    let refreshed = store.load(&key, refresh).await.expect("load failed");
    assert_eq!(refreshed, None, "a refreshing load of a missing session");
    assert_eq!(
        load(store, &key, cx).await,
        None,
        "a refreshing load created a session"
    );
}

async fn create_then_load_returns_what_was_written<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    // Checked or not for a free key (`fresh_id`, an id just generated), a create stores
    // the same session.
    for fresh_id in [false, true] {
        let key = fresh_key();
        let created_at = now_ms();
        let fields: &[(&str, &[u8])] = &[("views", b"1"), ("user", b"\"ann\"")];
        let mut changes = cx.create(fields, created_at, cx.long);
        changes.fresh_id = fresh_id;
        let outcome = commit(store, &key, &changes).await;
        assert_eq!(outcome, CommitOutcome::Written, "fresh id: {fresh_id}");
        let record = load(store, &key, cx).await.expect("the created session");
        assert_eq!(record.fields, map(fields), "fresh id: {fresh_id}");
        assert_eq!(record.created_at, cx.created(created_at));
        let ttl = record.ttl.expect("a session with a TTL");
        assert!(
            ttl > Duration::ZERO && ttl <= cx.long,
            "ttl {ttl:?} not in (0, {:?}], fresh id: {fresh_id}",
            cx.long
        );
    }
}

async fn a_session_without_fields_exists<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let created_at = now_ms();
    assert_eq!(
        commit(store, &key, &cx.create(&[], created_at, cx.long)).await,
        CommitOutcome::Written
    );
    let record = load(store, &key, cx)
        .await
        .expect("a session without fields");
    assert!(record.fields.is_empty(), "fields {:?}", record.fields);
    assert_eq!(record.created_at, cx.created(created_at));
    assert_eq!(
        commit(store, &key, &cx.update(&[], &[], cx.long)).await,
        CommitOutcome::Written,
        "an empty update of an empty session"
    );
}

async fn create_on_a_taken_key_is_a_collision_and_changes_nothing<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    let first = now_ms();
    commit(store, &key, &cx.create(&[("a", b"1")], first, cx.long)).await;
    let later = first + Duration::from_secs(5);
    let second = cx.create(&[("a", b"2"), ("b", b"3")], later, cx.short);
    assert_eq!(commit(store, &key, &second).await, CommitOutcome::Collision);
    let record = load(store, &key, cx).await.expect("the first session");
    assert_eq!(record.fields, map(&[("a", b"1")]));
    assert_eq!(record.created_at, cx.created(first));
    assert!(
        record.ttl.expect("a TTL") > cx.short,
        "the collision changed the TTL"
    );
}

async fn update_of_a_missing_session_is_refused_and_creates_nothing<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let never_created = fresh_key();
    let changes = cx.update(&[("user", b"\"ann\"")], &["cart"], cx.long);
    assert_eq!(
        commit(store, &never_created, &changes).await,
        CommitOutcome::Missing
    );
    assert_eq!(load(store, &never_created, cx).await, None);

    // The logout rule: a request that loaded the session before another one ended it
    // must not bring it back with its late write.
    let logged_out = fresh_key();
    commit(
        store,
        &logged_out,
        &cx.create(&[("user", b"\"ann\"")], now_ms(), cx.long),
    )
    .await;
    assert!(store.delete(&logged_out, &[]).await.expect("delete failed"));
    assert_eq!(
        commit(store, &logged_out, &changes).await,
        CommitOutcome::Missing,
        "a late write after a logout"
    );
    assert_eq!(
        load(store, &logged_out, cx).await,
        None,
        "a late write resurrected a session"
    );
}

async fn update_sets_only_the_given_fields<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let created_at = now_ms();
    let fields: &[(&str, &[u8])] = &[("a", b"1"), ("b", b"2"), ("unknown", b"{\"v\":2}")];
    commit(store, &key, &cx.create(fields, created_at, cx.long)).await;
    let changes = cx.update(&[("a", b"10"), ("d", b"4")], &[], cx.long);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key, cx).await.expect("the updated session");
    let expected: &[(&str, &[u8])] = &[
        ("a", b"10"),
        ("b", b"2"),
        ("unknown", b"{\"v\":2}"),
        ("d", b"4"),
    ];
    assert_eq!(record.fields, map(expected));
    assert_eq!(
        record.created_at,
        cx.created(created_at),
        "an update changed created_at"
    );
}

async fn removals_remove_only_the_named_fields<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let fields: &[(&str, &[u8])] = &[("a", b"1"), ("b", b"2"), ("c", b"3")];
    commit(store, &key, &cx.create(fields, now_ms(), cx.long)).await;
    let changes = cx.update(&[("c", b"30")], &["b", "never-set"], cx.long);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields, map(&[("a", b"1"), ("c", b"30")]));

    let changes = cx.update(&[], &["a", "c"], cx.long);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key, cx)
        .await
        .expect("removing every field keeps the session");
    assert!(record.fields.is_empty(), "fields {:?}", record.fields);
}

async fn values_are_opaque_bytes<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let long = vec![b'x'; 64 * 1024];
    let fields: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("binary", &all_bytes),
        ("long", &long),
        ("ünïcödé name", b"\"\xc3\xa9\""),
        ("with space and \"quotes\"", b"\r\n"),
    ];
    commit(store, &key, &cx.create(fields, now_ms(), cx.long)).await;
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields, map(fields));
}

async fn json_values_keep_their_text_and_order<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let fields: &[(&str, &[u8])] = &[
        ("z", b"1e+21"),
        ("nested", br#"{"b":1,"a":[0.5,"x"]}"#),
        ("ünïcödé \"name\"", "\"é\\n\"".as_bytes()),
        ("a", b"null"),
    ];
    commit(store, &key, &cx.create(fields, now_ms(), cx.long)).await;
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(record.fields, map(fields));
    let snapshot = record.snapshot.expect("a JSON session has a snapshot");
    assert_eq!(
        String::from_utf8_lossy(snapshot.as_bytes()),
        r#"{"z":1e+21,"nested":{"b":1,"a":[0.5,"x"]},"ünïcödé \"name\"":"é\n","a":null}"#
    );
    let refused = cx.create(&[("bad", b"not json")], now_ms(), cx.long);
    assert!(
        store.commit(&fresh_key(), &refused).await.is_err(),
        "a value that is not JSON was stored"
    );
}

async fn an_update_keeps_what_another_writer_changed_since_the_load<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    commit(
        store,
        &key,
        &cx.create(&[("a", b"1"), ("b", b"1")], now_ms(), cx.long),
    )
    .await;
    let loaded = load(store, &key, cx).await.expect("the session");
    // Another writer changes `b` after our load.
    commit(store, &key, &cx.update(&[("b", b"2")], &[], cx.long)).await;
    let mut ours = cx.update(&[("a", b"10")], &[], cx.long);
    ours.base = loaded.snapshot;
    assert_eq!(commit(store, &key, &ours).await, CommitOutcome::Written);
    let record = load(store, &key, cx).await.expect("the session");
    assert_eq!(
        record.fields,
        map(&[("a", b"10"), ("b", b"2")]),
        "a lost update"
    );
    // A stale base for a session deleted since: refused, not recreated.
    assert!(store.delete(&key, &[]).await.expect("delete failed"));
    let mut late = cx.update(&[("a", b"11")], &[], cx.long);
    late.base = record.snapshot;
    assert_eq!(commit(store, &key, &late).await, CommitOutcome::Missing);
    assert_eq!(
        load(store, &key, cx).await,
        None,
        "a late write resurrected a session"
    );
}

async fn large_change_sets_apply_whole<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    let names: Vec<String> = (0..1000).map(|i| format!("field{i}")).collect();
    let values: Vec<Vec<u8>> = (0..1000).map(|i| i.to_string().into_bytes()).collect();
    let fields: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    commit(store, &key, &cx.create(&fields, now_ms(), cx.long)).await;
    assert_eq!(
        load(store, &key, cx).await.expect("the session").fields,
        map(&fields)
    );

    let removed: Vec<&str> = names[..600].iter().map(String::as_str).collect();
    let set: Vec<(&str, &[u8])> = fields[600..]
        .iter()
        .map(|(n, _)| (*n, &b"\"new\""[..]))
        .collect();
    let changes = cx.update(&set, &removed, cx.long);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    assert_eq!(
        load(store, &key, cx).await.expect("the session").fields,
        map(&set)
    );
}

async fn sessions_expire_after_their_ttl<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    commit(store, &key, &cx.create(&[("a", b"1")], now_ms(), cx.short)).await;
    assert!(load(store, &key, cx).await.is_some(), "expired too early");
    tokio::time::sleep(cx.past_short).await;
    assert_eq!(load(store, &key, cx).await, None, "outlived its TTL");
    assert_eq!(
        commit(store, &key, &cx.update(&[("a", b"2")], &[], cx.long)).await,
        CommitOutcome::Missing,
        "an update revived an expired session"
    );
    assert_eq!(
        commit(store, &key, &cx.create(&[("b", b"1")], now_ms(), cx.long)).await,
        CommitOutcome::Written,
        "an expired session's key is free again"
    );
    let record = load(store, &key, cx).await.expect("the new session");
    assert_eq!(
        record.fields,
        map(&[("b", b"1")]),
        "the old fields came back"
    );
}

async fn commit_sets_the_ttl<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    commit(store, &key, &cx.create(&[("a", b"1")], now_ms(), cx.medium)).await;
    commit(store, &key, &cx.update(&[], &[], cx.long)).await;
    let ttl = load(store, &key, cx).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") > cx.medium,
        "an update did not extend the TTL"
    );

    commit(store, &key, &cx.update(&[], &[], cx.short)).await;
    let ttl = load(store, &key, cx).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") <= cx.short,
        "an update did not shorten the TTL"
    );
    tokio::time::sleep(cx.past_short).await;
    assert_eq!(
        load(store, &key, cx).await,
        None,
        "outlived the TTL of its last update"
    );
}

async fn load_refreshes_the_ttl_only_when_asked<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let refresh = LoadOptions {
        refresh_ttl: Some(cx.long),
        ..cx.load_options()
    };
    let refreshed = fresh_key();
    let untouched = fresh_key();
    for key in [&refreshed, &untouched] {
        commit(store, key, &cx.create(&[("a", b"1")], now_ms(), cx.short)).await;
    }
    let record = store.load(&refreshed, refresh).await.expect("load failed");
    let ttl = record.expect("the session").ttl.expect("a TTL");
    assert!(ttl > cx.short && ttl <= cx.long, "refreshed ttl {ttl:?}");
    let ttl = load(store, &untouched, cx).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") <= cx.short,
        "a plain load changed the TTL"
    );

    tokio::time::sleep(cx.past_short).await;
    let record = load(store, &refreshed, cx)
        .await
        .expect("the refresh did not hold");
    assert_eq!(record.fields, map(&[("a", b"1")]));
    assert_eq!(
        load(store, &untouched, cx).await,
        None,
        "a plain load extended the TTL"
    );
}

async fn a_threshold_refresh_happens_only_below_it_and_says_so<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    commit(store, &key, &cx.create(&[("a", b"1")], now_ms(), cx.medium)).await;
    let below = |threshold| LoadOptions {
        refresh_ttl: Some(cx.long),
        refresh_below: Some(threshold),
        layout: cx.layout,
    };
    let record = store
        .load(&key, below(cx.short))
        .await
        .expect("load failed");
    let record = record.expect("the session");
    assert!(!record.refreshed, "plenty left: no refresh");
    assert!(record.ttl.expect("a TTL") <= cx.medium, "the TTL moved");

    let record = store
        .load(&key, below(cx.medium * 2))
        .await
        .expect("load failed");
    let record = record.expect("the session");
    assert!(record.refreshed, "below the threshold: refreshed");
    assert!(
        record.ttl.expect("a TTL") > cx.medium,
        "the TTL did not move"
    );

    let record = load(store, &key, cx).await.expect("the session");
    assert!(!record.refreshed, "a plain load never refreshes");
}

async fn delete_reports_whether_the_session_existed<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let key = fresh_key();
    assert!(!store.delete(&key, &[]).await.expect("delete failed"));
    commit(store, &key, &cx.create(&[("a", b"1")], now_ms(), cx.long)).await;
    assert!(store.delete(&key, &[]).await.expect("delete failed"));
    assert!(!store.delete(&key, &[]).await.expect("delete failed"));
    assert_eq!(load(store, &key, cx).await, None);
}

/// A renewal starts the new session from what `retire` hands back: the session as it is
/// when it ends, with what other writers changed since the renewal's load.
async fn a_retirement_hands_back_the_session_as_it_ended<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let key = fresh_key();
    assert_eq!(store.retire(&key, &[]).await.expect("retire failed"), None);
    let created_at = now_ms();
    commit(store, &key, &cx.create(&[("a", b"1")], created_at, cx.long)).await;
    // Another request's write, after the load of the request that renews.
    commit(store, &key, &cx.update(&[("b", b"2")], &[], cx.long)).await;
    let retired = store
        .retire(&key, &[])
        .await
        .expect("retire failed")
        .expect("the session it ended");
    let field = |name: &str| retired.fields.get(name).map(Vec::as_slice);
    assert_eq!(field("a"), Some(&b"1"[..]));
    assert_eq!(field("b"), Some(&b"2"[..]), "a write made since the load");
    assert_eq!(retired.created_at, cx.created(created_at));
    assert!(
        retired
            .ttl
            .is_some_and(|ttl| ttl <= cx.long && ttl > cx.long / 2),
        "{:?}",
        retired.ttl
    );
    assert_eq!(
        retired.snapshot.is_some(),
        matches!(cx.layout, Layout::Json(_)),
        "a JSON document comes with its text"
    );
    assert_eq!(load(store, &key, cx).await, None);
    assert_eq!(store.retire(&key, &[]).await.expect("retire failed"), None);
}

async fn keys_are_independent<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let (one, two) = (fresh_key(), fresh_key());
    let created_at = now_ms();
    commit(store, &one, &cx.create(&[("a", b"1")], created_at, cx.long)).await;
    assert_eq!(
        commit(store, &two, &cx.create(&[("a", b"2")], created_at, cx.long)).await,
        CommitOutcome::Written,
        "a create collided with another key"
    );
    commit(store, &one, &cx.update(&[("b", b"1")], &["a"], cx.long)).await;
    assert_eq!(
        load(store, &two, cx)
            .await
            .expect("the second session")
            .fields,
        map(&[("a", b"2")])
    );
    assert!(store.delete(&two, &[]).await.expect("delete failed"));
    assert_eq!(
        load(store, &one, cx)
            .await
            .expect("the first session")
            .fields,
        map(&[("b", b"1")])
    );
}

/// An index no other check uses: the sessions of a user with a random name.
pub fn fresh_index() -> IndexKey {
    let user = SessionId::generate().expect("OS randomness");
    IndexKey::new(
        &IndexSecret::new("conformance index secret, 32 bytes or more"),
        "conformance:",
        "user",
        format!("\"{}\"", user.as_str()).as_bytes(),
    )
}

/// `changes`, joining and leaving the given indexes.
fn moving(mut changes: ChangeSet, join: &[&IndexKey], leave: &[&IndexKey]) -> ChangeSet {
    changes.index = IndexMoves {
        join: join.iter().map(|&index| index.clone()).collect(),
        leave: leave.iter().map(|&index| index.clone()).collect(),
        ..IndexMoves::default()
    };
    changes
}

/// A session created in `index`.
async fn create_in<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
    index: &IndexKey,
    ttl: Duration,
) -> SessionKey {
    let key = fresh_key();
    let changes = moving(cx.create(&[("user", b"1")], now_ms(), ttl), &[index], &[]);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    key
}

/// The ids an index lists, sorted.
pub async fn listed<S: SessionStore + ?Sized>(store: &S, index: &IndexKey) -> Vec<String> {
    let mut ids: Vec<String> = store
        .index_list(index, usize::MAX)
        .await
        .expect("index_list failed")
        .iter()
        .map(|listed| listed.id.as_str().to_owned())
        .collect();
    ids.sort();
    ids
}

/// What `index_end` answered, sorted as [`ids`] sorts.
fn ended_ids(ended: Vec<SessionId>) -> Vec<String> {
    let mut ids: Vec<String> = ended.iter().map(|id| id.as_str().to_owned()).collect();
    ids.sort();
    ids
}

/// The ids of `keys`, sorted, to compare with [`listed`].
pub fn ids(keys: &[&SessionKey]) -> Vec<String> {
    let mut ids: Vec<String> = keys.iter().map(|key| key.id().to_owned()).collect();
    ids.sort();
    ids
}

/// A listing carries, for each session, what the store keeps about it: its creation time,
/// its time left and (in the field layout) the device it recorded at login.
async fn a_listing_describes_each_session<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let index = fresh_index();
    let (with_device, without) = (fresh_key(), fresh_key());
    let created = now_ms() - Duration::from_secs(3600);
    let device: &[u8] = br#"{"ua":"Firefox/140"}"#;
    let changes = cx.create(&[("user", b"1"), (DEVICE_FIELD, device)], created, cx.long);
    let changes = moving(changes, &[&index], &[]);
    assert_eq!(
        commit(store, &with_device, &changes).await,
        CommitOutcome::Written
    );
    let changes = moving(
        cx.create(&[("user", b"1")], created, cx.medium),
        &[&index],
        &[],
    );
    assert_eq!(
        commit(store, &without, &changes).await,
        CommitOutcome::Written
    );

    let found = store
        .index_list(&index, usize::MAX)
        .await
        .expect("index_list failed");
    let find = |key: &SessionKey| {
        found
            .iter()
            .find(|listed| listed.id.as_str() == key.id())
            .unwrap_or_else(|| panic!("{key:?} is listed: {found:?}"))
            .clone()
    };
    let (one, two) = (find(&with_device), find(&without));
    assert_eq!(one.created_at, cx.created(created));
    let left = one.ttl.expect("a time-to-live");
    assert!(
        left <= cx.long && left > cx.long - Duration::from_secs(5),
        "{left:?}"
    );
    let left = two.ttl.expect("a time-to-live");
    assert!(
        left <= cx.medium && left > cx.medium - Duration::from_secs(5),
        "{left:?}"
    );
    match cx.layout {
        Layout::Fields => assert_eq!(one.device.as_deref(), Some(device)),
        _ => assert_eq!(one.device, None, "the JSON layout keeps no device"),
    }
    assert_eq!(two.device, None);
}

async fn an_index_lists_the_live_sessions_that_joined_it<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let (mine, theirs) = (fresh_index(), fresh_index());
    assert_eq!(listed(store, &mine).await, Vec::<String>::new());
    let one = create_in(store, cx, &mine, cx.long).await;
    let two = create_in(store, cx, &mine, cx.long).await;
    let other = create_in(store, cx, &theirs, cx.long).await;
    // A session outside every index is listed nowhere.
    commit(
        store,
        &fresh_key(),
        &cx.create(&[("user", b"1")], now_ms(), cx.long),
    )
    .await;
    assert_eq!(listed(store, &mine).await, ids(&[&one, &two]));
    assert_eq!(listed(store, &theirs).await, ids(&[&other]));
}

async fn an_index_forgets_sessions_that_ended_or_expired<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let index = fresh_index();
    let kept = create_in(store, cx, &index, cx.long).await;
    let logged_out = create_in(store, cx, &index, cx.long).await;
    let deleted_behind_its_back = create_in(store, cx, &index, cx.long).await;
    let expiring = create_in(store, cx, &index, cx.short).await;
    assert!(store
        .delete(&logged_out, std::slice::from_ref(&index))
        .await
        .expect("delete failed"));
    // Deleted without telling the index, as a session past its absolute timeout is.
    assert!(store
        .delete(&deleted_behind_its_back, &[])
        .await
        .expect("delete failed"));
    tokio::time::sleep(cx.past_short).await;
    assert_eq!(load(store, &expiring, cx).await, None);
    assert_eq!(listed(store, &index).await, ids(&[&kept]));
    assert_eq!(
        listed(store, &index).await,
        ids(&[&kept]),
        "a second listing differs"
    );
}

async fn an_update_moves_a_session_between_indexes<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let (from, to) = (fresh_index(), fresh_index());
    let key = create_in(store, cx, &from, cx.long).await;
    let change = moving(cx.update(&[("user", b"2")], &[], cx.long), &[&to], &[&from]);
    assert_eq!(commit(store, &key, &change).await, CommitOutcome::Written);
    assert_eq!(listed(store, &from).await, Vec::<String>::new());
    assert_eq!(listed(store, &to).await, ids(&[&key]));
}

async fn ending_an_index_ends_all_its_sessions_but_the_kept_one<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let (index, other) = (fresh_index(), fresh_index());
    let current = create_in(store, cx, &index, cx.long).await;
    let laptop = create_in(store, cx, &index, cx.long).await;
    let phone = create_in(store, cx, &index, cx.long).await;
    let someone_else = create_in(store, cx, &other, cx.long).await;
    let keep = SessionId::parse(current.id()).expect("a generated id");
    let ended = store
        .index_end(&index, Some(&keep))
        .await
        .expect("index_end failed");
    assert_eq!(
        ended_ids(ended),
        ids(&[&laptop, &phone]),
        "index_end must name exactly the sessions it ended"
    );
    assert_eq!(load(store, &laptop, cx).await, None);
    assert_eq!(load(store, &phone, cx).await, None);
    assert!(
        load(store, &current, cx).await.is_some(),
        "the kept session was ended"
    );
    assert!(
        load(store, &someone_else, cx).await.is_some(),
        "another index's session was ended"
    );
    assert_eq!(listed(store, &index).await, ids(&[&current]));

    assert_eq!(
        store
            .index_end(&index, None)
            .await
            .expect("index_end failed")
            .len(),
        1
    );
    assert_eq!(load(store, &current, cx).await, None);
    assert_eq!(listed(store, &index).await, Vec::<String>::new());
    assert_eq!(
        store
            .index_end(&index, None)
            .await
            .expect("index_end failed")
            .len(),
        0
    );
}

async fn a_refused_commit_changes_no_index<S: SessionStore + ?Sized>(store: &S, cx: &Cx) {
    let (index, elsewhere) = (fresh_index(), fresh_index());
    let key = create_in(store, cx, &index, cx.long).await;
    // A create on a taken key, and an update of a session that is gone: neither may move
    // an index entry, or a late write could take a live session out of its index.
    let taken = moving(cx.create(&[], now_ms(), cx.long), &[&elsewhere], &[&index]);
    assert_eq!(commit(store, &key, &taken).await, CommitOutcome::Collision);
    let gone = fresh_key();
    let late = moving(cx.update(&[], &[], cx.long), &[&elsewhere], &[]);
    assert_eq!(commit(store, &gone, &late).await, CommitOutcome::Missing);
    assert_eq!(listed(store, &index).await, ids(&[&key]));
    assert_eq!(listed(store, &elsewhere).await, Vec::<String>::new());
}

/// The first step of a renewal of `old`, in `index`: deleted, its entry held.
async fn retire_in<S: SessionStore + ?Sized>(store: &S, old: &SessionKey, index: &IndexKey) {
    assert!(store
        .retire(old, std::slice::from_ref(index))
        .await
        .expect("retire failed")
        .is_some());
}

/// The second step: a new session that takes the place of `old` in `index`.
async fn renewal_of<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
    old: &SessionKey,
    index: &IndexKey,
) -> (SessionKey, CommitOutcome) {
    let key = fresh_key();
    let mut changes = cx.create(&[("user", b"1")], now_ms(), cx.long);
    changes.index.take_over = Some(TakeOver {
        from: SessionId::parse(old.id()).expect("a generated id"),
        indexes: vec![index.clone()],
    });
    let outcome = commit(store, &key, &changes).await.outcome;
    (key, outcome)
}

async fn a_renewal_takes_the_place_of_the_session_it_renews<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let index = fresh_index();
    let other = create_in(store, cx, &index, cx.long).await;
    let old = create_in(store, cx, &index, cx.long).await;
    retire_in(store, &old, &index).await;
    // A listing between the two steps finds the old session gone, but keeps its entry:
    // the renewal is on its way.
    assert_eq!(listed(store, &index).await, ids(&[&other]));
    let (new, outcome) = renewal_of(store, cx, &old, &index).await;
    assert_eq!(outcome, CommitOutcome::Written);
    assert_eq!(listed(store, &index).await, ids(&[&other, &new]));
    assert_eq!(load(store, &old, cx).await, None);
}

async fn a_renewal_of_a_session_ended_meanwhile_is_refused<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let index = fresh_index();
    let current = create_in(store, cx, &index, cx.long).await;
    let old = create_in(store, cx, &index, cx.long).await;
    retire_in(store, &old, &index).await;
    // "Sign out everywhere else" lands between the renewal's two steps.
    let keep = SessionId::parse(current.id()).expect("a generated id");
    store
        .index_end(&index, Some(&keep))
        .await
        .expect("index_end failed");
    let (new, outcome) = renewal_of(store, cx, &old, &index).await;
    assert_eq!(
        outcome,
        CommitOutcome::Missing,
        "the renewal escaped the ending"
    );
    assert_eq!(
        load(store, &new, cx).await,
        None,
        "a refused renewal wrote its session"
    );
    assert_eq!(listed(store, &index).await, ids(&[&current]));
}

async fn a_renewal_that_took_its_place_is_ended_with_the_rest<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let index = fresh_index();
    let old = create_in(store, cx, &index, cx.long).await;
    retire_in(store, &old, &index).await;
    let (new, outcome) = renewal_of(store, cx, &old, &index).await;
    assert_eq!(outcome, CommitOutcome::Written);
    let ended = store
        .index_end(&index, None)
        .await
        .expect("index_end failed");
    assert_eq!(ended_ids(ended), ids(&[&new]));
    assert_eq!(load(store, &new, cx).await, None);
}

async fn an_index_past_its_cap_ends_its_oldest_sessions<S: SessionStore + ?Sized>(
    store: &S,
    cx: &Cx,
) {
    let index = fresh_index();
    let mut keys: Vec<SessionKey> = Vec::new();
    for n in 0..5_usize {
        let key = fresh_key();
        let mut changes = moving(
            cx.create(&[("user", b"1")], now_ms(), cx.long),
            &[&index],
            &[],
        );
        changes.index.cap = 3;
        let committed = commit(store, &key, &changes).await;
        assert_eq!(committed, CommitOutcome::Written);
        // The fourth and fifth logins each end the one that joined longest ago, and say so.
        let ended: Vec<EndedByCap> = n
            .checked_sub(3)
            .map(|oldest| EndedByCap {
                index: index.clone(),
                id: SessionId::parse(keys[oldest].id()).expect("a generated id"),
            })
            .into_iter()
            .collect();
        assert_eq!(committed.ended_by_cap, ended, "login {n}");
        keys.push(key);
        // Entries are ordered by when they joined, to the millisecond.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    assert_eq!(
        listed(store, &index).await,
        ids(&[&keys[2], &keys[3], &keys[4]])
    );
    for oldest in &keys[..2] {
        assert_eq!(
            load(store, oldest, cx).await,
            None,
            "an evicted session lives on"
        );
    }
    // A session gone without telling the index does not count against the cap: the next
    // login ends no live session.
    assert!(store.delete(&keys[2], &[]).await.expect("delete failed"));
    let key = fresh_key();
    let mut changes = moving(
        cx.create(&[("user", b"1")], now_ms(), cx.long),
        &[&index],
        &[],
    );
    changes.index.cap = 3;
    let committed = commit(store, &key, &changes).await;
    assert_eq!(committed, CommitOutcome::Written);
    assert_eq!(
        committed.ended_by_cap,
        Vec::new(),
        "a stale entry is no session"
    );
    assert_eq!(
        listed(store, &index).await,
        ids(&[&keys[3], &keys[4], &key])
    );
}
