//! Request JSON and public-key parsing: `cargo +nightly fuzz run request`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ssh_ca::fuzz::request(data));
