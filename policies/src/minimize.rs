//! The inverse of [`expand`](crate::expand): a set of actions written as the
//! fewest patterns that match exactly those actions and no other catalogue
//! action.
//!
//! Patterns are prefix wildcards (`s3:GetObject*`), whole services (`s3:*`)
//! and exact names. Within a service the actions sorted by lowercase name form
//! a trie without building one: the actions sharing a prefix are a contiguous
//! run, and a run whose actions are all wanted is one pattern. Taking the
//! shortest such prefix (the highest fully-wanted trie node) is optimal for
//! prefix patterns: any cover needs at least one pattern per maximal
//! fully-wanted node, and no prefix pattern spans two of them.
//!
//! A run of a single action is written as the exact action name rather than
//! a prefix wildcard: the same count, clearer, and it does not silently grow
//! when AWS adds an action with that prefix.
//!
//! ```
//! use policies::catalogue::Catalogue;
//! use policies::minimize::{minimize, Options};
//! let cat = Catalogue::builtin();
//! let object_tags = ["s3:GetObjectTagging", "s3:getobjecttorrent", "s3:GetObjectVersionTagging"];
//! // `GetObjectTagging` and `GetObjectTorrent` are all the `GetObjectT...` actions.
//! assert_eq!(
//!     minimize(cat, object_tags, &Options::default()),
//!     ["s3:GetObjectT*", "s3:GetObjectVersionTagging"]
//! );
//! let all_s3: Vec<String> = cat.service("s3").unwrap().actions().map(|a| a.to_string()).collect();
//! assert_eq!(minimize(cat, &all_s3, &Options::default()), ["s3:*"]);
//! ```

use crate::catalogue::{ActionSet, Catalogue, Service, cmp_ignore_case};

/// How [`minimize`] may write patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The fewest characters a wildcard pattern keeps after `prefix:`
    /// before its `*`: with 4, `s3:GetO*` may be written but `s3:Get*` is
    /// split into longer prefixes. Exact action names are always allowed,
    /// however short, and `prefix:*` is governed by `collapse_services`
    /// alone. 0 (the default) puts no limit.
    pub min_prefix_len: usize,
    /// Write a service whose every action is in the set as `prefix:*`
    /// (the default). When false, such a service is written with patterns
    /// that each keep at least one character of the action name (or
    /// `min_prefix_len`, if larger).
    pub collapse_services: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_prefix_len: 0,
            collapse_services: true,
        }
    }
}

/// The fewest patterns matching exactly `actions` (names like `s3:GetObject`,
/// any case).
///
/// Names the catalogue does not know are kept verbatim in the output (they
/// still need a place in a policy, and no pattern can stand for them). Each
/// input is taken as one action name, not a pattern. The output is sorted
/// case-insensitively and has no duplicates; catalogue actions come out in
/// their canonical case.
pub fn minimize<I, S>(cat: &Catalogue, actions: I, options: &Options) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut set = ActionSet::new();
    let mut out = Vec::new();
    for name in actions {
        let name = name.as_ref();
        match cat.action_id(name) {
            Some(id) => {
                set.insert(id);
            }
            None => out.push(name.to_owned()),
        }
    }
    cover_set(cat, &set, options, &mut out);
    sort_patterns(&mut out);
    out
}

/// The fewest patterns matching exactly the actions of `set`, sorted
/// case-insensitively. Ids past the end of the catalogue are ignored.
pub fn minimize_set(cat: &Catalogue, set: &ActionSet, options: &Options) -> Vec<String> {
    let mut out = Vec::new();
    cover_set(cat, set, options, &mut out);
    sort_patterns(&mut out);
    out
}

fn sort_patterns(out: &mut Vec<String>) {
    out.sort_by(|a, b| cmp_ignore_case(a, b).then_with(|| a.cmp(b)));
    out.dedup();
}

fn cover_set(cat: &Catalogue, set: &ActionSet, options: &Options, out: &mut Vec<String>) {
    // Ids are in catalogue order, so a service's ids come together: handle
    // each service at its first id and skip the rest of its range.
    let mut next = 0;
    while let Some(id) = set.next_from(next) {
        let Some(action) = cat.get(id) else {
            break;
        };
        let service = action.service();
        next = service.action_range().end;
        cover_service(service, set, options, out);
    }
}

/// One service's actions (sorted by lowercase name) and the wanted ones.
/// Names are read from the catalogue and wanted actions counted as the walk
/// needs them, so a small set in a large service costs little.
struct Run<'a> {
    service: Service<'a>,
    /// The id of the service's first action.
    start: usize,
    set: &'a ActionSet,
    options: &'a Options,
}

fn cover_service(service: Service<'_>, set: &ActionSet, options: &Options, out: &mut Vec<String>) {
    let range = service.action_range();
    let run = Run {
        service,
        start: range.start,
        set,
        options,
    };
    run.cover(0, range.len(), 0, out);
}

impl Run<'_> {
    /// How many of names `lo..hi` are wanted.
    fn wanted(&self, lo: usize, hi: usize) -> usize {
        self.set.count_in(self.start + lo..self.start + hi)
    }

    fn name(&self, i: usize) -> &str {
        self.service
            .action_at(i)
            .map(|a| a.name())
            .unwrap_or_default()
    }

    /// The lowercase byte at `depth` of name `i` (None past its end).
    fn byte(&self, i: usize, depth: usize) -> Option<u8> {
        self.name(i)
            .as_bytes()
            .get(depth)
            .map(u8::to_ascii_lowercase)
    }

    /// Covers the wanted actions among names `lo..hi`, which are all the
    /// service's names starting with the same `depth` characters.
    fn cover(&self, lo: usize, hi: usize, depth: usize, out: &mut Vec<String>) {
        let wanted = self.wanted(lo, hi);
        if wanted == 0 {
            return;
        }
        let prefix = self.service.prefix();
        if wanted == hi - lo {
            if hi - lo == 1 {
                out.push(format!("{prefix}:{}", self.name(lo)));
                return;
            }
            let allowed = if depth == 0 {
                self.options.collapse_services
            } else {
                depth >= self.options.min_prefix_len
            };
            if allowed {
                let stem = self.name(lo).get(..depth).unwrap_or_default();
                out.push(format!("{prefix}:{stem}*"));
                return;
            }
        }
        if wanted == 1 {
            // A lone wanted name among unwanted ones: every wildcard over
            // it is one of its own prefixes, which take in unwanted names
            // here, so it is written as itself (found by bisection).
            let (mut a, mut b) = (lo, hi - 1);
            while a < b {
                let m = a + (b - a) / 2;
                if self.wanted(lo, m + 1) == 1 {
                    b = m;
                } else {
                    a = m + 1;
                }
            }
            out.push(format!("{prefix}:{}", self.name(a)));
            return;
        }
        // Not all wanted: the names here (sorted) all share the first and
        // last names' common prefix, so the levels down to it would split
        // nothing; go straight there. (All wanted but the stem too short,
        // the walk goes one level at a time: the first allowed stem is the
        // pattern.)
        let depth = if wanted < hi - lo {
            let (first, last) = (self.name(lo).as_bytes(), self.name(hi - 1).as_bytes());
            let common = first
                .iter()
                .zip(last)
                .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
                .count();
            depth.max(common)
        } else {
            depth
        };
        let mut i = lo;
        // A name equal to the shared prefix sorts first; it has no children.
        if self.name(i).len() == depth {
            if self.wanted(i, i + 1) == 1 {
                out.push(format!("{prefix}:{}", self.name(i)));
            }
            i += 1;
        }
        while i < hi {
            // The names from `i` sharing its byte at `depth`: a run, found
            // by bisection (the bytes at `depth` ascend over `i..hi`).
            let c = self.byte(i, depth);
            let (mut a, mut b) = (i + 1, hi);
            while a < b {
                let m = a + (b - a) / 2;
                if self.byte(m, depth) <= c {
                    a = m + 1;
                } else {
                    b = m;
                }
            }
            self.cover(i, a, depth + 1, out);
            i = a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::expand;

    fn cat() -> &'static Catalogue {
        Catalogue::try_builtin().unwrap()
    }

    fn service_names(prefix: &str, filter: impl Fn(&str) -> bool) -> Vec<String> {
        cat()
            .service(prefix)
            .unwrap()
            .actions()
            .filter(|a| filter(a.name()))
            .map(|a| a.to_string())
            .collect()
    }

    #[test]
    fn single_action_is_its_name() {
        let out = minimize(cat(), ["S3:getobject"], &Options::default());
        assert_eq!(out, ["s3:GetObject"]);
    }

    #[test]
    fn whole_prefix_becomes_one_wildcard() {
        let gets = service_names("s3", |n| n.starts_with("GetObject"));
        assert!(gets.len() > 3);
        // Every S3 action starting `GetO` is a `GetObject...` one.
        assert_eq!(minimize(cat(), &gets, &Options::default()), ["s3:GetO*"]);
        let min9 = Options {
            min_prefix_len: 9,
            ..Options::default()
        };
        assert_eq!(minimize(cat(), &gets, &min9), ["s3:GetObject*"]);
        let iam_lists = service_names("iam", |n| n.starts_with("List"));
        assert_eq!(minimize(cat(), &iam_lists, &Options::default()), ["iam:L*"]);
        // With a minimum length the same set needs longer prefixes.
        let long = Options {
            min_prefix_len: 6,
            ..Options::default()
        };
        let out = minimize(cat(), &iam_lists, &long);
        assert!(out.len() > 1);
        assert!(out.iter().all(|p| p.len() >= "iam:".len() + 6), "{out:?}");
        assert_eq!(
            expand(cat(), &out).actions,
            expand(cat(), ["iam:List*"]).actions
        );
    }

    #[test]
    fn collapse_mode() {
        let all = service_names("sts", |_| true);
        assert_eq!(minimize(cat(), &all, &Options::default()), ["sts:*"]);
        let split = Options {
            collapse_services: false,
            ..Options::default()
        };
        let out = minimize(cat(), &all, &split);
        assert!(out.len() > 1);
        assert!(!out.contains(&"sts:*".to_owned()));
        assert_eq!(
            expand(cat(), &out).actions,
            expand(cat(), ["sts:*"]).actions
        );
    }

    #[test]
    fn unknown_names_kept_and_output_sorted() {
        let out = minimize(
            cat(),
            [
                "zzz:Made",
                "s3:PutObject",
                "ec2:RunInstances",
                "aaa:Up",
                "zzz:Made",
            ],
            &Options::default(),
        );
        assert_eq!(
            out,
            ["aaa:Up", "ec2:RunInstances", "s3:PutObject", "zzz:Made"]
        );
        assert!(minimize(cat(), Vec::<String>::new(), &Options::default()).is_empty());
    }

    #[test]
    fn name_that_prefixes_others() {
        // `s3:GetObject` is also a prefix of wanted and unwanted actions.
        let mut wanted = service_names("s3", |n| n.starts_with("GetObjectTag"));
        wanted.push("s3:GetObject".to_owned());
        let out = minimize(cat(), &wanted, &Options::default());
        assert!(out.contains(&"s3:GetObject".to_owned()), "{out:?}");
        assert_eq!(expand(cat(), &out).actions, expand(cat(), &wanted).actions);
    }
}
