//! S3 for the handlers: the object key of an event record (URL-decoded as S3 sends it
//! encoded), whole-object reads and writes, and dead letters as JSON-lines objects.

use aws_config::SdkConfig;
use aws_lambda_events::s3::S3EventRecord;
use aws_sdk_s3::primitives::ByteStream;
use stk_eval::DeadLetter;

/// An S3 client; path-style addressing when an endpoint is set (local emulators), as
/// virtual-hosted names like `bucket.localhost` do not resolve.
pub fn s3_client(aws: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
    let conf = aws_sdk_s3::config::Builder::from(aws)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The bucket and key of an S3 event record. S3 URL-encodes keys in events (`a b` arrives as
/// `a+b`, `=` as `%3D`).
pub fn bucket_and_key(r: &S3EventRecord) -> Option<(String, String)> {
    let bucket = r.s3.bucket.name.clone()?;
    let key = match &r.s3.object.url_decoded_key {
        Some(k) => k.clone(),
        None => decode_key(r.s3.object.key.as_deref()?),
    };
    Some((bucket, key))
}

/// A key as S3 writes it in events: `+` for space, then percent-encoding.
pub fn decode_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Debug, thiserror::Error)]
#[error("s3://{bucket}/{key}: {reason}")]
pub struct ObjectError {
    pub bucket: String,
    pub key: String,
    pub reason: String,
}

fn object_error<E: std::error::Error>(bucket: &str, key: &str, e: E) -> ObjectError {
    ObjectError {
        bucket: bucket.into(),
        key: key.into(),
        reason: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    }
}

/// A whole object, and when it was last modified (epoch milliseconds).
pub async fn get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(bytes::Bytes, Option<i64>), ObjectError> {
    let out = request(s3, bucket, key).await?;
    let modified = out.last_modified().and_then(|t| t.to_millis().ok());
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| object_error(bucket, key, e))?;
    Ok((body.into_bytes(), modified))
}

async fn request(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, ObjectError> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| object_error(bucket, key, e))
}

/// The body of an object, to be read as it arrives (a compaction streams through it).
pub async fn open(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<aws_sdk_s3::primitives::ByteStream, ObjectError> {
    Ok(request(s3, bucket, key).await?.body)
}

pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), ObjectError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| object_error(bucket, key, e))?;
    Ok(())
}

/// Dead letters as one JSON-lines object (nothing written when there are none).
pub async fn put_dead_letters(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    dead: impl IntoIterator<Item = &DeadLetter>,
) -> Result<(), ObjectError> {
    let body: String = dead.into_iter().map(DeadLetter::to_line).collect();
    if body.is_empty() {
        return Ok(());
    }
    put(s3, bucket, key, body.into_bytes(), "application/x-ndjson").await
}

/// Keys of the objects under `prefix` with their last-modified time (epoch milliseconds).
pub async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, i64)>, ObjectError> {
    let mut out = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| object_error(bucket, prefix, e))?;
        for o in page.contents() {
            if let Some(k) = o.key() {
                let modified = o.last_modified().and_then(|t| t.to_millis().ok());
                out.push((k.to_string(), modified.unwrap_or(0)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::decode_key;

    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(decode_key("Happy%20Face.jpg"), "Happy Face.jpg");
        assert_eq!(decode_key("a+b"), "a b");
        assert_eq!(
            decode_key("date%3D2026-11-27/symbol%3DBRK.B/x.parquet"),
            "date=2026-11-27/symbol=BRK.B/x.parquet"
        );
        assert_eq!(decode_key("100%25"), "100%");
    }
}
