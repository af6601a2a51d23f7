//! Catalogue load, expansion and minimization timings.
#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "benches; criterion_group! makes an undocumented fn"
)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use policies::catalogue::{ActionId, ActionSet, Catalogue};
use policies::expand::expand;
use policies::minimize::{Options, minimize_set};

/// 300 distinct random actions from a fixed seed (xorshift64).
fn random_actions(cat: &Catalogue, n: usize) -> ActionSet {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut set = ActionSet::new();
    while set.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = (state % cat.action_count() as u64) as u32;
        set.insert(ActionId::new(index));
    }
    set
}

fn benches(c: &mut Criterion) {
    c.bench_function("catalogue_load", |b| {
        b.iter(|| Catalogue::parse_builtin().unwrap())
    });
    let cat = Catalogue::try_builtin().unwrap();
    c.bench_function("expand_star", |b| b.iter(|| expand(cat, black_box(["*"]))));
    c.bench_function("expand_s3_star", |b| {
        b.iter(|| expand(cat, black_box(["s3:*"])))
    });
    c.bench_function("expand_service_wildcard", |b| {
        b.iter(|| expand(cat, black_box(["*:Get*"])))
    });
    let set = random_actions(cat, 300);
    let options = Options::default();
    c.bench_function("minimize_300", |b| {
        b.iter(|| minimize_set(cat, black_box(&set), &options))
    });
}

criterion_group!(catalogue, benches);
criterion_main!(catalogue);
