//! Untrusted policy text: parsing never panics, a parsed policy writes back
//! to JSON that parses to the same policy, and linting it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policies::Policy;
use policies::catalogue::Catalogue;
use policies::lint::{PolicyKind, lint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(text) else {
        return;
    };
    let again = Policy::parse(&policy.to_json()).expect("written policy parses");
    assert_eq!(again, policy);
    lint(&policy, PolicyKind::Identity, Catalogue::builtin());
});
