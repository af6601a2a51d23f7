//! Properties of expansion and minimization over the embedded catalogue.
#![allow(clippy::unwrap_used, reason = "tests")]

use policies::catalogue::{ActionId, ActionSet, Catalogue};
use policies::expand::expand;
use policies::glob::{Case, matches};
use policies::minimize::{Options, minimize, minimize_set};
use proptest::prelude::*;
use std::sync::OnceLock;

fn cat() -> &'static Catalogue {
    Catalogue::try_builtin().unwrap()
}

/// `prefix:Name` of every action, by id.
fn full_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| cat().actions().map(|a| a.to_string()).collect())
}

/// The reference expansion: every action whose full name the pattern matches.
fn filtered(pattern: &str) -> ActionSet {
    full_names()
        .iter()
        .enumerate()
        .filter(|(_, name)| matches(pattern, name, Case::Insensitive))
        .map(|(i, _)| ActionId::new(i as u32))
        .collect()
}

/// A subset of the catalogue: scattered actions, whole services, and dense
/// random parts of services (which is where wildcards pay off).
fn subsets() -> impl Strategy<Value = ActionSet> {
    let actions = cat().action_count() as u32;
    let services = cat().services().len();
    (
        prop::collection::vec(0..actions, 0..120),
        prop::collection::vec(0..services, 0..3),
        prop::collection::vec((0..services, any::<u64>(), 1u64..=100), 0..4),
    )
        .prop_map(|(scattered, whole, dense)| {
            let mut set: ActionSet = scattered.into_iter().map(ActionId::new).collect();
            let services: Vec<_> = cat().services().collect();
            for s in whole {
                set.insert_range(services[s].action_range());
            }
            for (s, mut seed, percent) in dense {
                for index in services[s].action_range() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    if seed % 100 < percent {
                        set.insert(ActionId::new(index as u32));
                    }
                }
            }
            set
        })
}

/// Patterns built by damaging real action names: wildcards over runs,
/// single-character `?`, case changes; plus short random patterns.
fn patterns() -> impl Strategy<Value = String> {
    let actions = cat().action_count();
    let mutated = (
        0..actions,
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, 0usize..6), 0..3),
    )
        .prop_map(|(id, edits)| {
            let mut chars: Vec<char> = full_names()[id].chars().collect();
            for (at, op, len) in edits {
                if chars.is_empty() {
                    break;
                }
                let i = at.index(chars.len());
                match op {
                    0 => {
                        let end = (i + len).min(chars.len());
                        chars.splice(i..end, ['*']);
                    }
                    1 => chars[i] = '?',
                    2 => chars[i] = chars[i].to_ascii_uppercase(),
                    _ => chars[i] = chars[i].to_ascii_lowercase(),
                }
            }
            chars.into_iter().collect::<String>()
        });
    prop_oneof![
        4 => mutated,
        1 => "[a-z0-9*?:]{0,10}",
        1 => "(s3|iam|ec2|\\*|s\\*|\\?\\?\\?):(Get|List|\\*|Put\\*|\\*Object\\*|[A-Z][a-z]\\?)",
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (0usize..12, any::<bool>()).prop_map(|(min_prefix_len, collapse_services)| Options {
        min_prefix_len,
        collapse_services,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn expanding_the_minimized_set_gives_the_set(set in subsets(), options in options()) {
        let patterns = minimize_set(cat(), &set, &options);
        let back = expand(cat(), &patterns);
        prop_assert!(back.unmatched.is_empty(), "{:?}", back.unmatched);
        prop_assert_eq!(&back.actions, &set, "patterns {:?}", patterns);

        // The string form gives the same patterns, and the options hold.
        let names: Vec<&str> = set.iter().map(|id| full_names()[id.index()].as_str()).collect();
        prop_assert_eq!(&minimize(cat(), &names, &options), &patterns);
        for pattern in &patterns {
            let (_, name) = pattern.split_once(':').unwrap();
            if let Some(stem) = name.strip_suffix('*') {
                if stem.is_empty() {
                    prop_assert!(options.collapse_services, "{}", pattern);
                } else {
                    prop_assert!(stem.len() >= options.min_prefix_len, "{}", pattern);
                }
            }
        }
        let mut sorted = patterns.clone();
        sorted.sort_by_key(|p| p.to_ascii_lowercase());
        prop_assert_eq!(sorted, patterns);
    }

    #[test]
    fn minimize_is_no_worse_than_exact_names(set in subsets()) {
        let patterns = minimize_set(cat(), &set, &Options::default());
        prop_assert!(patterns.len() <= set.len());
    }

    #[test]
    fn expanding_a_pattern_filters_the_catalogue(pattern in patterns()) {
        let got = expand(cat(), [&pattern]);
        let want = filtered(&pattern);
        prop_assert_eq!(got.unmatched.is_empty(), !want.is_empty());
        prop_assert_eq!(got.actions, want, "pattern {}", pattern);
    }
}

#[test]
fn service_wildcards_agree_with_filtering() {
    for pattern in [
        "*",
        "s3:*",
        "S3:get*",
        "*:Get*",
        "s3*:*",
        "?3:*Object",
        "iam:*Role*",
        "*:*",
    ] {
        assert_eq!(
            expand(cat(), [pattern]).actions,
            filtered(pattern),
            "{pattern}"
        );
    }
}
