//! The S3 side of a job: channels and the submit directory come down, model.tar.gz goes up.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use tokio::io::AsyncWriteExt;

/// `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl S3Uri {
    /// This URI with `/<part>` appended (one slash between them).
    pub fn join(&self, part: &str) -> S3Uri {
        let key = if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{part}", self.key)
        } else {
            format!("{}/{part}", self.key)
        };
        S3Uri {
            bucket: self.bucket.clone(),
            key,
        }
    }
}

impl FromStr for S3Uri {
    type Err = TransferError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| TransferError::NotS3Uri(text.to_owned()))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(TransferError::NotS3Uri(text.to_owned()));
        }
        Ok(S3Uri {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A transfer failed; the text becomes part of the job's FailureReason.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("`{0}` is not an S3 URI (s3://bucket/key)")]
    NotS3Uri(String),
    #[error(
        "No S3 objects found under S3 URL \"{0}\" given in input data source. Please ensure that the bucket exists and that objects exist under that S3 prefix"
    )]
    Empty(String),
    #[error("S3 object key `{0}` cannot be a local file name")]
    UnsafeKey(String),
    #[error("{operation} {uri} failed: {message}")]
    S3 {
        operation: &'static str,
        uri: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TransferError + '_ {
    move |source| TransferError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Downloads every object under the prefix into `dest`, keeping the key below the prefix's
/// last `/` as the file's path, as SageMaker's File mode does. Returns how many objects.
pub async fn download_prefix(
    client: &aws_sdk_s3::Client,
    prefix: &S3Uri,
    dest: &Path,
) -> Result<usize, TransferError> {
    let base = prefix.key.rfind('/').map_or(0, |i| i + 1);
    let mut pages = client
        .list_objects_v2()
        .bucket(&prefix.bucket)
        .prefix(&prefix.key)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| TransferError::S3 {
            operation: "ListObjectsV2",
            uri: prefix.to_string(),
            message: DisplayErrorContext(e).to_string(),
        })?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            if key.ends_with('/') {
                continue;
            }
            let relative = safe_relative(&key[base..])
                .ok_or_else(|| TransferError::UnsafeKey(key.to_owned()))?;
            let uri = S3Uri {
                bucket: prefix.bucket.clone(),
                key: key.to_owned(),
            };
            download_object(client, &uri, &dest.join(relative)).await?;
            count += 1;
        }
    }
    if count == 0 {
        return Err(TransferError::Empty(prefix.to_string()));
    }
    Ok(count)
}

/// A relative path with only normal components, or `None`.
fn safe_relative(key: &str) -> Option<PathBuf> {
    let path = Path::new(key);
    let normal = path.components().all(|c| matches!(c, Component::Normal(_)));
    (normal && !key.is_empty()).then(|| path.to_owned())
}

/// Downloads one object to `dest`, creating its folder.
pub async fn download_object(
    client: &aws_sdk_s3::Client,
    uri: &S3Uri,
    dest: &Path,
) -> Result<(), TransferError> {
    let object = client
        .get_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .send()
        .await
        .map_err(|e| TransferError::S3 {
            operation: "GetObject",
            uri: uri.to_string(),
            message: DisplayErrorContext(e).to_string(),
        })?;
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io_error(parent))?;
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(io_error(dest))?;
    let mut body = object.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| TransferError::S3 {
            operation: "GetObject",
            uri: uri.to_string(),
            message: e.to_string(),
        })?;
        file.write_all(&chunk).await.map_err(io_error(dest))?;
    }
    file.flush().await.map_err(io_error(dest))?;
    Ok(())
}

/// Uploads a local file.
pub async fn upload_file(
    client: &aws_sdk_s3::Client,
    path: &Path,
    uri: &S3Uri,
) -> Result<(), TransferError> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| TransferError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?;
    client
        .put_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .body(body)
        .send()
        .await
        .map_err(|e| TransferError::S3 {
            operation: "PutObject",
            uri: uri.to_string(),
            message: DisplayErrorContext(e).to_string(),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_bucket_and_key() {
        let uri: S3Uri = "s3://bucket/models/".parse().unwrap();
        assert_eq!(
            (uri.bucket.as_str(), uri.key.as_str()),
            ("bucket", "models/")
        );
        assert_eq!(
            uri.join("job/output/model.tar.gz").to_string(),
            "s3://bucket/models/job/output/model.tar.gz"
        );
        let bare: S3Uri = "s3://bucket".parse().unwrap();
        assert_eq!(bare.join("job").to_string(), "s3://bucket/job");
        let no_slash: S3Uri = "s3://bucket/out".parse().unwrap();
        assert_eq!(no_slash.join("job").to_string(), "s3://bucket/out/job");
        for bad in ["https://bucket/key", "s3:///key", "bucket/key"] {
            assert!(bad.parse::<S3Uri>().is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_that_leave_the_channel_are_refused() {
        assert_eq!(safe_relative("a/b.csv"), Some(PathBuf::from("a/b.csv")));
        assert_eq!(safe_relative("../etc/passwd"), None);
        assert_eq!(safe_relative("/abs"), None);
        assert_eq!(safe_relative(""), None);
    }
}
