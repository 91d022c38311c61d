//! Every error `#[derive(SessionData)]` can report, pinned with its span and wording in
//! `tests/ui/*.stderr`, plus the inputs it must accept. Regenerate the pins after a
//! deliberate change with `TRYBUILD=overwrite cargo test -p actix-typed-session-derive-tests --test derive_ui`.

#[test]
fn derive_ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
