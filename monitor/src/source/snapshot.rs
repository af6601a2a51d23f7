//! Config snapshot and history files as AWS delivers them to S3, read one
//! item at a time.
//!
//! A file is `{"fileVersion": .., "configSnapshotId": .., "configurationItems":
//! [..]}` (history files have no snapshot id), plain or gzipped (recognised by
//! its magic bytes, whatever its name). [`read`] walks `configurationItems`
//! with a serde sequence visitor and hands each item to a callback as soon as
//! it is parsed, so memory stays bounded by the largest single item however
//! large the file is. [`read_dir`] does the same for every `*.json` and
//! `*.json.gz` file under a directory.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::SourceError;
use super::item::RawItem;
use crate::model::ConfigItem;

/// What a file held besides its items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `fileVersion`.
    pub file_version: Option<String>,
    /// `configSnapshotId` (snapshot files only).
    pub snapshot_id: Option<String>,
    /// How many items were handed to the callback; `None` when the document
    /// has no `configurationItems`, i.e. is not a snapshot or history file.
    pub items: Option<usize>,
}

/// Reads a snapshot or history file (plain or gzipped) from `reader`, calling
/// `on_item` for each configuration item in file order.
///
/// Stops at the first malformed item (the error names its index and field)
/// or at the first error `on_item` returns (wrap the caller's own errors with
/// [`SourceError::handler`]). Items before the failure were already handed
/// over.
pub fn read<R: Read>(
    reader: R,
    mut on_item: impl FnMut(ConfigItem) -> Result<(), SourceError>,
) -> Result<Summary, SourceError> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let head = buffered.fill_buf().map_err(|source| SourceError::Json {
        what: "the snapshot file".to_owned(),
        message: source.to_string(),
        fix: "check that the file or object can be read",
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let unzipped = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buffered));
        read_json(unzipped, &mut on_item)
    } else {
        read_json(buffered, &mut on_item)
    }
}

fn read_json<R: Read>(
    reader: R,
    on_item: &mut dyn FnMut(ConfigItem) -> Result<(), SourceError>,
) -> Result<Summary, SourceError> {
    let mut failure = None;
    let mut json = serde_json::Deserializer::from_reader(reader);
    let seed = FileSeed {
        on_item,
        failure: &mut failure,
    };
    let result = seed.deserialize(&mut json).and_then(|summary| {
        json.end()?;
        Ok(summary)
    });
    match (result, failure) {
        (_, Some(error)) => Err(error),
        (Ok(summary), None) => Ok(summary),
        (Err(error), None) => Err(SourceError::Json {
            what: "the snapshot file".to_owned(),
            message: error.to_string(),
            fix: "pass a Config snapshot or history file as AWS writes it",
        }),
    }
}

/// The top-level object: keeps the two header fields, streams the items,
/// skips everything else.
struct FileSeed<'a> {
    on_item: &'a mut dyn FnMut(ConfigItem) -> Result<(), SourceError>,
    failure: &'a mut Option<SourceError>,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = Summary;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Summary, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = Summary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Summary, A::Error> {
        let mut summary = Summary::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "fileVersion" => summary.file_version = map.next_value()?,
                "configSnapshotId" => summary.snapshot_id = map.next_value()?,
                "configurationItems" => {
                    let seed = ItemsSeed {
                        on_item: &mut *self.on_item,
                        failure: &mut *self.failure,
                    };
                    summary.items = Some(map.next_value_seed(seed)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(summary)
    }

    // Any other JSON document is not a snapshot: read through it, no items.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Summary, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Summary::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Summary, E> {
        Ok(Summary::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Summary, E> {
        Ok(Summary::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Summary, E> {
        Ok(Summary::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Summary, E> {
        Ok(Summary::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Summary, E> {
        Ok(Summary::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Summary, E> {
        Ok(Summary::default())
    }
}

/// `configurationItems`: each element parsed, converted and handed over
/// before the next is read; never collected.
struct ItemsSeed<'a> {
    on_item: &'a mut dyn FnMut(ConfigItem) -> Result<(), SourceError>,
    failure: &'a mut Option<SourceError>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of configuration items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut index = 0;
        while let Some(raw) = seq
            .next_element::<RawItem>()
            .map_err(|e| de::Error::custom(format_args!("configuration item {index}: {e}")))?
        {
            let handed = raw.into_item(index).and_then(|item| (self.on_item)(item));
            if let Err(error) = handed {
                *self.failure = Some(error);
                return Err(de::Error::custom("stopped"));
            }
            index += 1;
        }
        Ok(index)
    }
}

/// One file [`read_dir`] read items from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// The file.
    pub path: PathBuf,
    /// How many items it held.
    pub items: usize,
}

/// What [`read_dir`] found.
#[derive(Debug, Default)]
pub struct DirSummary {
    /// Snapshot and history files read, in path order.
    pub files: Vec<FileRead>,
    /// JSON files that are not snapshot or history files (no
    /// `configurationItems`), left alone.
    pub skipped: Vec<PathBuf>,
    /// Files that could not be read; each error names its file. Items read
    /// from such a file before the error were handed over.
    pub failed: Vec<SourceError>,
}

impl DirSummary {
    /// Items handed over in all.
    pub fn items(&self) -> usize {
        self.files.iter().map(|f| f.items).sum()
    }
}

/// Reads every snapshot and history file (`*.json`, `*.json.gz`) under `path`
/// (or `path` itself when it is a file), in path order, calling `on_item` for
/// each item. A file that fails is recorded in [`DirSummary::failed`] and the
/// walk goes on; an error from `on_item` stops the walk and is returned.
pub fn read_dir(
    path: &Path,
    mut on_item: impl FnMut(ConfigItem) -> Result<(), SourceError>,
) -> Result<DirSummary, SourceError> {
    let mut files = Vec::new();
    if path.is_file() {
        files.push(path.to_owned());
    } else {
        collect_files(path, &mut files)?;
        files.sort();
    }
    let mut summary = DirSummary::default();
    for file in files {
        let result = File::open(&file)
            .map_err(|source| SourceError::Io {
                path: file.clone(),
                source,
            })
            .and_then(|opened| read(opened, &mut on_item));
        match result {
            Ok(Summary {
                items: Some(items), ..
            }) => summary.files.push(FileRead { path: file, items }),
            Ok(Summary { items: None, .. }) => summary.skipped.push(file),
            Err(error @ SourceError::Handler(_)) => return Err(error),
            Err(error) => summary.failed.push(error.in_file(&file)),
        }
    }
    Ok(summary)
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_files(&path, into)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".json") || n.ends_with(".json.gz"))
        {
            into.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use serde_json::json;

    use super::*;

    fn item(id: usize) -> serde_json::Value {
        json!({
            "awsAccountId": "111122223333", "awsRegion": "us-east-1",
            "resourceType": "AWS::SQS::Queue", "resourceId": format!("q{id}"),
            "ARN": format!("arn:aws:sqs:us-east-1:111122223333:q{id}"),
            "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2024-01-01T00:00:00Z",
            "configuration": {"QueueName": format!("q{id}"), "nested": {"list": [1, 2, 3]}},
            "supplementaryConfiguration": {}, "tags": {"n": id.to_string()}
        })
    }

    fn snapshot(count: usize) -> Vec<u8> {
        let doc = json!({
            "fileVersion": "1.0",
            "configSnapshotId": "a1b2",
            "extra": {"ignored": [1, {"x": null}]},
            "configurationItems": (0..count).map(item).collect::<Vec<_>>(),
        });
        serde_json::to_vec(&doc).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_plain_and_gzipped_files_item_by_item() {
        for bytes in [snapshot(3), gzip(&snapshot(3))] {
            let mut ids = Vec::new();
            let summary = read(bytes.as_slice(), |item| {
                ids.push(item.key.resource_id);
                Ok(())
            })
            .unwrap();
            assert_eq!(ids, ["q0", "q1", "q2"]);
            assert_eq!(summary.items, Some(3));
            assert_eq!(summary.file_version.as_deref(), Some("1.0"));
            assert_eq!(summary.snapshot_id.as_deref(), Some("a1b2"));
        }
    }

    #[test]
    fn a_document_without_items_is_not_a_snapshot() {
        for text in [r#"{"UserDetailList": []}"#, "[1, 2]", "\"text\""] {
            let summary = read(text.as_bytes(), |_| panic!("no items")).unwrap();
            assert_eq!(summary.items, None, "{text}");
        }
    }

    #[test]
    fn a_bad_item_names_its_index_and_stops_the_read() {
        let doc = json!({"configurationItems": [item(0), {"awsAccountId": "1"}, item(2)]});
        let mut seen = 0;
        let error = read(doc.to_string().as_bytes(), |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, 1);
        assert!(
            matches!(
                error,
                SourceError::Item {
                    index: 1,
                    field: "resourceType",
                    ..
                }
            ),
            "{error}"
        );

        let doc = r#"{"configurationItems": [{"resourceId": 5}]}"#;
        let error = read(doc.as_bytes(), |_| Ok(())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("configuration item 0: invalid type"),
            "{error}"
        );
    }

    #[test]
    fn truncated_json_is_an_error_with_a_position() {
        let bytes = snapshot(2);
        let cut = bytes.get(..bytes.len() - 10).unwrap();
        let error = read(cut, |_| Ok(())).unwrap_err();
        assert!(error.to_string().contains("line 1 column"), "{error}");
    }

    #[test]
    fn the_handler_can_stop_the_read() {
        let mut seen = 0;
        let error = read(snapshot(5).as_slice(), |_| {
            seen += 1;
            if seen == 2 {
                Err(SourceError::handler("disk full"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(seen, 2);
        assert_eq!(error.to_string(), "stopped by the item handler: disk full");
    }

    #[test]
    fn read_dir_reads_snapshots_skips_other_json_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("AWSLogs/111122223333/Config");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("snap.json.gz"), gzip(&snapshot(2))).unwrap();
        std::fs::write(dir.path().join("history.json"), snapshot(1)).unwrap();
        std::fs::write(dir.path().join("gaad.json"), r#"{"RoleDetailList": []}"#).unwrap();
        std::fs::write(dir.path().join("broken.json"), "{\"configurationItems\": [").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not json").unwrap();
        let mut count = 0;
        let summary = read_dir(dir.path(), |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 3);
        assert_eq!(summary.items(), 3);
        assert_eq!(summary.files.len(), 2);
        assert_eq!(summary.skipped, [dir.path().join("gaad.json")]);
        assert_eq!(summary.failed.len(), 1);
        let failed = summary.failed.first().unwrap().to_string();
        assert!(failed.contains("broken.json"), "{failed}");

        let error = read_dir(&dir.path().join("missing"), |_| Ok(())).unwrap_err();
        assert!(matches!(error, SourceError::Io { .. }), "{error}");
    }
}
