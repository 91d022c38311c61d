//! The contract every [`SessionStore`] keeps, as one suite run once per backend.
//!
//! Each check uses fresh random keys, so the suite can run against a store that holds
//! other data, and twice against the same store.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_typed_session::store::{
    ChangeSet, CommitOutcome, IndexKey, IndexMoves, LoadOptions, Record, SessionKey, SessionStore,
    WriteMode,
};
use actix_typed_session::SessionId;

/// A TTL no check outlives.
const LONG: Duration = Duration::from_secs(60);
/// A TTL that outlives a few store calls in a row, but not a wait of [`PAST_SHORT`].
const SHORT: Duration = Duration::from_millis(400);
/// How long the expiry checks wait: well past [`SHORT`], so this is behaviour, not timing.
const PAST_SHORT: Duration = Duration::from_millis(1000);
/// A TTL in between, for checks that a TTL moved up or down.
const MEDIUM: Duration = Duration::from_secs(10);

/// Runs every check against `store`.
pub async fn run<S: SessionStore + ?Sized>(store: &S) {
    load_of_a_missing_session_is_none(store).await;
    create_then_load_returns_what_was_written(store).await;
    a_session_without_fields_exists(store).await;
    create_on_a_taken_key_is_a_collision_and_changes_nothing(store).await;
    update_of_a_missing_session_is_refused_and_creates_nothing(store).await;
    update_sets_only_the_given_fields(store).await;
    removals_remove_only_the_named_fields(store).await;
    values_are_opaque_bytes(store).await;
    large_change_sets_apply_whole(store).await;
    sessions_expire_after_their_ttl(store).await;
    commit_sets_the_ttl(store).await;
    load_refreshes_the_ttl_only_when_asked(store).await;
    a_threshold_refresh_happens_only_below_it_and_says_so(store).await;
    delete_reports_whether_the_session_existed(store).await;
    keys_are_independent(store).await;
    an_index_lists_the_live_sessions_that_joined_it(store).await;
    an_index_forgets_sessions_that_ended_or_expired(store).await;
    an_update_moves_a_session_between_indexes(store).await;
    ending_an_index_ends_all_its_sessions_but_the_kept_one(store).await;
    a_refused_commit_changes_no_index(store).await;
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

/// A change set that creates a session with `fields`.
pub fn create(fields: &[(&str, &[u8])], created_at: SystemTime, ttl: Duration) -> ChangeSet {
    ChangeSet {
        mode: WriteMode::Create { created_at },
        set: owned(fields),
        remove: Vec::new(),
        ttl,
        index: IndexMoves::default(),
    }
}

/// A change set that updates an existing session.
pub fn update(set: &[(&str, &[u8])], remove: &[&str], ttl: Duration) -> ChangeSet {
    ChangeSet {
        mode: WriteMode::Update,
        set: owned(set),
        remove: remove.iter().map(|name| name.to_string()).collect(),
        ttl,
        index: IndexMoves::default(),
    }
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

async fn load<S: SessionStore + ?Sized>(store: &S, key: &SessionKey) -> Option<Record> {
    store
        .load(key, LoadOptions::default())
        .await
        .expect("load failed")
}

async fn commit<S: SessionStore + ?Sized>(
    store: &S,
    key: &SessionKey,
    changes: &ChangeSet,
) -> CommitOutcome {
    store.commit(key, changes).await.expect("commit failed")
}

async fn load_of_a_missing_session_is_none<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    assert_eq!(load(store, &key).await, None);
    let refresh = LoadOptions {
        refresh_ttl: Some(LONG),
        ..LoadOptions::default()
    };
    let refreshed = store.load(&key, refresh).await.expect("load failed");
    assert_eq!(refreshed, None, "a refreshing load of a missing session");
    assert_eq!(
        load(store, &key).await,
        None,
        "a refreshing load created a session"
    );
}

async fn create_then_load_returns_what_was_written<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    let created_at = now_ms();
    let fields: &[(&str, &[u8])] = &[("views", b"1"), ("user", b"\"ann\"")];
    let outcome = commit(store, &key, &create(fields, created_at, LONG)).await;
    assert_eq!(outcome, CommitOutcome::Written);
    let record = load(store, &key).await.expect("the created session");
    assert_eq!(record.fields, map(fields));
    assert_eq!(record.created_at, Some(created_at));
    let ttl = record.ttl.expect("a session with a TTL");
    assert!(
        ttl > Duration::ZERO && ttl <= LONG,
        "ttl {ttl:?} not in (0, {LONG:?}]"
    );
}

async fn a_session_without_fields_exists<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    let created_at = now_ms();
    assert_eq!(
        commit(store, &key, &create(&[], created_at, LONG)).await,
        CommitOutcome::Written
    );
    let record = load(store, &key).await.expect("a session without fields");
    assert!(record.fields.is_empty(), "fields {:?}", record.fields);
    assert_eq!(record.created_at, Some(created_at));
    assert_eq!(
        commit(store, &key, &update(&[], &[], LONG)).await,
        CommitOutcome::Written,
        "an empty update of an empty session"
    );
}

async fn create_on_a_taken_key_is_a_collision_and_changes_nothing<S: SessionStore + ?Sized>(
    store: &S,
) {
    let key = fresh_key();
    let first = now_ms();
    commit(store, &key, &create(&[("a", b"1")], first, LONG)).await;
    let later = first + Duration::from_secs(5);
    let second = create(&[("a", b"2"), ("b", b"3")], later, SHORT);
    assert_eq!(commit(store, &key, &second).await, CommitOutcome::Collision);
    let record = load(store, &key).await.expect("the first session");
    assert_eq!(record.fields, map(&[("a", b"1")]));
    assert_eq!(record.created_at, Some(first));
    assert!(
        record.ttl.expect("a TTL") > SHORT,
        "the collision changed the TTL"
    );
}

async fn update_of_a_missing_session_is_refused_and_creates_nothing<S: SessionStore + ?Sized>(
    store: &S,
) {
    let never_created = fresh_key();
    let changes = update(&[("user", b"\"ann\"")], &["cart"], LONG);
    assert_eq!(
        commit(store, &never_created, &changes).await,
        CommitOutcome::Missing
    );
    assert_eq!(load(store, &never_created).await, None);

    // The logout rule: a request that loaded the session before another one ended it
    // must not bring it back with its late write.
    let logged_out = fresh_key();
    commit(
        store,
        &logged_out,
        &create(&[("user", b"\"ann\"")], now_ms(), LONG),
    )
    .await;
    assert!(store.delete(&logged_out, &[]).await.expect("delete failed"));
    assert_eq!(
        commit(store, &logged_out, &changes).await,
        CommitOutcome::Missing,
        "a late write after a logout"
    );
    assert_eq!(
        load(store, &logged_out).await,
        None,
        "a late write resurrected a session"
    );
}

async fn update_sets_only_the_given_fields<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    let created_at = now_ms();
    let fields: &[(&str, &[u8])] = &[("a", b"1"), ("b", b"2"), ("unknown", b"{\"v\":2}")];
    commit(store, &key, &create(fields, created_at, LONG)).await;
    let changes = update(&[("a", b"10"), ("d", b"4")], &[], LONG);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key).await.expect("the updated session");
    let expected: &[(&str, &[u8])] = &[
        ("a", b"10"),
        ("b", b"2"),
        ("unknown", b"{\"v\":2}"),
        ("d", b"4"),
    ];
    assert_eq!(record.fields, map(expected));
    assert_eq!(
        record.created_at,
        Some(created_at),
        "an update changed created_at"
    );
}

async fn removals_remove_only_the_named_fields<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    let fields: &[(&str, &[u8])] = &[("a", b"1"), ("b", b"2"), ("c", b"3")];
    commit(store, &key, &create(fields, now_ms(), LONG)).await;
    let changes = update(&[("c", b"30")], &["b", "never-set"], LONG);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key).await.expect("the session");
    assert_eq!(record.fields, map(&[("a", b"1"), ("c", b"30")]));

    let changes = update(&[], &["a", "c"], LONG);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    let record = load(store, &key)
        .await
        .expect("removing every field keeps the session");
    assert!(record.fields.is_empty(), "fields {:?}", record.fields);
}

async fn values_are_opaque_bytes<S: SessionStore + ?Sized>(store: &S) {
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
    commit(store, &key, &create(fields, now_ms(), LONG)).await;
    let record = load(store, &key).await.expect("the session");
    assert_eq!(record.fields, map(fields));
}

async fn large_change_sets_apply_whole<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    let names: Vec<String> = (0..1000).map(|i| format!("field{i}")).collect();
    let values: Vec<Vec<u8>> = (0..1000).map(|i| i.to_string().into_bytes()).collect();
    let fields: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    commit(store, &key, &create(&fields, now_ms(), LONG)).await;
    assert_eq!(
        load(store, &key).await.expect("the session").fields,
        map(&fields)
    );

    let removed: Vec<&str> = names[..600].iter().map(String::as_str).collect();
    let set: Vec<(&str, &[u8])> = fields[600..]
        .iter()
        .map(|(n, _)| (*n, &b"new"[..]))
        .collect();
    let changes = update(&set, &removed, LONG);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    assert_eq!(
        load(store, &key).await.expect("the session").fields,
        map(&set)
    );
}

async fn sessions_expire_after_their_ttl<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    commit(store, &key, &create(&[("a", b"1")], now_ms(), SHORT)).await;
    assert!(load(store, &key).await.is_some(), "expired too early");
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(load(store, &key).await, None, "outlived its TTL");
    assert_eq!(
        commit(store, &key, &update(&[("a", b"2")], &[], LONG)).await,
        CommitOutcome::Missing,
        "an update revived an expired session"
    );
    assert_eq!(
        commit(store, &key, &create(&[("b", b"1")], now_ms(), LONG)).await,
        CommitOutcome::Written,
        "an expired session's key is free again"
    );
    let record = load(store, &key).await.expect("the new session");
    assert_eq!(
        record.fields,
        map(&[("b", b"1")]),
        "the old fields came back"
    );
}

async fn commit_sets_the_ttl<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    commit(store, &key, &create(&[("a", b"1")], now_ms(), MEDIUM)).await;
    commit(store, &key, &update(&[], &[], LONG)).await;
    let ttl = load(store, &key).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") > MEDIUM,
        "an update did not extend the TTL"
    );

    commit(store, &key, &update(&[], &[], SHORT)).await;
    let ttl = load(store, &key).await.expect("the session").ttl;
    assert!(
        ttl.expect("a TTL") <= SHORT,
        "an update did not shorten the TTL"
    );
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(
        load(store, &key).await,
        None,
        "outlived the TTL of its last update"
    );
}

async fn load_refreshes_the_ttl_only_when_asked<S: SessionStore + ?Sized>(store: &S) {
    let refresh = LoadOptions {
        refresh_ttl: Some(LONG),
        ..LoadOptions::default()
    };
    let refreshed = fresh_key();
    let untouched = fresh_key();
    for key in [&refreshed, &untouched] {
        commit(store, key, &create(&[("a", b"1")], now_ms(), SHORT)).await;
    }
    let record = store.load(&refreshed, refresh).await.expect("load failed");
    let ttl = record.expect("the session").ttl.expect("a TTL");
    assert!(ttl > SHORT && ttl <= LONG, "refreshed ttl {ttl:?}");
    let ttl = load(store, &untouched).await.expect("the session").ttl;
    assert!(ttl.expect("a TTL") <= SHORT, "a plain load changed the TTL");

    tokio::time::sleep(PAST_SHORT).await;
    let record = load(store, &refreshed)
        .await
        .expect("the refresh did not hold");
    assert_eq!(record.fields, map(&[("a", b"1")]));
    assert_eq!(
        load(store, &untouched).await,
        None,
        "a plain load extended the TTL"
    );
}

async fn a_threshold_refresh_happens_only_below_it_and_says_so<S: SessionStore + ?Sized>(
    store: &S,
) {
    let key = fresh_key();
    commit(store, &key, &create(&[("a", b"1")], now_ms(), MEDIUM)).await;
    let below = |threshold| LoadOptions {
        refresh_ttl: Some(LONG),
        refresh_below: Some(threshold),
    };
    let record = store.load(&key, below(SHORT)).await.expect("load failed");
    let record = record.expect("the session");
    assert!(!record.refreshed, "plenty left: no refresh");
    assert!(record.ttl.expect("a TTL") <= MEDIUM, "the TTL moved");

    let record = store
        .load(&key, below(MEDIUM * 2))
        .await
        .expect("load failed");
    let record = record.expect("the session");
    assert!(record.refreshed, "below the threshold: refreshed");
    assert!(record.ttl.expect("a TTL") > MEDIUM, "the TTL did not move");

    let record = load(store, &key).await.expect("the session");
    assert!(!record.refreshed, "a plain load never refreshes");
}

async fn delete_reports_whether_the_session_existed<S: SessionStore + ?Sized>(store: &S) {
    let key = fresh_key();
    assert!(!store.delete(&key, &[]).await.expect("delete failed"));
    commit(store, &key, &create(&[("a", b"1")], now_ms(), LONG)).await;
    assert!(store.delete(&key, &[]).await.expect("delete failed"));
    assert!(!store.delete(&key, &[]).await.expect("delete failed"));
    assert_eq!(load(store, &key).await, None);
}

async fn keys_are_independent<S: SessionStore + ?Sized>(store: &S) {
    let (one, two) = (fresh_key(), fresh_key());
    let created_at = now_ms();
    commit(store, &one, &create(&[("a", b"1")], created_at, LONG)).await;
    assert_eq!(
        commit(store, &two, &create(&[("a", b"2")], created_at, LONG)).await,
        CommitOutcome::Written,
        "a create collided with another key"
    );
    commit(store, &one, &update(&[("b", b"1")], &["a"], LONG)).await;
    assert_eq!(
        load(store, &two).await.expect("the second session").fields,
        map(&[("a", b"2")])
    );
    assert!(store.delete(&two, &[]).await.expect("delete failed"));
    assert_eq!(
        load(store, &one).await.expect("the first session").fields,
        map(&[("b", b"1")])
    );
}

/// An index no other check uses: the sessions of a user with a random name.
pub fn fresh_index() -> IndexKey {
    let user = SessionId::generate().expect("OS randomness");
    IndexKey::new(
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
        ttl: None,
    };
    changes
}

/// A session created in `index`.
async fn create_in<S: SessionStore + ?Sized>(
    store: &S,
    index: &IndexKey,
    ttl: Duration,
) -> SessionKey {
    let key = fresh_key();
    let changes = moving(create(&[("user", b"1")], now_ms(), ttl), &[index], &[]);
    assert_eq!(commit(store, &key, &changes).await, CommitOutcome::Written);
    key
}

/// The ids an index lists, sorted.
async fn listed<S: SessionStore + ?Sized>(store: &S, index: &IndexKey) -> Vec<String> {
    let mut ids: Vec<String> = store
        .index_list(index)
        .await
        .expect("index_list failed")
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect();
    ids.sort();
    ids
}

fn ids(keys: &[&SessionKey]) -> Vec<String> {
    let mut ids: Vec<String> = keys.iter().map(|key| key.id().to_owned()).collect();
    ids.sort();
    ids
}

async fn an_index_lists_the_live_sessions_that_joined_it<S: SessionStore + ?Sized>(store: &S) {
    let (mine, theirs) = (fresh_index(), fresh_index());
    assert_eq!(listed(store, &mine).await, Vec::<String>::new());
    let one = create_in(store, &mine, LONG).await;
    let two = create_in(store, &mine, LONG).await;
    let other = create_in(store, &theirs, LONG).await;
    // A session outside every index is listed nowhere.
    commit(
        store,
        &fresh_key(),
        &create(&[("user", b"1")], now_ms(), LONG),
    )
    .await;
    assert_eq!(listed(store, &mine).await, ids(&[&one, &two]));
    assert_eq!(listed(store, &theirs).await, ids(&[&other]));
}

async fn an_index_forgets_sessions_that_ended_or_expired<S: SessionStore + ?Sized>(store: &S) {
    let index = fresh_index();
    let kept = create_in(store, &index, LONG).await;
    let logged_out = create_in(store, &index, LONG).await;
    let deleted_behind_its_back = create_in(store, &index, LONG).await;
    let expiring = create_in(store, &index, SHORT).await;
    assert!(store
        .delete(&logged_out, std::slice::from_ref(&index))
        .await
        .expect("delete failed"));
    // Deleted without telling the index, as a session past its absolute timeout is.
    assert!(store
        .delete(&deleted_behind_its_back, &[])
        .await
        .expect("delete failed"));
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(load(store, &expiring).await, None);
    assert_eq!(listed(store, &index).await, ids(&[&kept]));
    assert_eq!(
        listed(store, &index).await,
        ids(&[&kept]),
        "a second listing differs"
    );
}

async fn an_update_moves_a_session_between_indexes<S: SessionStore + ?Sized>(store: &S) {
    let (from, to) = (fresh_index(), fresh_index());
    let key = create_in(store, &from, LONG).await;
    let change = moving(update(&[("user", b"2")], &[], LONG), &[&to], &[&from]);
    assert_eq!(commit(store, &key, &change).await, CommitOutcome::Written);
    assert_eq!(listed(store, &from).await, Vec::<String>::new());
    assert_eq!(listed(store, &to).await, ids(&[&key]));
}

async fn ending_an_index_ends_all_its_sessions_but_the_kept_one<S: SessionStore + ?Sized>(
    store: &S,
) {
    let (index, other) = (fresh_index(), fresh_index());
    let current = create_in(store, &index, LONG).await;
    let laptop = create_in(store, &index, LONG).await;
    let phone = create_in(store, &index, LONG).await;
    let someone_else = create_in(store, &other, LONG).await;
    let keep = SessionId::parse(current.id()).expect("a generated id");
    let ended = store
        .index_end(&index, Some(&keep))
        .await
        .expect("index_end failed");
    assert_eq!(ended, 2);
    assert_eq!(load(store, &laptop).await, None);
    assert_eq!(load(store, &phone).await, None);
    assert!(
        load(store, &current).await.is_some(),
        "the kept session was ended"
    );
    assert!(
        load(store, &someone_else).await.is_some(),
        "another index's session was ended"
    );
    assert_eq!(listed(store, &index).await, ids(&[&current]));

    assert_eq!(
        store
            .index_end(&index, None)
            .await
            .expect("index_end failed"),
        1
    );
    assert_eq!(load(store, &current).await, None);
    assert_eq!(listed(store, &index).await, Vec::<String>::new());
    assert_eq!(
        store
            .index_end(&index, None)
            .await
            .expect("index_end failed"),
        0
    );
}

async fn a_refused_commit_changes_no_index<S: SessionStore + ?Sized>(store: &S) {
    let (index, elsewhere) = (fresh_index(), fresh_index());
    let key = create_in(store, &index, LONG).await;
    // A create on a taken key, and an update of a session that is gone: neither may move
    // an index entry, or a late write could take a live session out of its index.
    let taken = moving(create(&[], now_ms(), LONG), &[&elsewhere], &[&index]);
    assert_eq!(commit(store, &key, &taken).await, CommitOutcome::Collision);
    let gone = fresh_key();
    let late = moving(update(&[], &[], LONG), &[&elsewhere], &[]);
    assert_eq!(commit(store, &gone, &late).await, CommitOutcome::Missing);
    assert_eq!(listed(store, &index).await, ids(&[&key]));
    assert_eq!(listed(store, &elsewhere).await, Vec::<String>::new());
}
