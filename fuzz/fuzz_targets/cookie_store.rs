#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| actix_typed_session_fuzz::cookie_store(data));
