//! Config's files in S3: snapshot and history files streamed item by item,
//! and the items of oversized change notifications.

use std::io::{self, Read};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::SourceError;
use super::item;
use super::notification::{FetchItem, Notification, Oversized, S3Location};
use super::snapshot::{self, Summary};
use crate::model::ConfigItem;

/// Chunks of an object buffered between the download and the parser.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Items buffered between the parser and the caller.
const ITEMS_IN_FLIGHT: usize = 64;

/// An S3 client for Config's bucket; path-style addressing when an endpoint
/// is configured, since local stand-ins (moto, MinIO) serve no bucket host
/// names.
pub fn client(config: &SdkConfig) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// A snapshot or history file read from S3 while it downloads: the parser
/// runs on a blocking thread and hands items over through a small bounded
/// channel, so memory stays bounded whatever the object's size.
///
/// ```no_run
/// # async fn run(client: &aws_sdk_s3::Client, location: &monitor::source::notification::S3Location)
/// # -> Result<(), monitor::source::SourceError> {
/// use monitor::source::s3::SnapshotStream;
/// let mut stream = SnapshotStream::open(client, location).await?;
/// while let Some(item) = stream.next().await {
///     println!("{}", item.key);
/// }
/// let summary = stream.finish().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SnapshotStream {
    items: mpsc::Receiver<ConfigItem>,
    parser: JoinHandle<Result<Summary, SourceError>>,
    pump: JoinHandle<()>,
}

impl SnapshotStream {
    /// Starts reading the object at `location`.
    pub async fn open(
        client: &Client,
        location: &S3Location,
    ) -> Result<SnapshotStream, SourceError> {
        let mut body = get(client, location).await?.body;
        let (chunk_tx, chunk_rx) = mpsc::channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
        let pump = tokio::spawn(async move {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map(|bytes| bytes.to_vec()).map_err(io::Error::other);
                let failed = chunk.is_err();
                if chunk_tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        let (item_tx, items) = mpsc::channel(ITEMS_IN_FLIGHT);
        let path = format!("s3://{}/{}", location.bucket, location.key);
        let parser = tokio::task::spawn_blocking(move || {
            let reader = ChannelReader {
                chunks: chunk_rx,
                current: Vec::new(),
                offset: 0,
            };
            snapshot::read(reader, |item| {
                item_tx
                    .blocking_send(item)
                    .map_err(|_| SourceError::handler("the stream was dropped before its end"))
            })
            .map_err(|e| e.in_file(path))
        });
        Ok(SnapshotStream {
            items,
            parser,
            pump,
        })
    }

    /// The next item, or `None` at the end of the file or at an error (see
    /// [`SnapshotStream::finish`]).
    pub async fn next(&mut self) -> Option<ConfigItem> {
        self.items.recv().await
    }

    /// Waits for the end of the read: what the file held, or why it failed.
    /// Items not yet taken with [`SnapshotStream::next`] are dropped.
    pub async fn finish(mut self) -> Result<Summary, SourceError> {
        self.items.close();
        while self.items.recv().await.is_some() {}
        let result = self
            .parser
            .await
            .map_err(|e| SourceError::handler(format!("the snapshot reader stopped: {e}")))?;
        self.pump.abort();
        result
    }
}

/// `std::io::Read` over chunks arriving from the download task; blocks the
/// (blocking-pool) thread it runs on while waiting.
struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset >= self.current.len() {
            match self.chunks.blocking_recv() {
                Some(chunk) => {
                    self.current = chunk?;
                    self.offset = 0;
                }
                None => return Ok(0),
            }
        }
        let rest = self.current.get(self.offset..).unwrap_or_default();
        let count = rest.len().min(buf.len());
        if let (Some(into), Some(from)) = (buf.get_mut(..count), rest.get(..count)) {
            into.copy_from_slice(from);
        }
        self.offset += count;
        Ok(count)
    }
}

/// Fetches the items of oversized change notifications from the object
/// named by their `s3DeliverySummary`.
#[derive(Debug, Clone)]
pub struct S3Fetcher {
    client: Client,
}

impl S3Fetcher {
    /// A fetcher using the credentials, region and endpoint of `config`.
    pub fn new(config: &SdkConfig) -> S3Fetcher {
        S3Fetcher::from_client(client(config))
    }

    /// A fetcher over an existing client.
    pub fn from_client(client: Client) -> S3Fetcher {
        S3Fetcher { client }
    }
}

#[async_trait]
impl FetchItem for S3Fetcher {
    /// Reads the object (gzipped or not): a change notification holding the
    /// item, a file of items (the one with the summary's key is taken), or a
    /// bare item.
    async fn fetch(&self, oversized: &Oversized) -> Result<ConfigItem, SourceError> {
        let key = &oversized.summary.key;
        let location = oversized.location.as_ref().ok_or_else(|| {
            SourceError::Notification(format!(
                "the oversized notification for `{key}` names no `s3BucketLocation`"
            ))
        })?;
        let path = format!("s3://{}/{}", location.bucket, location.key);
        let bytes = get(&self.client, location)
            .await?
            .body
            .collect()
            .await
            .map_err(|e| SourceError::aws("s3:GetObject", e))?
            .to_vec();
        let mut text = Vec::new();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut text)
                .map_err(|source| SourceError::Io {
                    path: path.clone().into(),
                    source,
                })?;
        } else {
            text = bytes;
        }
        let value: Value = serde_json::from_slice(&text).map_err(|e| {
            SourceError::Json {
                what: "the oversized item".to_owned(),
                message: e.to_string(),
                fix: "check that the object is the one Config delivered",
            }
            .in_file(&path)
        })?;
        let found = if value.get("messageType").is_some() {
            match Notification::from_value(value)? {
                Notification::Change(change) => Some(change.item),
                _ => None,
            }
        } else if let Some(Value::Array(list)) = value.get("configurationItems") {
            let mut found = None;
            for (index, candidate) in list.iter().enumerate() {
                let candidate = item::from_value(candidate.clone(), index)?;
                if candidate.key == *key {
                    found = Some(candidate);
                }
            }
            found
        } else {
            Some(item::from_value(value, 0)?)
        };
        found
            .filter(|item| item.key == *key)
            .ok_or_else(|| SourceError::Notification(format!("`{path}` holds no item for `{key}`")))
    }
}

async fn get(
    client: &Client,
    location: &S3Location,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, SourceError> {
    client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .send()
        .await
        .map_err(|e| SourceError::aws("s3:GetObject", e))
}
