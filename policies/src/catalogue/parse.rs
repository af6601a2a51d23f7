//! The loader of the line format described in `policies/data/README.md`.

use super::{
    AccessLevel, ActionRec, ActionResourceRec, Catalogue, CatalogueError, ConditionKeyType, KeyRec,
    Problem, ResourceRec, ServiceRec, Span, cmp_ignore_case, view::placeholder,
};
use std::borrow::Cow;
use std::cmp::Ordering;

/// Parses `text`, keeping it as the catalogue's string store.
pub(super) fn parse_text(text: Cow<'static, str>) -> Result<Catalogue, CatalogueError> {
    let mut loader = Loader::default();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut number = 0;
    // Lines and fields are found by scanning bytes: `\n` and `\t` never occur
    // inside a UTF-8 sequence, so every cut is a character boundary.
    while start < bytes.len() {
        number += 1;
        let end = position(bytes, start, b'\n');
        let mut line_end = end;
        if line_end > start && bytes.get(line_end - 1) == Some(&b'\r') {
            line_end -= 1;
        }
        if line_end > start && bytes.get(start) != Some(&b'#') {
            loader
                .line(&text, start, line_end)
                .map_err(|problem| CatalogueError {
                    line: number,
                    text: text
                        .get(start..line_end)
                        .unwrap_or_default()
                        .chars()
                        .take(80)
                        .collect(),
                    problem,
                })?;
        }
        start = end + 1;
    }
    Ok(Catalogue {
        text,
        services: loader.services,
        actions: loader.actions,
        resources: loader.resources,
        keys: loader.keys,
        globals: loader.globals,
        key_refs: loader.key_refs,
        action_resources: loader.action_resources,
    })
}

/// The position of the first `byte` at or after `from`, or the end.
///
/// Looks at eight bytes at a time: in `x = word ^ [byte; 8]` a matching
/// byte is zero, and `(x - 0x01..) & !x & 0x80..` flags zero bytes, the
/// lowest flag exactly (this is the hot loop of loading).
fn position(bytes: &[u8], from: usize, byte: u8) -> usize {
    const LOW: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let Some(rest) = bytes.get(from..) else {
        return bytes.len();
    };
    let pattern = u64::from_le_bytes([byte; 8]);
    let mut chunks = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LOW) & !x & HIGH;
        if found != 0 {
            return offset + (found.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map_or(bytes.len(), |i| offset + i)
}

#[derive(Default)]
struct Loader {
    services: Vec<ServiceRec>,
    actions: Vec<ActionRec>,
    resources: Vec<ResourceRec>,
    keys: Vec<KeyRec>,
    globals: Vec<KeyRec>,
    key_refs: Vec<u32>,
    action_resources: Vec<ActionResourceRec>,
}

/// The tab-separated fields of one line, with their positions in the text.
struct Fields<'t> {
    text: &'t str,
    /// Where the next field starts in `text`, past `end` once all are read.
    at: usize,
    /// Where the line ends (before any `\r`).
    end: usize,
    count: usize,
}

impl<'t> Fields<'t> {
    /// The next field and its span in the whole text.
    fn next(&mut self, expected: usize) -> Result<(&'t str, Span), Problem> {
        let missing = Problem::FieldCount {
            expected,
            found: self.count,
        };
        if self.at > self.end {
            return Err(missing);
        }
        let line = self.text.as_bytes().get(..self.end).unwrap_or_default();
        let stop = position(line, self.at, b'\t');
        let field = self.text.get(self.at..stop).ok_or(missing)?;
        let span = Span {
            start: to_u32(self.at)?,
            end: to_u32(stop)?,
        };
        self.at = stop + 1;
        self.count += 1;
        Ok((field, span))
    }

    /// Fails unless every field was read.
    fn end(&self, expected: usize) -> Result<(), Problem> {
        if self.at <= self.end {
            let rest = self.text.get(self.at..self.end).unwrap_or_default();
            return Err(Problem::FieldCount {
                expected,
                found: self.count + rest.split('\t').count(),
            });
        }
        Ok(())
    }
}

fn to_u32(n: usize) -> Result<u32, Problem> {
    u32::try_from(n).map_err(|_| Problem::TooLarge)
}

impl Loader {
    fn line(&mut self, text: &str, start: usize, end: usize) -> Result<(), Problem> {
        let mut fields = Fields {
            text,
            at: start,
            end,
            count: 0,
        };
        let (tag, _) = fields.next(1)?;
        match tag {
            "S" => self.service(&mut fields),
            "K" => self.key(&mut fields, false),
            "G" => self.key(&mut fields, true),
            "R" => self.resource(&mut fields),
            "A" => self.action(&mut fields),
            other => Err(Problem::UnknownRecord(other.to_owned())),
        }
    }

    fn service(&mut self, fields: &mut Fields<'_>) -> Result<(), Problem> {
        let (prefix, prefix_span) = fields.next(3)?;
        let (name, name_span) = fields.next(3)?;
        fields.end(3)?;
        if prefix.is_empty() || prefix.bytes().any(|b| b == b':') || name.is_empty() {
            return Err(Problem::Name(prefix.to_owned()));
        }
        if let Some(last) = self.services.last() {
            let previous = fields.text.get(last.prefix.range()).unwrap_or_default();
            if cmp_ignore_case(previous, prefix) != Ordering::Less {
                return Err(Problem::Order(prefix.to_owned()));
            }
        }
        let empty_at = |n: usize| -> Result<Span, Problem> {
            let at = to_u32(n)?;
            Ok(Span { start: at, end: at })
        };
        self.services.push(ServiceRec {
            prefix: prefix_span,
            name: name_span,
            actions: empty_at(self.actions.len())?,
            resources: empty_at(self.resources.len())?,
            keys: empty_at(self.keys.len())?,
        });
        Ok(())
    }

    fn key(&mut self, fields: &mut Fields<'_>, global: bool) -> Result<(), Problem> {
        let (name, span) = fields.next(3)?;
        let (ty, _) = fields.next(3)?;
        fields.end(3)?;
        if name.is_empty() {
            return Err(Problem::Name(name.to_owned()));
        }
        let ty = ConditionKeyType::from_name(ty)
            .ok_or_else(|| Problem::UnknownKeyType(ty.to_owned()))?;
        let rec = KeyRec {
            name: span,
            ty,
            templated: placeholder(name).is_some(),
        };
        if global {
            self.globals.push(rec);
            return Ok(());
        }
        let end = to_u32(self.keys.len() + 1)?;
        let service = self.services.last_mut().ok_or(Problem::OutsideService)?;
        self.keys.push(rec);
        service.keys.end = end;
        Ok(())
    }

    fn resource(&mut self, fields: &mut Fields<'_>) -> Result<(), Problem> {
        let (name, name_span) = fields.next(4)?;
        let (_, arn) = fields.next(4)?;
        let (keys, _) = fields.next(4)?;
        fields.end(4)?;
        if name.is_empty() {
            return Err(Problem::Name(name.to_owned()));
        }
        let service_index = to_u32(self.services.len().saturating_sub(1))?;
        let key_span = self.services.last().ok_or(Problem::OutsideService)?.keys;
        let keys = self.key_list(keys.as_bytes(), b',', key_span)?;
        let end = to_u32(self.resources.len() + 1)?;
        self.resources.push(ResourceRec {
            service: service_index,
            name: name_span,
            arn,
            keys,
        });
        if let Some(service) = self.services.last_mut() {
            service.resources.end = end;
        }
        Ok(())
    }

    fn action(&mut self, fields: &mut Fields<'_>) -> Result<(), Problem> {
        let (name, name_span) = fields.next(5)?;
        let (level, _) = fields.next(5)?;
        let (keys, _) = fields.next(5)?;
        let (resources, _) = fields.next(5)?;
        fields.end(5)?;
        // Branch-free so that it vectorizes: this runs for every action.
        let special = name.bytes().fold(false, |seen, b| {
            seen | (b == b':') | (b == b'*') | (b == b'?')
        });
        if name.is_empty() || !name.is_ascii() || special {
            return Err(Problem::Name(name.to_owned()));
        }
        let service = self.services.last().ok_or(Problem::OutsideService)?;
        let (key_span, resource_span) = (service.keys, service.resources);
        if !service.actions.range().is_empty() {
            let previous = self
                .actions
                .last()
                .and_then(|a| fields.text.get(a.name.range()))
                .unwrap_or_default();
            if cmp_ignore_case(previous, name) != Ordering::Less {
                return Err(Problem::Order(name.to_owned()));
            }
        }
        let level = AccessLevel::from_code(level)
            .ok_or_else(|| Problem::UnknownAccessLevel(level.to_owned()))?;
        let keys = self.key_list(keys.as_bytes(), b',', key_span)?;
        let first_resource = to_u32(self.action_resources.len())?;
        for item in items(resources.as_bytes(), b',') {
            let cut = position(item, 0, b'=');
            let head = item.get(..cut).unwrap_or_default();
            let row_keys = item.get(cut + 1..).unwrap_or_default();
            let (index, required) = match head.strip_suffix(b"!") {
                Some(index) => (index, true),
                None => (head, false),
            };
            let resource = local_index(index, resource_span)?;
            let keys = self.key_list(row_keys, b'.', key_span)?;
            self.action_resources.push(ActionResourceRec {
                resource,
                required,
                keys,
            });
        }
        let resources = Span {
            start: first_resource,
            end: to_u32(self.action_resources.len())?,
        };
        let service_index = to_u32(self.services.len().saturating_sub(1))?;
        let end = to_u32(self.actions.len() + 1)?;
        self.actions.push(ActionRec {
            name: name_span,
            service: service_index,
            level,
            keys,
            resources,
        });
        if let Some(service) = self.services.last_mut() {
            service.actions.end = end;
        }
        Ok(())
    }

    /// Reads a list of indexes into the current service's keys and stores it
    /// in `key_refs` as global key positions.
    fn key_list(&mut self, list: &[u8], separator: u8, keys: Span) -> Result<Span, Problem> {
        let start = to_u32(self.key_refs.len())?;
        for item in items(list, separator) {
            self.key_refs.push(local_index(item, keys)?);
        }
        Ok(Span {
            start,
            end: to_u32(self.key_refs.len())?,
        })
    }
}

/// The non-empty items of a `separator`-separated list.
fn items(list: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    list.split(move |&b| b == separator)
        .filter(|item| !item.is_empty())
}

/// A service-local index, checked against the entries listed so far, as a
/// position in the whole table.
fn local_index(digits: &[u8], table: Span) -> Result<u32, Problem> {
    let mut value: u32 = 0;
    let mut ok = !digits.is_empty();
    for &b in digits {
        let next = value
            .checked_mul(10)
            .zip(b.is_ascii_digit().then(|| u32::from(b - b'0')))
            .and_then(|(v, d)| v.checked_add(d));
        match next {
            Some(v) => value = v,
            None => ok = false,
        }
    }
    if ok && (value as usize) < table.len() {
        Ok(table.start + value)
    } else {
        Err(Problem::BadIndex(
            String::from_utf8_lossy(digits).into_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "# a comment\n\
        S\tabc\tThe ABC service\n\
        K\tabc:Flavour\tString\n\
        K\taws:ResourceTag/${TagKey}\tString\n\
        R\tthing\tarn:${Partition}:abc:::thing/${Name}\t1\n\
        A\tGetThing\tR\t0\t0!=0\n\
        A\tlistThings\tL\t\t\n\
        S\tXyz\tXYZ\n\
        A\tDo\tW\t\t\n\
        G\taws:SourceIp\tIPAddress\n";

    #[test]
    fn small_catalogue() {
        let cat = Catalogue::parse(SMALL).unwrap();
        assert_eq!(cat.services().len(), 2);
        assert_eq!(cat.action_count(), 3);
        let get = cat.action("ABC:getthing").unwrap();
        assert_eq!(get.to_string(), "abc:GetThing");
        assert_eq!(get.access_level(), AccessLevel::Read);
        let res: Vec<_> = get.resource_types().collect();
        assert_eq!(res.len(), 1);
        assert!(res[0].required());
        assert_eq!(
            res[0].resource_type().arn(),
            "arn:${Partition}:abc:::thing/${Name}"
        );
        assert_eq!(
            get.condition_key("abc:flavour").unwrap().name(),
            "abc:Flavour"
        );
        assert_eq!(
            get.condition_key("aws:ResourceTag/x").unwrap().name(),
            "aws:ResourceTag/${TagKey}"
        );
        assert_eq!(
            get.condition_key("aws:SourceIp").unwrap().key_type(),
            ConditionKeyType::IpAddress
        );
        assert!(
            cat.action("abc:ListThings")
                .unwrap()
                .condition_key("abc:Flavour")
                .is_none()
        );
        assert_eq!(cat.action("xyz:do").unwrap().service().name(), "XYZ");
        assert!(cat.action("xyz:Undo").is_none());
        assert!(cat.action("nope:Do").is_none());
        assert!(cat.action("xyzDo").is_none());
    }

    fn problem(text: &str) -> (usize, Problem) {
        let err = Catalogue::parse(text).unwrap_err();
        (err.line, err.problem)
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            problem("S\ta\tA\nX\t1\n"),
            (2, Problem::UnknownRecord("X".into()))
        );
        assert_eq!(
            problem("S\ta\n"),
            (
                1,
                Problem::FieldCount {
                    expected: 3,
                    found: 2
                }
            )
        );
        assert_eq!(
            problem("S\ta\tA\tmore\n"),
            (
                1,
                Problem::FieldCount {
                    expected: 3,
                    found: 4
                }
            )
        );
        assert_eq!(problem("A\tX\tR\t\t\n"), (1, Problem::OutsideService));
        assert_eq!(
            problem("S\ta\tA\nA\tX\tQ\t\t\n"),
            (2, Problem::UnknownAccessLevel("Q".into()))
        );
        assert_eq!(
            problem("S\ta\tA\nK\ta:k\tText\n"),
            (2, Problem::UnknownKeyType("Text".into()))
        );
        assert_eq!(
            problem("S\ta\tA\nK\ta:k\tString\nA\tX\tR\t1\t\n"),
            (3, Problem::BadIndex("1".into()))
        );
        assert_eq!(
            problem("S\ta\tA\nA\tX\tR\t\t0\n"),
            (2, Problem::BadIndex("0".into()))
        );
        assert_eq!(
            problem("S\tb\tB\nS\ta\tA\n"),
            (2, Problem::Order("a".into()))
        );
        assert_eq!(
            problem("S\ta\tA\nA\tget\tR\t\t\nA\tGet\tR\t\t\n"),
            (3, Problem::Order("Get".into()))
        );
        assert_eq!(
            problem("S\ta\tA\nA\tGet*\tR\t\t\n"),
            (2, Problem::Name("Get*".into()))
        );
        let err = Catalogue::parse("S\ta\n").unwrap_err().to_string();
        assert!(
            err.starts_with("catalogue line 1 (`S\ta`): expected 3"),
            "{err}"
        );
        assert!(
            err.ends_with("rerun `python3 policies/data/regenerate.py`"),
            "{err}"
        );
    }

    #[test]
    fn byte_search() {
        let text = b"0123456789abcdef\tXYZ\n";
        for from in 0..text.len() + 2 {
            for byte in [b'\t', b'\n', b'0', b'f', b'Z', b'!'] {
                let want = text
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, b)| **b == byte)
                    .map_or(text.len(), |(i, _)| i);
                assert_eq!(position(text, from, byte), want, "{from} {byte}");
            }
        }
        // Bytes with the high bit set next to a match do not confuse it.
        assert_eq!(position("é\tà\t".as_bytes(), 0, b'\t'), 2);
        assert_eq!(position(&[0x80, 0xff, 0x01, 0x09, 0x09], 0, 0x09), 3);
    }

    #[test]
    fn crlf_and_blank_lines() {
        let cat = Catalogue::parse("\r\nS\ta\tA\r\n\r\nA\tX\tR\t\t\r\n").unwrap();
        assert_eq!(cat.action("a:x").unwrap().name(), "X");
        assert_eq!(cat.service("a").unwrap().name(), "A");
    }
}
