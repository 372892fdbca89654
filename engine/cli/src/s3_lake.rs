//! A Parquet lake in S3 (`s3://bucket/prefix`), read object by object for `stkc backfill`:
//! the keys under the prefix listed page by page, each `.parquet` object fetched and handed
//! over with its path relative to the prefix (where the hive partition columns are).
//! Credentials, region and endpoint come from the standard AWS chain (`AWS_PROFILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, SSO, instance roles).

use anyhow::{Context, Result, bail};

/// `s3://bucket/prefix` split into the bucket and the prefix (without a trailing `/`).
pub fn parse_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .with_context(|| format!("`{url}` is not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("`{url}` names no bucket; write it as s3://BUCKET/PREFIX");
    }
    Ok((bucket.to_string(), prefix.trim_end_matches('/').to_string()))
}

pub struct S3Lake {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Lake {
    /// A reader for `url`, in `region` unless the environment names one.
    pub fn new(url: &str, region: &str) -> Result<Self> {
        let (bucket, prefix) = parse_url(url)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let region = aws_config::meta::region::RegionProviderChain::default_provider()
            .or_else(aws_config::Region::new(region.to_string()));
        let conf = rt.block_on(aws_config::from_env().region(region).load());
        // Local emulators answer only path-style requests.
        let path_style = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(path_style)
                .build(),
        );
        Ok(S3Lake {
            rt,
            client,
            bucket,
            prefix,
        })
    }

    /// Every `.parquet` key under the prefix, in key order.
    pub fn keys(&self) -> Result<Vec<String>> {
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = self.rt.block_on(pages.next()) {
            let page = page.map_err(|e| {
                anyhow::anyhow!(
                    "listing s3://{}/{prefix}: {}",
                    self.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.ends_with(".parquet"))
                    .map(str::to_string),
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// The path of `key` below the prefix (`date=.../symbol=.../x.parquet`).
    pub fn relative<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(&self.prefix)
            .map_or(key, |k| k.trim_start_matches('/'))
    }

    /// One object's bytes.
    pub fn get(&self, key: &str) -> Result<bytes::Bytes> {
        self.rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "s3://{}/{key}: {}",
                        self.bucket,
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
            let body = out
                .body
                .collect()
                .await
                .with_context(|| format!("reading s3://{}/{key}", self.bucket))?;
            Ok(body.into_bytes())
        })
    }
}
