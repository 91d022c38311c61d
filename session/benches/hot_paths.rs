//! Micro benchmarks of what one request runs: `cargo bench -p actix-typed-session`.
//! The load benchmark (`scripts/bench.sh`) measures whole requests.

use std::collections::HashMap;
use std::hint::black_box;

use actix_typed_session::__bench::{commit_of, decode, encode_dirty, Signer};
use actix_typed_session::test::TestSession;
use actix_typed_session::{Keys, SessionData, SessionId};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

/// The counter example's session.
#[derive(SessionData)]
struct Visit {
    views: u64,
    user: Option<String>,
}

fn id_generation(c: &mut Criterion) {
    c.bench_function("id: generate", |b| b.iter(SessionId::generate));
    let id = SessionId::generate().expect("randomness");
    c.bench_function("id: parse and validate", |b| {
        b.iter(|| SessionId::parse(black_box(id.as_str())))
    });
}

fn signature(c: &mut Criterion) {
    let signer = Signer::new(&Keys::new(["a long random secret"])).expect("a key");
    let rotated =
        Signer::new(&Keys::new(["the new secret", "a long random secret"])).expect("two keys");
    let id = SessionId::generate().expect("randomness");
    let data = format!("session={}", id.as_str());
    let signature = signer.sign(data.as_bytes());
    c.bench_function("signature: verify", |b| {
        b.iter(|| assert!(signer.verify(black_box(data.as_bytes()), black_box(&signature))))
    });
    c.bench_function("signature: verify with the second key", |b| {
        b.iter(|| assert!(rotated.verify(black_box(data.as_bytes()), black_box(&signature))))
    });
    c.bench_function("signature: reject a forgery", |b| {
        let forged = "A".repeat(signature.len());
        b.iter(|| assert!(!signer.verify(black_box(data.as_bytes()), black_box(&forged))))
    });
}

fn fields(c: &mut Criterion) {
    let stored: HashMap<String, Vec<u8>> = [
        ("views".to_owned(), b"41".to_vec()),
        ("user".to_owned(), b"\"ada\"".to_vec()),
    ]
    .into();
    c.bench_function("derive: decode a loaded session", |b| {
        b.iter(|| decode::<Visit>(black_box(&stored)))
    });
    c.bench_function("derive: encode one dirty field", |b| {
        b.iter_batched(
            || {
                let typed = decode::<Visit>(&stored);
                typed.update(0, |visit| visit.views += 1);
                typed
            },
            |typed| encode_dirty(&typed).expect("encodes"),
            BatchSize::SmallInput,
        )
    });
}

fn commit(c: &mut Criterion) {
    c.bench_function("commit: build the change set of one changed field", |b| {
        b.iter_batched(
            || {
                let test = TestSession::new(Visit {
                    views: 41,
                    user: Some("ada".to_owned()),
                });
                test.session().set_views(42);
                test
            },
            |test| commit_of(&test).expect("builds"),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, id_generation, signature, fields, commit);
criterion_main!(benches);
