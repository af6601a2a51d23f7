//! IAM's wildcard matching: `*` matches any run of characters (also none),
//! `?` exactly one character. Nothing else is special.

/// Whether letters must match in case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `a` and `A` differ (resource ARNs, most condition values).
    Sensitive,
    /// ASCII letters match either case (action names, condition keys).
    Insensitive,
}

/// Whether `text` matches the wildcard `pattern`.
///
/// Runs in O(pattern × text) in the worst case and without allocation; the
/// usual policy patterns (one or two `*`) take linear time.
///
/// ```
/// use policies::glob::{matches, Case};
/// assert!(matches("s3:Get*", "s3:GetObject", Case::Insensitive));
/// assert!(matches("s3:*Object?", "s3:PutObjectS", Case::Sensitive));
/// assert!(!matches("s3:Get*", "s3:PutObject", Case::Insensitive));
/// ```
pub fn matches(pattern: &str, text: &str, case: Case) -> bool {
    let (pat, txt) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(txt, t);
            }
            Some(&c) if same(c, txt[t], case) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    let next = star_t + char_len(txt, star_t);
                    star = Some((star_p, next));
                    p = star_p + 1;
                    t = next;
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

/// Whether a pattern contains a wildcard.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether some text matches both patterns (case-sensitive): the question
/// "can this resource pattern name a resource of that ARN format?".
///
/// ```
/// use policies::glob::overlap;
/// assert!(overlap("arn:*:s3:::*/*", "arn:aws:s3:::bucket/*"));
/// assert!(!overlap("arn:*:s3:::*/*", "arn:aws:s3:::bucket"));
/// ```
pub fn overlap(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // reach[j] for the current i: can a[i..] and b[j..] match a common text?
    // Filled from the ends backwards, one row per position of `a`.
    let mut next = vec![false; b.len() + 1];
    let mut row = vec![false; b.len() + 1];
    for i in (0..=a.len()).rev() {
        for j in (0..=b.len()).rev() {
            row[j] = match (a.get(i), b.get(j)) {
                (None, None) => true,
                (Some('*'), _) => next[j] || (j < b.len() && row[j + 1]),
                (_, Some('*')) => row[j + 1] || (i < a.len() && next[j]),
                (Some(x), Some(y)) => (*x == '?' || *y == '?' || x == y) && next[j + 1],
                _ => false,
            };
        }
        std::mem::swap(&mut next, &mut row);
    }
    next[0]
}

/// Whether every text `narrow` matches is also matched by `wide`
/// (case-sensitive). Exact when `wide` has no `?`; otherwise only literal
/// texts are compared and a wildcard `narrow` is reported as not covered.
///
/// ```
/// use policies::glob::covers;
/// assert!(covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/logs/*"));
/// assert!(!covers("arn:aws:s3:::b/logs/*", "arn:aws:s3:::b/*"));
/// ```
pub fn covers(wide: &str, narrow: &str) -> bool {
    // With `*` as its only wildcard, `wide` matching `narrow` read literally
    // aligns each of narrow's wildcards inside one of wide's stars, so every
    // text of `narrow` is matched too.
    if has_wildcard(narrow) && wide.contains('?') {
        return false;
    }
    matches(wide, narrow, Case::Sensitive)
}

/// The text with every `${...}` placeholder (ARN-format fields such as
/// `${Partition}`, policy variables such as `${aws:username}`) replaced by `*`.
pub fn placeholders_as_star(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push('*');
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn same(a: u8, b: u8, case: Case) -> bool {
    match case {
        Case::Sensitive => a == b,
        Case::Insensitive => a.eq_ignore_ascii_case(&b),
    }
}

/// The byte length of the UTF-8 character starting at `i`, so that `?` takes
/// one character, not one byte.
fn char_len(text: &[u8], i: usize) -> usize {
    match text.get(i) {
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        Some(b) if *b >= 0xC0 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literal_and_wildcards() {
        assert!(matches("", "", Case::Sensitive));
        assert!(!matches("", "a", Case::Sensitive));
        assert!(matches("*", "", Case::Sensitive));
        assert!(matches("a*b*c", "aXbYbZc", Case::Sensitive));
        assert!(!matches("a*b*c", "aXbYbZ", Case::Sensitive));
        assert!(matches("??", "é€", Case::Sensitive));
        assert!(!matches("?", "", Case::Sensitive));
        assert!(matches("S3:GETOBJECT", "s3:GetObject", Case::Insensitive));
        assert!(!matches("S3:GETOBJECT", "s3:GetObject", Case::Sensitive));
        assert!(matches(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/a/b:c",
            Case::Sensitive
        ));
    }

    /// A plain recursive matcher to check the iterative one against.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => reference(&p[1..], &t[1..]),
            _ => false,
        }
    }

    #[test]
    fn overlap_and_cover() {
        assert!(overlap("*", ""));
        assert!(overlap("a*", "*b"));
        assert!(!overlap("a*", "b*"));
        assert!(overlap("a?c", "*c"));
        assert!(!overlap("ab", "a"));
        assert!(covers("*", "a*b?"));
        assert!(!covers("a?", "a*"));
        assert!(covers("a?", "ab"));
        assert_eq!(
            placeholders_as_star("arn:${Partition}:s3:::${BucketName}/${ObjectName}"),
            "arn:*:s3:::*/*"
        );
        assert_eq!(
            placeholders_as_star("home/${aws:username}/x${"),
            "home/*/x${"
        );
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(matches(&p, &t, Case::Sensitive), reference(&pc, &tc));
        }

        #[test]
        fn overlap_agrees_with_a_shared_text(p in "[ab*?]{0,6}", q in "[ab*?]{0,6}", t in "[ab]{0,8}") {
            if matches(&p, &t, Case::Sensitive) && matches(&q, &t, Case::Sensitive) {
                prop_assert!(overlap(&p, &q));
            }
            prop_assert_eq!(overlap(&p, &q), overlap(&q, &p));
        }

        #[test]
        fn covers_is_sound(wide in "[ab*?]{0,6}", narrow in "[ab*?]{0,6}", t in "[ab]{0,8}") {
            if covers(&wide, &narrow) && matches(&narrow, &t, Case::Sensitive) {
                prop_assert!(matches(&wide, &t, Case::Sensitive));
            }
        }
    }
}
