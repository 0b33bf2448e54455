//! S3: the lake's files and documents: paginated listing, JSON documents, streamed reads.

use std::io::Read;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use retrain_contract::tickets::{count_daily, DateWindow, FileScan};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::io::SyncIoBridge;

use crate::error::{aws_error, Result, WorkerError};
use crate::time::from_smithy;

pub const BRONZE_PREFIX: &str = "bronze/";
pub const LAST_TRAINED_KEY: &str = "Model/last_trained.json";
pub const FIXED_METRICS_KEY: &str = "Model/metrics.json";
pub const STATISTICS_KEY: &str = "statistics/latest.json";
pub const TRAINING_OUTPUT_PREFIX: &str = "training-output/";

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub key: String,
    pub last_modified: DateTime<Utc>,
    pub size: i64,
    /// S3's ETag: the same for the same content uploaded the same way (duplicate detection).
    pub etag: Option<String>,
}

/// `s3://bucket/key` → (bucket, key).
pub fn parse_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

/// Every `.csv` under `prefix` modified strictly after `since`, following continuation tokens.
pub async fn list_csvs_since(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<ObjectInfo>> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListObjectsV2", e))?;
        for obj in page.contents() {
            let (Some(key), Some(modified)) = (obj.key(), obj.last_modified()) else {
                continue;
            };
            let modified = from_smithy(modified);
            if key.to_ascii_lowercase().ends_with(".csv") && since.is_none_or(|s| modified > s) {
                found.push(ObjectInfo {
                    key: key.to_string(),
                    last_modified: modified,
                    size: obj.size().unwrap_or_default(),
                    etag: obj.e_tag().map(str::to_string),
                });
            }
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// The largest JSON document the pipeline keeps in the lake (`Model/last_trained.json`,
/// `statistics/latest.json`): a few hundred bytes each; one over this is not ours.
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 20;

/// An object's bytes and LastModified, or None when the key does not exist. An object over
/// `max` bytes is `BadData` saying so, and is not read: its size is checked before the body
/// (Content-Length), and the body is read no further than `max + 1` bytes in case that lied.
pub async fn get_bytes(
    s3: &Client,
    bucket: &str,
    key: &str,
    max: u64,
) -> Result<Option<(Vec<u8>, Option<DateTime<Utc>>)>> {
    use tokio::io::AsyncReadExt;
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(aws_error("GetObject", e)),
    };
    let too_large = |size: u64| {
        WorkerError::bad_data(
            format!("s3://{bucket}/{key}"),
            format!("{size} bytes; the pipeline reads at most {max} from this key"),
        )
    };
    if let Some(size) = out.content_length().filter(|&n| n as u64 > max) {
        return Err(too_large(size as u64));
    }
    let modified = out.last_modified().map(from_smithy);
    let mut bytes = Vec::new();
    out.body
        .into_async_read()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| WorkerError::AwsTransient {
            operation: "GetObject".into(),
            message: format!("reading s3://{bucket}/{key}: {e}"),
        })?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some((bytes, modified)))
}

/// A JSON document (at most [`MAX_DOCUMENT_BYTES`]), or None when the key does not exist. A
/// document that does not parse, or is too large, is `BadData` naming the key.
pub async fn get_json<T: DeserializeOwned>(
    s3: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<T>> {
    match get_bytes(s3, bucket, key, MAX_DOCUMENT_BYTES).await? {
        None => Ok(None),
        Some((bytes, _)) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| WorkerError::bad_data(format!("s3://{bucket}/{key}"), e.to_string())),
    }
}

pub async fn put_json<T: Serialize>(s3: &Client, bucket: &str, key: &str, doc: &T) -> Result<()> {
    let body = serde_json::to_vec_pretty(doc).expect("payload types serialise");
    put_bytes(s3, bucket, key, "application/json", body).await
}

pub async fn put_bytes(
    s3: &Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| aws_error("PutObject", e))?;
    Ok(())
}

/// Create the bucket unless this account has it already.
pub async fn create_bucket(s3: &Client, bucket: &str) -> Result<()> {
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_error("CreateBucket", e)),
    }
}

/// Stream an object through a blocking reader `f` (CSV, gzip, tar) on a blocking thread: the
/// object is never held in memory whole. None when the key does not exist.
pub async fn read_streaming<R, F>(s3: &Client, bucket: &str, key: &str, f: F) -> Result<Option<R>>
where
    F: FnOnce(&mut dyn Read) -> R + Send + 'static,
    R: Send + 'static,
{
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(aws_error("GetObject", e)),
    };
    let reader = out.body.into_async_read();
    let result = tokio::task::spawn_blocking(move || {
        let mut bridge = SyncIoBridge::new(reader);
        f(&mut bridge)
    })
    .await
    .map_err(|e| {
        WorkerError::bad_data(
            format!("s3://{bucket}/{key}"),
            format!("reader panicked: {e}"),
        )
    })?;
    Ok(Some(result))
}

/// Ticket files read at once.
const CONCURRENT_READS: usize = 16;

/// The ticket scan over S3: each of `keys` streamed through [`count_daily`] with the run's
/// `window`, [`CONCURRENT_READS`] at a time, in key order. `None`: the file was deleted between
/// the listing and the read. StartTraining and the run report both count through here.
pub async fn count_ticket_files(
    s3: &Client,
    bucket: &str,
    keys: Vec<String>,
    window: DateWindow,
) -> Result<Vec<(String, Option<std::result::Result<FileScan, String>>)>> {
    let mut counted: Vec<_> = stream::iter(keys)
        .map(|key| {
            // Owned: the stream's futures must not borrow from the caller.
            let (s3, bucket) = (s3.clone(), bucket.to_string());
            async move {
                let scan =
                    read_streaming(&s3, &bucket, &key, move |r| count_daily(r, window)).await?;
                Ok::<_, WorkerError>((key, scan))
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await?;
    counted.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse() {
        assert_eq!(
            parse_uri("s3://b/training-output/j/output/model.tar.gz"),
            Some(("b".into(), "training-output/j/output/model.tar.gz".into()))
        );
        assert_eq!(parse_uri("s3://b/"), None);
        assert_eq!(parse_uri("https://b/k"), None);
    }
}
