//! The fuzz target's seeds run through its hook on every test run.
#![allow(clippy::unwrap_used, reason = "tests")]

#[test]
fn fuzz_seeds_pass_the_hook() {
    let mut seen = 0;
    for dir in ["fuzz/corpus/request", "testdata"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            ssh_ca::fuzz::request(&data);
            seen += 1;
        }
    }
    assert!(seen >= 10, "seeds found: {seen}");
}
