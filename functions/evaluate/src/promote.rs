//! Promotion: the candidate's `model.tar.gz` is copied from where its training job wrote it
//! (`models/`, which the training jobs' role may write) to `promoted/`, which only this function
//! may write (tests/template holds every role to its prefixes). The copy is what is registered
//! and deployed, with the SHA-256 that S3 computed of it recorded on the package: a training
//! script of a later commit that overwrites `models/...` changes nothing registered.

use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_smithy_types::base64;
use pipeline_core::{JobError, aws_error};

/// Where training jobs write their model artifacts in the artifact bucket.
pub const TRAINED: &str = "models/";
/// Where promoted models live; writable by the Evaluate function alone.
pub const PROMOTED: &str = "promoted/";

/// A promoted model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promoted {
    pub uri: String,
    /// Hex SHA-256 of the object, as S3 computed it while copying.
    pub sha256: String,
}

/// `promoted/<group>/<training job>/model.tar.gz`: one per candidate, the same for every
/// delivery of one evaluation.
pub fn destination(group: &str, training_job: &str) -> String {
    format!("{PROMOTED}{group}/{training_job}/model.tar.gz")
}

/// The key of `uri` when it names an object under `models/` of `bucket`.
pub fn trained_key<'a>(uri: &'a str, bucket: &str) -> Option<&'a str> {
    uri.strip_prefix("s3://")?
        .strip_prefix(bucket)?
        .strip_prefix('/')
        .filter(|key| key.starts_with(TRAINED) && key.len() > TRAINED.len())
}

/// Copies the candidate's model data (`source`, an s3:// URI) to its promoted place.
pub async fn promote(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    source: &str,
    group: &str,
    training_job: &str,
) -> Result<Promoted, JobError> {
    let key = trained_key(source, bucket).ok_or_else(|| {
        JobError::config(format!(
            "the candidate's model artifacts {source} are not under s3://{bucket}/{TRAINED}, where \
             the pipeline's training jobs write: set OutputDataConfig.S3OutputPath in \
             configuration/trainingjob.json to \"s3://${{ArtifactBucket}}/models/\" (the pipeline \
             promotes only model data it can vouch for)"
        ))
    })?;
    let destination = destination(group, training_job);
    let copied = s3
        .copy_object()
        .bucket(bucket)
        .key(&destination)
        .copy_source(format!(
            "{bucket}/{}",
            percent_encoding::utf8_percent_encode(key, COPY_SOURCE)
        ))
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|e| {
            aws_error(
                "CopyObject (promoting the model)",
                &e,
                "Check the Evaluate function's S3 permissions on the artifact bucket",
            )
        })?;
    let checksum = copied
        .copy_object_result()
        .and_then(|r| r.checksum_sha256())
        .ok_or_else(|| JobError::system("S3 copied the model but gave no SHA-256 of it"))?;
    let digest = base64::decode(checksum)
        .ok()
        .filter(|d| d.len() == 32)
        .ok_or_else(|| JobError::system(format!("S3 gave {checksum:?} as the model's SHA-256")))?;
    Ok(Promoted {
        uri: format!("s3://{bucket}/{destination}"),
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// What a CopySource key escapes: everything but unreserved characters and `/`.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_models_of_the_artifact_bucket_are_promoted() {
        let bucket = "stack-artifacts";
        assert_eq!(
            trained_key(
                "s3://stack-artifacts/models/job/output/model.tar.gz",
                bucket
            ),
            Some("models/job/output/model.tar.gz")
        );
        for other in [
            "s3://other-bucket/models/job/output/model.tar.gz",
            "s3://stack-artifacts-2/models/x/model.tar.gz",
            "s3://stack-artifacts/promoted/g/job/model.tar.gz",
            "s3://stack-artifacts/models/",
            "https://stack-artifacts.s3.amazonaws.com/models/x",
        ] {
            assert_eq!(trained_key(other, bucket), None, "{other}");
        }
    }

    #[test]
    fn destinations_are_per_candidate() {
        assert_eq!(
            destination("stack-org-repo", "stack-9f2c1e4-5d41402a-004-0f1e2d3c"),
            "promoted/stack-org-repo/stack-9f2c1e4-5d41402a-004-0f1e2d3c/model.tar.gz"
        );
    }
}
